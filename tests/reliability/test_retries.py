"""Bounded retries with backoff and jitter only where repeating is safe.

Fleet API data calls and commands are safe to repeat (a command sets a state: the same limit, a
schedule with the same id), so 5xx, lost answers and timeouts are retried a bounded number of
times with exponential backoff and jitter. A token refresh is never repeated once the request may
have reached Tesla: the refresh token is single-use.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import ManualClock
from shared.errors import UpstreamError
from shared.tesla.errors import TeslaUnavailable
from shared.tesla.fleet_client import FleetClient
from shared.tesla.oauth import refresh_tokens
from simulator.tesla_sim import RunningSim, TeslaSim, serve_in_thread
from tests.fakes.stores import InMemoryDocumentStore, InMemorySecretStore
from tests.fakes.token_endpoint import FakeGrant, FakeTokenEndpoint
from worker_service.services.token_service import TokenService

VIN = "5YJ3E7EB2NF000001"
START = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
LIMIT_PATH = f"/api/1/vehicles/{VIN}/command/set_charge_limit"
DATA_PATH = f"/api/1/vehicles/{VIN}/vehicle_data"
TOKEN_PATH = "/oauth2/v3/token"


class RecordingClock(ManualClock):
    """A manual clock that remembers every pause it was asked for."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        super().sleep(seconds)


class Tokens:
    """A token provider holding one access token from the simulator."""

    def __init__(self, running: RunningSim) -> None:
        self.token = refresh_tokens(running.auth_url, "app", "rt-0").access_token

    def get_access_token(self, force_refresh: bool = False, *, stale_token: str | None = None) -> str:
        return self.token


@pytest.fixture
def running() -> Iterator[RunningSim]:
    sim = TeslaSim(ManualClock(START), refresh_token="rt-0")
    sim.add_vehicle(VIN, preset="legacy_model_s", asleep=False, charge_limit=80)  # REST commands, unsigned
    with serve_in_thread(sim) as served:
        yield served


def client(running: RunningSim, clock: ManualClock, tokens: Tokens | None = None, **options: object) -> FleetClient:
    return FleetClient(running.url, tokens or Tokens(running), clock=clock, **options)  # type: ignore[arg-type]


def statuses(sim: TeslaSim, path: str) -> list[int]:
    return [r.status for r in sim.requests() if r.path == path]


def test_commands_are_retried_on_5xx_with_exponential_backoff_and_jitter(running: RunningSim) -> None:
    clock = RecordingClock(START)
    running.sim.faults.add(LIMIT_PATH, status=503, count=3)
    client(running, clock, max_retries=3).set_charge_limit(VIN, 90)
    assert statuses(running.sim, LIMIT_PATH) == [503, 503, 503, 200]
    assert running.sim.snapshot(VIN)["charge_limit"] == 90
    assert len(clock.sleeps) == 3
    for attempt, waited in enumerate(clock.sleeps):
        assert 2**attempt <= waited <= 2**attempt + 1  # 1 s, 2 s, 4 s, each plus up to 1 s of jitter


def test_the_backoff_is_jittered_so_two_workers_do_not_retry_in_step(running: RunningSim) -> None:
    first_waits, tokens = [], Tokens(running)
    for _ in range(6):
        clock = RecordingClock(START)
        running.sim.faults.add(LIMIT_PATH, status=502, count=1)
        client(running, clock, tokens).set_charge_limit(VIN, 70)
        first_waits.append(clock.sleeps[0])
    assert all(1 <= w <= 2 for w in first_waits)
    assert len(set(first_waits)) > 1


def test_a_command_whose_answer_was_lost_is_repeated_safely_and_lands_once(running: RunningSim) -> None:
    running.sim.faults.add(LIMIT_PATH, status=504, lose_answer=True)
    answer = client(running, ManualClock(START)).set_charge_limit(VIN, 90)
    assert statuses(running.sim, LIMIT_PATH) == [504, 200]
    assert answer["reason"] == "already_set"  # the first attempt had reached the car
    assert running.sim.snapshot(VIN)["charge_limit"] == 90


def test_a_data_call_whose_answer_was_lost_is_repeated(running: RunningSim) -> None:
    running.sim.faults.add(DATA_PATH, status=502, lose_answer=True)
    data = client(running, ManualClock(START)).vehicle_data(VIN)
    assert data["charge_state"]["charge_limit_soc"] == 80
    assert statuses(running.sim, DATA_PATH) == [502, 200]


def test_retries_are_bounded_in_number_and_in_time(running: RunningSim) -> None:
    clock = ManualClock(START)
    running.sim.faults.add(LIMIT_PATH, status=503, count=None)
    with pytest.raises(TeslaUnavailable):
        client(running, clock).set_charge_limit(VIN, 90)
    assert len(statuses(running.sim, LIMIT_PATH)) == 4  # the call and three retries, then give up
    assert clock.now() - START <= timedelta(seconds=1 + 2 + 4 + 3)


def test_a_token_refresh_whose_answer_was_lost_is_never_repeated(running: RunningSim) -> None:
    clock = ManualClock(START)
    running.sim.faults.add(TOKEN_PATH, status=504, lose_answer=True)
    with pytest.raises(TeslaUnavailable):
        refresh_tokens(running.auth_url, "app", "rt-0", clock=clock, connect_attempts=3)
    assert statuses(running.sim, TOKEN_PATH) == [504]
    assert running.sim.counters()["token_refreshes"] == 1 and clock.now() == START


class FlakyEndpoint(FakeTokenEndpoint):
    """Tesla's token endpoint failing the first `failures` calls after they may have reached it."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def __call__(self, refresh_token: str) -> FakeGrant:
        if self.failures:
            self.failures -= 1
            self.calls += 1
            raise TeslaUnavailable("token refresh got no answer (ReadTimeout); the refresh token may be spent")
        return super().__call__(refresh_token)


def test_the_worker_does_not_repeat_a_failed_refresh_within_the_minute() -> None:
    clock, endpoint = ManualClock(START), FlakyEndpoint(failures=1)
    tokens = TokenService(
        secrets=InMemorySecretStore(),
        store=InMemoryDocumentStore(),
        clock=clock,
        refresher=endpoint,
        secret_name="fleet-tokens",
        bootstrap_refresh_token="EU_refresh_0",
    )
    with pytest.raises(TeslaUnavailable):
        tokens.get_access_token()
    for _ in range(5):  # callers keep asking: none of them reaches Tesla inside the minute
        clock.advance(timedelta(seconds=10))
        with pytest.raises(UpstreamError) as again:
            tokens.get_access_token()
        assert again.value.status == 503
    assert endpoint.calls == 1
    clock.advance(timedelta(seconds=15))
    assert tokens.get_access_token() and endpoint.calls == 2
