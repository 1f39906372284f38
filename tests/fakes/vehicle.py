"""The one in-memory VehicleApi every service test shares (no HTTP); the conformance test keeps it honest.

It answers like FleetClient talking to Tesla: VehicleAsleep while the car is not online, a command
that changes nothing answers `result: false, reason: already_set` without raising, wake_up only
wakes a car that is willing. Calls are recorded; failures can be injected per method.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.tesla.errors import TeslaError, VehicleAsleep

METHODS = (
    "vehicle_state",
    "vehicle_data",
    "wake_up",
    "set_charge_limit",
    "add_charge_schedule",
    "remove_charge_schedule",
    "check_commands",
)


@dataclass
class FakeCar:
    """One car's state as the fake keeps it; tests change the fields directly."""

    vin: str
    state: str = "asleep"
    battery_level: int = 50
    charge_limit: int = 80
    latitude: float = 52.2297
    longitude: float = 21.0122
    charging_state: str = "Disconnected"
    wakes: bool = True  # False: wake_up never brings it online
    schedules: dict[int, dict[str, Any]] = field(default_factory=dict)
    location_scope: bool = True  # False: the token lacks vehicle_location, vehicle_data has no drive_state


@dataclass(frozen=True)
class FakeCall:
    method: str
    vin: str
    args: tuple[Any, ...] = ()


class FakeVehicleApi:
    """VehicleApi in memory, with call recording (`calls`, `count`) and injected failures (`fail_next`)."""

    def __init__(self, *cars: FakeCar) -> None:
        self.cars: dict[str, FakeCar] = {car.vin: car for car in cars}
        self.calls: list[FakeCall] = []
        self.counts: Counter[str] = Counter()
        self._failures: dict[str, list[Exception]] = {}
        self._lock = threading.Lock()

    def add(self, car: FakeCar) -> FakeCar:
        self.cars[car.vin] = car
        return car

    def fail_next(self, method: str, exc: Exception, times: int = 1) -> None:
        """Make the next `times` calls of method raise exc (after being recorded)."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}")
        with self._lock:
            self._failures.setdefault(method, []).extend([exc] * times)

    def count(self, method: str) -> int:
        return self.counts[method]

    def calls_of(self, method: str) -> list[FakeCall]:
        return [c for c in self.calls if c.method == method]

    # ---- VehicleApi ----------------------------------------------------------------------

    def vehicle_state(self, vin: str) -> str:
        """`online`, `asleep` or `offline`; never wakes the car."""
        return self._enter("vehicle_state", vin).state

    def vehicle_data(self, vin: str) -> dict[str, Any]:
        """Tesla's vehicle_data `response` (charge_state and drive_state); VehicleAsleep unless online."""
        car = self._online(self._enter("vehicle_data", vin))
        data: dict[str, Any] = {
            "vin": car.vin,
            "state": car.state,
            "charge_state": {
                "battery_level": car.battery_level,
                "charge_limit_soc": car.charge_limit,
                "charging_state": car.charging_state,
                "charger_power": 11 if car.charging_state == "Charging" else 0,
                "charge_schedules": [copy.deepcopy(s) for _, s in sorted(car.schedules.items())],
            },
        }
        if car.location_scope:
            data["drive_state"] = {"latitude": car.latitude, "longitude": car.longitude, "shift_state": None}
        return data

    def location_readable(self) -> bool:
        """False when any car was set up without the location scope (one token serves every car)."""
        return all(car.location_scope for car in self.cars.values())

    def check_commands(self, vin: str, commands: tuple[str, ...]) -> None:
        """Raises only what a test queued with fail_next("check_commands", ...)."""
        self._enter("check_commands", vin, commands)

    def wake_up(self, vin: str, timeout_s: float = 60.0) -> bool:
        """True when the car came online (at once: the fake has no wake delay)."""
        car = self._enter("wake_up", vin, timeout_s)
        if car.state == "online":
            return True
        if car.wakes and car.state != "offline":
            car.state = "online"
            return True
        return False

    def set_charge_limit(self, vin: str, percent: int) -> dict[str, Any]:
        car = self._online(self._enter("set_charge_limit", vin, percent))
        if car.charge_limit == int(percent):
            return {"result": False, "reason": "already_set"}
        car.charge_limit = int(percent)
        return {"result": True, "reason": ""}

    def add_charge_schedule(self, vin: str, schedule: Mapping[str, Any]) -> dict[str, Any]:
        car = self._online(self._enter("add_charge_schedule", vin, dict(schedule)))
        car.schedules[int(schedule["id"])] = dict(schedule)
        return {"result": True, "reason": ""}

    def remove_charge_schedule(self, vin: str, schedule_id: int) -> dict[str, Any]:
        car = self._online(self._enter("remove_charge_schedule", vin, schedule_id))
        car.schedules.pop(int(schedule_id), None)
        return {"result": True, "reason": ""}

    def _enter(self, method: str, vin: str, *args: Any) -> FakeCar:
        with self._lock:
            self.calls.append(FakeCall(method, vin, args))
            self.counts[method] += 1
            queued = self._failures.get(method)
            failure = queued.pop(0) if queued else None
        if failure is not None:
            raise failure
        car = self.cars.get(vin)
        if car is None:
            raise TeslaError(f"Tesla answered 404 for vehicle {vin}", tesla_status=404)
        return car

    @staticmethod
    def _online(car: FakeCar) -> FakeCar:
        if car.state != "online":
            raise VehicleAsleep()
        return car
