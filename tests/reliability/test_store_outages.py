"""Firestore, Secret Manager and Cloud Scheduler failing: 503 with the contract's error JSON, never a 500,
and nothing half-written that stops the next delivery from finishing the job.

The half-written checks fail each store or scheduler call of a flow in turn (the 1st, the 2nd, ...),
then deliver again as Cloud Scheduler would, and look at what the car and the records ended with.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shared.errors import StoreUnavailable
from tests.fakes.scheduler import METHODS as SCHEDULER_METHODS
from tests.fakes.stores import InMemoryDocumentStore, InMemorySecretStore
from tests.reliability.special_world import (
    NEED,
    SESSION_ID,
    call,
    car,
    cleanup,
    planned_world,
    send,
    session,
)
from tests.support.worker_app import FakeWorld, fake_world, routes
from worker_service.services import home_schedule

DOWN = StoreUnavailable("Firestore unavailable (DeadlineExceeded)")
MAX_DELIVERIES = 4  # the first delivery and Cloud Scheduler's three retries


def contract_error(status: int, body: Any) -> bool:
    return (
        isinstance(body, dict)
        and body.get("status") == "error"
        and isinstance(body.get("error"), str)
        and isinstance(body.get("message"), str)
        and bool(body["message"])
    )


@pytest.mark.parametrize("down", ["documents", "secrets", "scheduler"])
def test_every_endpoint_answers_503_or_4xx_never_500_while_a_backend_is_down(tmp_path: Path, down: str) -> None:
    world = planned_world(tmp_path)
    fakes: dict[str, tuple[Any, tuple[str, ...]]] = {
        "documents": (world.store, InMemoryDocumentStore.METHODS),
        "secrets": (world.secrets, InMemorySecretStore.METHODS),
        "scheduler": (world.scheduler, SCHEDULER_METHODS),
    }
    fake, methods = fakes[down]
    for method in methods:
        fake.fail_next(method, DOWN, times=1000)
    client = world.app.test_client()
    published = documented_statuses(world)
    answered: dict[str, int] = {}
    for method, path, body in routes(world.app):
        if path == "/health":
            continue
        answer = client.open(path, method=method, json=body, headers=world.headers())
        answered[f"{method} {path}"] = answer.status_code
        assert answer.status_code != 500, (method, path, answer.get_json())
        if answer.status_code >= 400:
            assert contract_error(answer.status_code, answer.get_json()), (method, path)
        if answer.status_code >= 500:
            assert answer.status_code == 503, (method, path, answer.get_json())
        assert str(answer.status_code) in published[(method, path)], ("undocumented in /openapi.json", method, path)
    assert 503 in answered.values()


def documented_statuses(world: FakeWorld) -> dict[tuple[str, str], set[str]]:
    """(method, concrete path as routes() builds it) -> the statuses /openapi.json promises."""
    spec = world.app.test_client().get("/openapi.json", headers=world.headers()).get_json()
    concrete = {"{need_id}": "need_1", "{session_id}": "special_1_20261124_0700"}
    found = {}
    for path, item in spec["paths"].items():
        for placeholder, value in concrete.items():
            path = path.replace(placeholder, value)
        for method, operation in item.items():
            found[(method.upper(), path)] = set(operation["responses"])
    return found


class Flaky:
    """A fake port whose n-th call (counted over every fake sharing `calls`) raises StoreUnavailable."""

    def __init__(self, inner: Any, methods: tuple[str, ...], calls: list[int], fail_at: int | None) -> None:
        self._inner, self._methods, self._calls, self._fail_at = inner, methods, calls, fail_at

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in self._methods:
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._calls[0] += 1
            if self._calls[0] == self._fail_at:
                raise StoreUnavailable(f"{name} failed (injected at call {self._fail_at})")
            return attribute(*args, **kwargs)

        return counted


def make_flaky(world: FakeWorld, fail_at: int | None) -> list[int]:
    """Route the services' document store and scheduler through one Flaky counter; returns it."""
    calls = [0]
    world.services.store = Flaky(world.store, InMemoryDocumentStore.METHODS, calls, fail_at)  # type: ignore[assignment]
    world.services.scheduler = Flaky(world.scheduler, SCHEDULER_METHODS, calls, fail_at)  # type: ignore[assignment]
    return calls


def calls_of(flow: Callable[[FakeWorld], Any], prepare: Callable[[Path], FakeWorld], tmp_path: Path) -> int:
    """How many store and scheduler calls the flow makes when nothing fails."""
    world = prepare(tmp_path / "count")
    calls = make_flaky(world, None)
    flow(world)
    return calls[0]


