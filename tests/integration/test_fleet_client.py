"""FleetClient against the Tesla simulator over loopback HTTP: auth retry, 429, 5xx, 408, timeouts, wake, proxy."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import requests

from shared.clock import ManualClock
from shared.tesla.errors import (
    SigningRequired,
    TeslaAuthError,
    TeslaCommandFailed,
    TeslaError,
    TeslaRateLimited,
    TeslaUnavailable,
    VehicleAsleep,
)
from shared.tesla.fleet_client import FleetClient
from shared.tesla.oauth import refresh_tokens
from simulator.tesla_sim import RunningSim, TeslaSim, serve_in_thread

VIN = "5YJ3E7EB2NF000001"
START = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
HOME = (52.2297, 21.0122)
STATE_PATH = f"/api/1/vehicles/{VIN}"
DATA_PATH = f"/api/1/vehicles/{VIN}/vehicle_data"


class SimTokens:
    """A TokenProvider that really refreshes at the simulator's token endpoint (rotating tokens)."""

    def __init__(self, running: RunningSim, refresh_token: str = "rt-initial") -> None:
        self.running = running
        self.refresh_token = refresh_token
        self.access_token: str | None = None
        self.forced = 0

    def get_access_token(self, force_refresh: bool = False, *, stale_token: str | None = None) -> str:
        if force_refresh:
            self.forced += 1
        if self.access_token is None or force_refresh:
            grant = refresh_tokens(self.running.auth_url, "app", self.refresh_token)
            self.refresh_token, self.access_token = grant.refresh_token, grant.access_token
        return self.access_token


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def running(clock: ManualClock) -> Iterator[RunningSim]:
    sim = TeslaSim(clock, refresh_token="rt-initial")
    # A pre-2021 Model S: this suite tests the REST command path; signing is tested in test_signed_commands.
    sim.add_vehicle(VIN, preset="legacy_model_s", asleep=False, latitude=HOME[0], longitude=HOME[1], charge_limit=80)
    with serve_in_thread(sim) as served:
        yield served


@pytest.fixture
def sim(running: RunningSim) -> TeslaSim:
    return running.sim


@pytest.fixture
def tokens(running: RunningSim) -> SimTokens:
    return SimTokens(running)


def make_client(running: RunningSim, tokens: SimTokens, clock: ManualClock, **options: Any) -> FleetClient:
    return FleetClient(running.url, tokens, clock=clock, **options)


@pytest.fixture
def client(running: RunningSim, tokens: SimTokens, clock: ManualClock) -> FleetClient:
    return make_client(running, tokens, clock)


def hits(sim: TeslaSim, path: str, method: str = "GET") -> list[int]:
    """Statuses of the requests that reached `path`, in order."""
    return [r.status for r in sim.requests() if r.path == path and r.method == method]


# ---- authentication ----------------------------------------------------------------------------------


def test_a_401_forces_one_token_refresh_and_one_retry(client: FleetClient, sim: TeslaSim, tokens: SimTokens) -> None:
    assert client.vehicle_state(VIN) == "online"
    sim.expire_access_tokens()
    assert client.vehicle_state(VIN) == "online"
    assert tokens.forced == 1
    assert hits(sim, STATE_PATH) == [200, 401, 200]
    assert sim.counters()["token_refreshes"] == 2


def test_a_401_after_the_forced_refresh_is_an_auth_error(client: FleetClient, sim: TeslaSim, tokens: SimTokens) -> None:
    sim.faults.add(STATE_PATH, status=401, count=3)
    with pytest.raises(TeslaAuthError):
        client.vehicle_state(VIN)
    assert tokens.forced == 1
    assert hits(sim, STATE_PATH) == [401, 401]


def test_only_one_forced_refresh_per_call_even_across_retries(
    client: FleetClient, sim: TeslaSim, tokens: SimTokens
) -> None:
    for status in (401, 503, 401):
        sim.faults.add(STATE_PATH, status=status)
    with pytest.raises(TeslaAuthError):
        client.vehicle_state(VIN)
    assert tokens.forced == 1
    assert hits(sim, STATE_PATH) == [401, 503, 401]


# ---- rate limits, 5xx, timeouts ------------------------------------------------------------------------


def test_a_429_waits_exactly_retry_after_on_the_injected_clock(
    client: FleetClient, sim: TeslaSim, clock: ManualClock
) -> None:
    sim.faults.add(DATA_PATH, status=429, retry_after=7)
    data = client.vehicle_data(VIN)
    assert data["charge_state"]["charge_limit_soc"] == 80
    assert clock.now() - START == timedelta(seconds=7)
    assert hits(sim, DATA_PATH) == [429, 200]


def test_a_retry_after_given_as_an_http_date_is_honoured(
    client: FleetClient, sim: TeslaSim, clock: ManualClock
) -> None:
    sim.faults.add(DATA_PATH, status=429, retry_after=format_datetime(START + timedelta(seconds=12), usegmt=True))
    client.vehicle_data(VIN)
    assert clock.now() - START == timedelta(seconds=12)


