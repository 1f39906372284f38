"""FakeVehicleApi and the real clients (against the simulator) answer the same VehicleApi calls the same way.

Service tests use the fake; this suite keeps it honest, against the worker's own VehicleApi on a
2024 car (signed commands, fleet_status) and against the plain FleetClient on a pre-2021 Model S
(unsigned REST commands).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.clock import ManualClock
from shared.ports import VehicleApi
from shared.tesla.errors import TeslaError, VehicleAsleep
from shared.tesla.fleet_client import FleetClient
from simulator.tesla_sim import TeslaSim, serve_in_thread
from tests.fakes.vehicle import FakeCar, FakeVehicleApi
from tests.integration.test_fleet_client import SimTokens
from tests.support.signed_vehicle import signed_vehicle

VIN = "5YJ3E7EB2NF000001"
HOME = (52.2297, 21.0122)
SCHEDULE = {
    "id": 31337,
    "days_of_week": "All",
    "enabled": True,
    "start_enabled": True,
    "start_time": 1380,
    "end_enabled": True,
    "end_time": 300,
    "lat": HOME[0],
    "lon": HOME[1],
    "one_time": False,
}


@dataclass
class Subject:
    """A VehicleApi plus the two levers the suite needs: put the car to sleep, make it ignore wakes."""

    api: VehicleApi
    sleep: Callable[[], None]
    refuse_wakes: Callable[[], None]


def _fake() -> Iterator[Subject]:
    car = FakeCar(VIN, state="online", battery_level=64, charge_limit=80, latitude=HOME[0], longitude=HOME[1])
    fake = FakeVehicleApi(car)

    def sleep() -> None:
        car.state = "asleep"

    def refuse() -> None:
        car.wakes = False

    yield Subject(fake, sleep, refuse)


def _fleet_client() -> Iterator[Subject]:
    clock = ManualClock(datetime(2026, 11, 23, 18, 0, tzinfo=UTC))
    sim = TeslaSim(clock, refresh_token="rt-initial")
    sim.add_vehicle(
        VIN,
        preset="legacy_model_s",
        asleep=False,
        battery_level=64,
        charge_limit=80,
        latitude=HOME[0],
        longitude=HOME[1],
    )
    with serve_in_thread(sim) as running:
        client = FleetClient(running.url, SimTokens(running), clock=clock)
        yield Subject(client, lambda: sim.force_sleep(VIN), lambda: sim.set_stay_asleep(VIN))


def _signed_worker_vehicle() -> Iterator[Subject]:
    clock = ManualClock(datetime(2026, 11, 23, 18, 0, tzinfo=UTC))
    sim = TeslaSim(clock, refresh_token="rt-initial")
    sim.add_vehicle(VIN, asleep=False, battery_level=64, charge_limit=80, latitude=HOME[0], longitude=HOME[1])
    with serve_in_thread(sim) as running, tempfile.TemporaryDirectory() as state_dir:
        api, _ = signed_vehicle(sim, running, SimTokens(running), clock, Path(state_dir))
        yield Subject(api, lambda: sim.force_sleep(VIN), lambda: sim.set_stay_asleep(VIN))
        unsigned = [r for r in sim.requests() if "/command/" in r.path]
        assert unsigned == [], "a car that needs signing got an unsigned command"


@pytest.fixture(
    params=[_fake, _fleet_client, _signed_worker_vehicle],
    ids=["fake", "fleet-client+legacy-car", "worker-vehicle+signed-car"],
)
def subject(request: pytest.FixtureRequest) -> Iterator[Subject]:
    factory: Callable[[], Iterator[Subject]] = request.param
    yield from factory()


def test_an_online_car_reports_charge_state_and_position(subject: Subject) -> None:
    assert subject.api.vehicle_state(VIN) == "online"
    data: dict[str, Any] = subject.api.vehicle_data(VIN)
    charge, drive = data["charge_state"], data["drive_state"]
    assert (charge["battery_level"], charge["charge_limit_soc"]) == (64, 80)
    assert charge["charging_state"] == "Disconnected" and charge["charge_schedules"] == []
    assert (drive["latitude"], drive["longitude"]) == HOME


def test_a_sleeping_car_raises_vehicle_asleep_until_woken(subject: Subject) -> None:
    subject.sleep()
    assert subject.api.vehicle_state(VIN) == "asleep"
    with pytest.raises(VehicleAsleep):
        subject.api.vehicle_data(VIN)
    with pytest.raises(VehicleAsleep):
        subject.api.set_charge_limit(VIN, 70)
    assert subject.api.wake_up(VIN) is True
    assert subject.api.vehicle_state(VIN) == "online"


def test_a_car_that_will_not_wake_returns_false(subject: Subject) -> None:
    subject.sleep()
    subject.refuse_wakes()
    assert subject.api.wake_up(VIN, timeout_s=15) is False
    assert subject.api.vehicle_state(VIN) == "asleep"


def test_commands_change_the_car_and_an_unchanged_limit_is_already_set(subject: Subject) -> None:
    assert subject.api.set_charge_limit(VIN, 80) == {"result": False, "reason": "already_set"}
    assert subject.api.set_charge_limit(VIN, 90)["result"] is True
    assert subject.api.add_charge_schedule(VIN, SCHEDULE)["result"] is True
    charge = subject.api.vehicle_data(VIN)["charge_state"]
    assert charge["charge_limit_soc"] == 90
    assert [s["id"] for s in charge["charge_schedules"]] == [31337]
    assert subject.api.remove_charge_schedule(VIN, 31337)["result"] is True
    assert subject.api.vehicle_data(VIN)["charge_state"]["charge_schedules"] == []


def test_an_unknown_vehicle_is_a_tesla_404(subject: Subject) -> None:
    with pytest.raises(TeslaError) as missing:
        subject.api.vehicle_state("5YJ3E7EB2NF999999")
    assert missing.value.tesla_status == 404
