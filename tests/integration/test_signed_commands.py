"""The worker's commands against cars like today's (the simulator's car side checks every signature).

What issue 12 asks to prove: a 2024 car gets only signed commands; a cold instance reuses the
stored session; a pre-2021 car gets plain REST; an unpaired key, old firmware, a missing key and
a missing scope each end with their own error after at most one billed call — never a retry loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.clock import ManualClock
from shared.tesla.errors import (
    FirmwareTooOld,
    KeyNotPaired,
    MissingScope,
    SigningRequired,
    VehicleAsleep,
    WrongRegion,
)
from shared.tesla.fleet_client import FleetClient
from shared.tesla.scopes import ScopeMemory
from simulator.tesla_sim import RunningSim, SimConfig, TeslaSim, serve_in_thread
from tests.fakes.stores import InMemoryDocumentStore
from tests.integration.test_fleet_client import SimTokens
from tests.support.signed_vehicle import VIN, signed_vehicle

START = datetime(2026, 12, 3, 21, 0, tzinfo=UTC)
HOME = (52.2297, 21.0122)
SCHEDULE = {
    "id": 4242,
    "days_of_week": "All",
    "enabled": True,
    "start_enabled": True,
    "start_time": 120,
    "end_enabled": True,
    "end_time": 300,
    "lat": HOME[0],
    "lon": HOME[1],
    "one_time": False,
}
NO_LOCATION = ("openid", "offline_access", "vehicle_device_data", "vehicle_cmds", "vehicle_charging_cmds")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def _serve(clock: ManualClock, preset: str = "modern", config: SimConfig | None = None) -> Iterator[RunningSim]:
    sim = TeslaSim(clock, refresh_token="rt-initial", config=config)
    sim.add_vehicle(VIN, preset=preset, asleep=False, charge_limit=80, latitude=HOME[0], longitude=HOME[1])
    with serve_in_thread(sim) as running:
        yield running


@pytest.fixture
def running(clock: ManualClock) -> Iterator[RunningSim]:
    yield from _serve(clock)


def calls(sim: TeslaSim, suffix: str) -> int:
    return sum(1 for r in sim.requests() if r.path.endswith(suffix))


def unsigned_commands(sim: TeslaSim) -> int:
    return sum(1 for r in sim.requests() if "/command/" in r.path)


def test_a_2024_car_gets_signed_commands_only_and_a_cold_instance_pays_no_second_handshake(
    running: RunningSim, clock: ManualClock, tmp_path: Path
) -> None:
    sim, tokens = running.sim, SimTokens(running)
    api, store = signed_vehicle(sim, running, tokens, clock, tmp_path)
    assert api.set_charge_limit(VIN, 90)["result"] is True
    assert api.set_charge_limit(VIN, 90) == {"result": False, "reason": "already_set"}  # done, not an error
    assert api.add_charge_schedule(VIN, SCHEDULE)["result"] is True
    assert sim.snapshot(VIN)["charge_limit"] == 90 and [s["id"] for s in sim.snapshot(VIN)["schedules"]] == [4242]
    assert sim.counters()["handshakes"] == 1
    # Another instance (same store, nothing in memory) signs with the stored session: no handshake.
    cold, _ = signed_vehicle(sim, running, tokens, clock, tmp_path, store=store)
    assert cold.remove_charge_schedule(VIN, 4242)["result"] is True
    assert sim.counters()["handshakes"] == 1
    assert unsigned_commands(sim) == 0 and calls(sim, "/fleet_status") == 1
    assert sim.protocol_faults(VIN) == {}


def test_a_rebooted_car_is_resynced_once_and_the_command_still_lands(
    running: RunningSim, clock: ManualClock, tmp_path: Path
) -> None:
    sim = running.sim
    api, _ = signed_vehicle(sim, running, SimTokens(running), clock, tmp_path)
    api.set_charge_limit(VIN, 85)
    sim.restart_car(VIN)  # new epoch: the stored session is stale
    assert api.set_charge_limit(VIN, 75)["result"] is True
    assert sim.snapshot(VIN)["charge_limit"] == 75
    assert sum(sim.protocol_faults(VIN).values()) == 1  # one refusal carrying fresh session info, then success


def test_a_pre_2021_model_s_gets_plain_rest_commands_in_auto_mode(clock: ManualClock, tmp_path: Path) -> None:
    for running in _serve(clock, preset="legacy_model_s"):
        api, _ = signed_vehicle(running.sim, running, SimTokens(running), clock, tmp_path)
        assert api.set_charge_limit(VIN, 70)["result"] is True
        assert unsigned_commands(running.sim) == 1 and calls(running.sim, "/signed_command") == 0


def test_a_car_that_needs_signing_and_no_key_fails_before_any_command_is_billed(
    running: RunningSim, clock: ManualClock, tmp_path: Path
) -> None:
    sim = running.sim
    api, _ = signed_vehicle(sim, running, SimTokens(running), clock, tmp_path, with_key=False)
    for _ in range(3):
        with pytest.raises(SigningRequired) as refused:
            api.set_charge_limit(VIN, 90)
    assert refused.value.code == "signing_required" and "TESLA_COMMAND_KEY_FILE" in refused.value.remedy
    assert unsigned_commands(sim) == 0 and calls(sim, "/signed_command") == 0
    assert sim.counters()["commands"] == 0


def test_signing_never_on_a_2024_car_costs_one_403_per_command_and_no_retry(
    running: RunningSim, clock: ManualClock, tmp_path: Path
) -> None:
    sim = running.sim
    api, _ = signed_vehicle(sim, running, SimTokens(running), clock, tmp_path, TESLA_COMMAND_SIGNING="never")
    with pytest.raises(SigningRequired):
        api.set_charge_limit(VIN, 90)
    assert unsigned_commands(sim) == 1 and sim.counters()["commands"] == 1  # the 403 is billed, once


def test_an_unpaired_key_is_key_not_paired_with_the_pairing_link_and_nothing_is_sent(
    clock: ManualClock, tmp_path: Path
) -> None:
    for running in _serve(clock, preset="unpaired"):
        sim = running.sim
        api, _ = signed_vehicle(sim, running, SimTokens(running), clock, tmp_path)
        for _ in range(3):
            with pytest.raises(KeyNotPaired) as refused:
                api.set_charge_limit(VIN, 90)
        assert "https://tesla.com/_ak/offpeak.example" in refused.value.remedy
        assert calls(sim, "/signed_command") == 0 and unsigned_commands(sim) == 0
        assert calls(sim, "/fleet_status") == 1  # asked once, then cached


def test_a_key_the_car_forgot_is_learnt_from_the_car_and_not_asked_again(
    running: RunningSim, clock: ManualClock, tmp_path: Path
) -> None:
    sim = running.sim
    api, _ = signed_vehicle(sim, running, SimTokens(running), clock, tmp_path)
    api.fleet.fleet_status([VIN])  # fleet_status says paired (and is cached as such)
    api.profile(VIN)
    sim.unpair_key(VIN)
    with pytest.raises(KeyNotPaired):
        api.set_charge_limit(VIN, 90)
    sent = calls(sim, "/signed_command")
    with pytest.raises(KeyNotPaired):
        api.set_charge_limit(VIN, 90)
    assert calls(sim, "/signed_command") == sent == 1  # one refused handshake, then the cache knows


def test_old_firmware_refuses_schedules_before_sending_but_still_takes_the_limit(
    clock: ManualClock, tmp_path: Path
) -> None:
    for running in _serve(clock, preset="old_firmware"):
        sim = running.sim
        api, _ = signed_vehicle(sim, running, SimTokens(running), clock, tmp_path)
        with pytest.raises(FirmwareTooOld) as refused:
            api.add_charge_schedule(VIN, SCHEDULE)
        assert "2024.20.9" in refused.value.message and refused.value.code == "firmware_too_old"
        assert calls(sim, "/signed_command") == 0
        assert api.set_charge_limit(VIN, 70)["result"] is True


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_token_without_vehicle_location_costs_at_most_one_403_and_still_reads_the_charge(
    clock: ManualClock, tmp_path: Path, token_format: str
) -> None:
    config = SimConfig(scopes=NO_LOCATION, access_token_format=token_format)
    for running in _serve(clock, config=config):
        sim = running.sim
        client = FleetClient(
            running.url, SimTokens(running), clock=clock, scopes=ScopeMemory(InMemoryDocumentStore(), clock)
        )
        for _ in range(5):
            data = client.vehicle_data(VIN)
            assert data["charge_state"]["charge_limit_soc"] == 80 and "drive_state" not in data
        forbidden = sum(1 for r in sim.requests() if r.status == 403)
        assert forbidden == (0 if token_format == "jwt" else 1)  # the JWT's scp says so up front
        assert client.location_allowed() is False


def test_a_missing_scope_without_memory_is_raised_not_retried(clock: ManualClock) -> None:
    for running in _serve(clock, config=SimConfig(scopes=NO_LOCATION, access_token_format="opaque")):
        client = FleetClient(running.url, SimTokens(running), clock=clock)
        with pytest.raises(MissingScope) as missing:
            client.vehicle_data(VIN)
        assert missing.value.scope == "vehicle_location" and "vehicle_location" in missing.value.remedy
        assert calls(running.sim, "/vehicle_data") == 1


def test_the_wrong_region_is_an_error_naming_the_right_base_url(clock: ManualClock) -> None:
    for running in _serve(clock, config=SimConfig(account_region="na", served_region="eu")):
        client = FleetClient(running.url, SimTokens(running), clock=clock)
        with pytest.raises(WrongRegion) as wrong:
            client.vehicle_data(VIN)
        assert wrong.value.base_url and "TESLA_API_BASE_URL=" + wrong.value.base_url in wrong.value.message
        assert calls(running.sim, "/vehicle_data") == 1
        region = client.user_region()
        assert region["fleet_api_base_url"].rstrip("/") == wrong.value.base_url


def test_the_proxy_already_set_counts_as_done_and_its_500_for_a_sleeping_car_is_asleep(
    running: RunningSim, clock: ManualClock
) -> None:
    sim = running.sim
    proxied = FleetClient(running.url, SimTokens(running), clock=clock, proxy_url=running.proxy_url)
    assert proxied.set_charge_limit(VIN, 80)["result"] is False  # "car could not execute command: already_set"
    sim.force_sleep(VIN)
    with pytest.raises(VehicleAsleep):
        proxied.set_charge_limit(VIN, 90)
    assert sum(1 for r in sim.requests() if r.via_proxy and r.status == 500) == 1  # not retried as a 5xx


def test_a_refused_unsigned_command_on_a_car_fleet_status_misjudged_is_signed_at_once(
    running: RunningSim, clock: ManualClock, tmp_path: Path
) -> None:
    sim = running.sim
    api, _ = signed_vehicle(sim, running, SimTokens(running), clock, tmp_path)
    api.profiles.correct(VIN, protocol_required=False, key_paired=True, firmware_version="2024.44.25")
    assert api.set_charge_limit(VIN, 88)["result"] is True
    assert unsigned_commands(sim) == 1 and sim.snapshot(VIN)["charge_limit"] == 88
    assert api.set_charge_limit(VIN, 77)["result"] is True
    assert unsigned_commands(sim) == 1  # the correction is kept: no second unsigned attempt


def test_the_hardlocked_answer_is_signing_required_too(clock: ManualClock, tmp_path: Path) -> None:
    for running in _serve(clock, preset="unsigned_hardlocked"):
        client = FleetClient(running.url, SimTokens(running), clock=clock)
        for _ in range(2):
            with pytest.raises(SigningRequired):
                client.set_charge_limit(VIN, 90)
        assert unsigned_commands(running.sim) == 2  # one call each: never retried inside a call