def test_a_retry_after_beyond_the_bound_is_raised_without_sleeping(
    running: RunningSim, tokens: SimTokens, sim: TeslaSim, clock: ManualClock
) -> None:
    client = make_client(running, tokens, clock, max_retry_after_s=60)
    sim.faults.add(DATA_PATH, status=429, retry_after=36000, count=None)
    with pytest.raises(TeslaRateLimited) as limited:
        client.vehicle_data(VIN)
    assert limited.value.retry_after == 36000
    assert clock.now() == START
    assert hits(sim, DATA_PATH) == [429]


def test_5xx_answers_are_retried_with_bounded_backoff_then_unavailable(
    running: RunningSim, tokens: SimTokens, sim: TeslaSim, clock: ManualClock
) -> None:
    client = make_client(running, tokens, clock, max_retries=2)
    sim.faults.add(DATA_PATH, status=503, count=None)
    with pytest.raises(TeslaUnavailable):
        client.vehicle_data(VIN)
    assert hits(sim, DATA_PATH) == [503, 503, 503]
    waited = (clock.now() - START).total_seconds()
    assert 3 <= waited <= 5  # 1 s then 2 s of exponential backoff, each with up to 1 s of jitter


def test_a_passing_5xx_is_absorbed_by_the_retries(client: FleetClient, sim: TeslaSim) -> None:
    sim.faults.add(STATE_PATH, status=502, count=2)
    assert client.vehicle_state(VIN) == "online"
    assert hits(sim, STATE_PATH) == [502, 502, 200]


def test_a_read_timeout_is_retried_then_reported_unavailable(
    running: RunningSim, tokens: SimTokens, sim: TeslaSim, clock: ManualClock
) -> None:
    client = make_client(running, tokens, clock, timeout=(2, 0.2), max_retries=1)
    fault = sim.faults.add(DATA_PATH, delay_s=1.0, count=None)
    with pytest.raises(TeslaUnavailable, match="in time"):
        client.vehicle_data(VIN)
    assert fault.hits == 2
    sim.faults.clear()


def test_an_unreachable_api_is_reported_unavailable(tokens: SimTokens, clock: ManualClock, running: RunningSim) -> None:
    tokens.get_access_token()
    client = FleetClient("http://127.0.0.1:9", tokens, clock=clock, max_retries=1)
    with pytest.raises(TeslaUnavailable, match="unreachable"):
        client.vehicle_state(VIN)


def test_a_408_is_vehicle_asleep_without_any_retry(client: FleetClient, sim: TeslaSim, clock: ManualClock) -> None:
    sim.force_sleep(VIN)
    with pytest.raises(VehicleAsleep):
        client.vehicle_data(VIN)
    with pytest.raises(VehicleAsleep):
        client.set_charge_limit(VIN, 70)
    assert hits(sim, DATA_PATH) == [408]
    assert sim.counters()["data"] == 1 and sim.counters()["commands"] == 1
    assert clock.now() == START


def test_other_4xx_answers_are_tesla_errors_without_retry(client: FleetClient, sim: TeslaSim) -> None:
    with pytest.raises(TeslaError) as missing:
        client.vehicle_state("5YJ3E7EB2NF999999")
    assert missing.value.tesla_status == 404
    assert hits(sim, "/api/1/vehicles/5YJ3E7EB2NF999999") == [404]


# ---- wake_up -------------------------------------------------------------------------------------------


def test_wake_up_sends_one_wake_and_polls_the_state_until_online(
    client: FleetClient, sim: TeslaSim, clock: ManualClock
) -> None:
    sim.force_sleep(VIN)
    assert client.wake_up(VIN) is True
    assert hits(sim, f"{STATE_PATH}/wake_up", "POST") == [200]
    assert len(hits(sim, STATE_PATH)) == 4  # 5, 10, 15, 20 s: online after the 20 s wake delay
    assert clock.now() - START == timedelta(seconds=20)
    assert sim.counters()["wakes"] == 1


def test_wake_up_of_an_online_car_returns_at_once(client: FleetClient, sim: TeslaSim, clock: ManualClock) -> None:
    assert client.wake_up(VIN) is True
    assert hits(sim, STATE_PATH) == [] and clock.now() == START


def test_wake_up_gives_up_at_its_bound_without_repeating_the_wake(
    client: FleetClient, sim: TeslaSim, clock: ManualClock
) -> None:
    sim.force_sleep(VIN)
    sim.set_stay_asleep(VIN)
    assert client.wake_up(VIN, timeout_s=30, poll_s=5) is False
    assert hits(sim, f"{STATE_PATH}/wake_up", "POST") == [200]
    assert len(hits(sim, STATE_PATH)) == 6
    assert clock.now() - START == timedelta(seconds=30)


# ---- commands and the proxy ------------------------------------------------------------------------------