def deliver_until_done(world: FakeWorld, deliver: Callable[[FakeWorld], tuple[int, Any]]) -> list[int]:
    """Deliver as Cloud Scheduler would: again after every non-2xx, at most four times."""
    statuses = []
    for _ in range(MAX_DELIVERIES):
        status, body = deliver(world)
        statuses.append(status)
        assert status != 500 and (status < 400 or contract_error(status, body)), body
        if status < 300:
            break
    return statuses


def test_a_store_failure_at_any_step_of_the_send_is_finished_by_the_retry(tmp_path: Path) -> None:
    total = calls_of(send, planned_world, tmp_path)
    assert total >= 8
    for fail_at in range(1, total + 1):
        world = planned_world(tmp_path / f"send-{fail_at}")
        make_flaky(world, fail_at)
        statuses = deliver_until_done(world, send)
        assert statuses[-1] == 200, (fail_at, statuses)
        done = session(world)
        assert done["status"] == "ACTIVE", fail_at
        assert done["original_charge_limit"] == 80, fail_at  # never the limit we set ourselves
        assert car(world).charge_limit == 90 and set(car(world).schedules) == {home_schedule.base_id(car(world).vin)}


def test_a_store_failure_at_any_step_of_the_cleanup_is_finished_by_the_retry(tmp_path: Path) -> None:
    def active_world(path: Path) -> FakeWorld:
        world = planned_world(path)
        assert send(world)[0] == 200
        return world

    total = calls_of(cleanup, active_world, tmp_path)
    for fail_at in range(1, total + 1):
        world = active_world(tmp_path / f"cleanup-{fail_at}")
        make_flaky(world, fail_at)
        statuses = deliver_until_done(world, cleanup)
        assert statuses[-1] == 200, (fail_at, statuses)
        done = session(world)
        assert done["status"] == "COMPLETED" and done["limit_restored"], fail_at
        assert car(world).charge_limit == 80 and car(world).schedules == {}
        # A job whose delete failed is left to the daily sweep: it removes jobs of finished sessions.
        call(world, "POST", "/daily-special-charging-check")
        assert world.scheduler.jobs == {}, fail_at


def test_a_store_or_scheduler_failure_in_the_daily_check_is_finished_by_the_retry(tmp_path: Path) -> None:
    def with_need(path: Path) -> FakeWorld:
        world = fake_world(path)
        assert call(world, "POST", "/special-charging-needs", NEED)[0] == 201
        return world

    def daily_check(world: FakeWorld) -> tuple[int, Any]:
        return call(world, "POST", "/daily-special-charging-check")

    total = calls_of(daily_check, with_need, tmp_path)
    for fail_at in range(1, total + 1):
        world = with_need(tmp_path / f"daily-{fail_at}")
        make_flaky(world, fail_at)
        statuses = deliver_until_done(world, daily_check)
        assert statuses[-1] == 200, (fail_at, statuses)
        assert [s["session_id"] for s in world.store.list("special_charging_sessions")] == [SESSION_ID]
        assert session(world)["status"] == "SCHEDULED"
        assert len(world.scheduler.jobs) == 2, (fail_at, sorted(world.scheduler.jobs))
        assert world.store.get("special_charging_needs", "need_1")["status"] == "PLANNED"  # type: ignore[index]


def test_a_failed_need_registration_stores_nothing_and_the_retry_registers_it_once(tmp_path: Path) -> None:
    for method in ("update", "set"):
        world = fake_world(tmp_path / method)
        world.store.fail_next(method, DOWN)
        status, body = call(world, "POST", "/special-charging-needs", NEED)
        assert status == 503 and contract_error(status, body)
        assert world.store.list("special_charging_needs") == []
        assert call(world, "POST", "/special-charging-needs", NEED)[0] == 201
        assert len(world.store.list("special_charging_needs")) == 1


def test_secret_manager_errors_on_get_token_are_503_and_old_version_cleanup_errors_are_not_fatal(
    tmp_path: Path,
) -> None:
    world = fake_world(tmp_path)
    world.secrets.fail_next("access_latest", DOWN)
    status, body = call(world, "GET", "/get-token")
    assert status == 503 and body["error"] == "store_unavailable"
    world.secrets.fail_next("list_enabled_versions", DOWN)
    status, body = call(world, "GET", "/get-token")
    assert status == 200 and body["access_token"]  # stored first; pruning old versions waits for next time
