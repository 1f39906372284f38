"""A worker on fakes with one planned special-charging session, and short ways to deliver its two jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.worker_app import FakeWorld, fake_world

SESSION_ID = "special_1_20261124_0700"
SEND_JOB = "special-send-special-1-20261124-0700"
CLEANUP_JOB = "special-cleanup-special-1-20261124-0700"
NEED = {"target_soc": 90, "departure": "2026-11-24T07:00:00+01:00"}


def planned_world(tmp_path: Path) -> FakeWorld:
    """22:00 in Warsaw, the car online at 40 % with an 80 % limit, one SCHEDULED session and its two jobs."""
    world = fake_world(tmp_path)
    client = world.app.test_client()
    assert client.post("/special-charging-needs", json=NEED, headers=world.headers()).status_code == 201
    answer = client.post("/daily-special-charging-check", headers=world.headers())
    assert answer.status_code == 200 and answer.get_json()["sessions"][0]["status"] == "SCHEDULED"
    assert sorted(world.scheduler.jobs) == [CLEANUP_JOB, SEND_JOB]
    return world


def call(world: FakeWorld, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    answer = world.app.test_client().open(path, method=method, json=body, headers=world.headers())
    return answer.status_code, answer.get_json()


def send(world: FakeWorld) -> tuple[int, dict[str, Any]]:
    """One Cloud Scheduler delivery of the send job."""
    return call(world, "POST", "/send-special-schedule", {"session_id": SESSION_ID})


def cleanup(world: FakeWorld) -> tuple[int, dict[str, Any]]:
    """One Cloud Scheduler delivery of the cleanup job."""
    return call(world, "POST", "/cleanup-single-session", {"session_id": SESSION_ID})


def session(world: FakeWorld) -> dict[str, Any]:
    stored = world.store.get("special_charging_sessions", SESSION_ID)
    assert stored is not None
    return stored


def car(world: FakeWorld) -> Any:
    return next(iter(world.car.cars.values()))