def test_commands_go_to_the_proxy_and_data_calls_to_the_api_base(
    running: RunningSim, tokens: SimTokens, sim: TeslaSim, clock: ManualClock
) -> None:
    sim.set_requires_signed_commands(VIN)
    proxied = make_client(running, tokens, clock, proxy_url=running.proxy_url)
    assert proxied.set_charge_limit(VIN, 70) == {"result": True, "reason": ""}
    assert proxied.vehicle_data(VIN)["charge_state"]["charge_limit_soc"] == 70
    routes = [(r.path.rsplit("/", 1)[-1], r.via_proxy) for r in sim.requests() if r.path.startswith(("/api", "/proxy"))]
    assert routes == [("set_charge_limit", True), ("vehicle_data", False)]

    direct = make_client(running, tokens, clock)
    with pytest.raises(SigningRequired) as refused:
        direct.set_charge_limit(VIN, 75)
    assert refused.value.tesla_status == 403 and refused.value.code == "signing_required"


class RecordingSession(requests.Session):
    """A real session that remembers the verify= of every request."""

    def __init__(self) -> None:
        super().__init__()
        self.verify_seen: list[tuple[str, Any]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.verify_seen.append((str(url), kwargs.get("verify")))
        return super().request(method, url, *args, **kwargs)


def test_the_proxy_ca_bundle_verifies_proxy_calls_only(
    running: RunningSim, tokens: SimTokens, sim: TeslaSim, clock: ManualClock
) -> None:
    session = RecordingSession()
    client = make_client(
        running, tokens, clock, proxy_url=running.proxy_url, proxy_ca_cert="/etc/proxy-ca.pem", session=session
    )
    client.set_charge_limit(VIN, 70)
    client.vehicle_state(VIN)
    assert [("/proxy/" in url, verify) for url, verify in session.verify_seen] == [
        (True, "/etc/proxy-ca.pem"),
        (False, True),
    ]


def test_a_failed_command_raises_with_the_reason_and_already_set_is_success(client: FleetClient) -> None:
    with pytest.raises(TeslaCommandFailed) as failed:
        client.set_charge_limit(VIN, 30)
    assert failed.value.reason == "invalid_value" and failed.value.command == "set_charge_limit"
    assert client.set_charge_limit(VIN, 80) == {"result": False, "reason": "already_set"}


def test_the_proxys_reason_under_string_is_read(client: FleetClient, sim: TeslaSim) -> None:
    body = {"response": {"result": False, "string": "vehicle rejected request"}, "error": "", "error_description": ""}
    sim.faults.add("*/command/remove_charge_schedule", status=200, body=body)
    with pytest.raises(TeslaCommandFailed) as failed:
        client.remove_charge_schedule(VIN, 5)
    assert failed.value.reason == "vehicle rejected request"


def test_a_charge_schedule_round_trip(client: FleetClient) -> None:
    schedule = {
        "id": 424242,
        "days_of_week": "All",
        "enabled": True,
        "start_enabled": True,
        "start_time": 22 * 60,
        "end_enabled": True,
        "end_time": 6 * 60,
        "lat": HOME[0],
        "lon": HOME[1],
        "one_time": False,
    }
    client.add_charge_schedule(VIN, schedule)
    [stored] = client.vehicle_data(VIN)["charge_state"]["charge_schedules"]
    assert (stored["id"], stored["start_time"], stored["end_time"]) == (424242, 1320, 360)
    client.remove_charge_schedule(VIN, 424242)
    assert client.vehicle_data(VIN)["charge_state"]["charge_schedules"] == []


def test_vehicle_data_asks_for_location_with_a_literal_semicolon(client: FleetClient, sim: TeslaSim) -> None:
    data = client.vehicle_data(VIN)
    assert (data["drive_state"]["latitude"], data["drive_state"]["longitude"]) == HOME
    [record] = [r for r in sim.requests() if r.path == DATA_PATH]
    assert record.query == "endpoints=location_data;charge_state;charge_schedule_data"


def test_logs_carry_path_status_and_attempt_but_never_tokens_or_coordinates(
    client: FleetClient, sim: TeslaSim, tokens: SimTokens, caplog: pytest.LogCaptureFixture
) -> None:
    sim.faults.add(DATA_PATH, status=503)
    with caplog.at_level(logging.DEBUG):
        client.vehicle_data(VIN)
    records = [r for r in caplog.records if r.name == "tesla_offpeak.tesla"]
    fields = [getattr(r, "fields", {}) for r in records]
    assert [(f["status"], f["attempt"]) for f in fields if f.get("path", "").startswith(DATA_PATH)] == [
        (503, 1),
        (200, 2),
    ]
    everything = " ".join(r.getMessage() + repr(getattr(r, "fields", "")) for r in caplog.records)
    assert tokens.access_token and tokens.access_token not in everything
    assert tokens.refresh_token not in everything
    assert str(HOME[0]) not in everything and str(HOME[1]) not in everything
