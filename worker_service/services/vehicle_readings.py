"""The last charge state seen per vehicle, so planning wakes the car only when no recent reading exists.

Wakes are the dearest Fleet API call ($1 per 50, FACTS); a reading the scout already paid for is
reused for a few hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.clock import Clock
from shared.errors import UpstreamError
from shared.log import get_logger
from shared.ports import DocumentStore, VehicleApi

log = get_logger("WORKER")
READINGS = "vehicle_readings"
CYCLE_STATE = "cycle_state"
FRESH_FOR = timedelta(hours=3)
# A car asleep since its last reading, with no schedule of ours started since, still has that charge.
ASLEEP_VALID_FOR = timedelta(hours=12)


@dataclass(frozen=True)
class ChargeReading:
    """What planning needs from the car."""

    battery_level: float
    charge_limit_soc: int
    charging_state: str | None
    read_at: datetime

    def to_doc(self) -> dict[str, Any]:
        return {
            "battery_level": self.battery_level,
            "charge_limit_soc": self.charge_limit_soc,
            "charging_state": self.charging_state,
            "read_at": self.read_at.isoformat(),
        }


def reading_from_charge_state(charge_state: dict[str, Any], read_at: datetime) -> ChargeReading | None:
    """A reading from Tesla's `charge_state` object, or None when it lacks the numbers."""
    level, limit = charge_state.get("battery_level"), charge_state.get("charge_limit_soc")
    if not isinstance(level, int | float) or not isinstance(limit, int | float) or isinstance(level, bool):
        return None
    if not 0 <= level <= 100 or not 50 <= limit <= 100:
        return None
    return ChargeReading(float(level), int(limit), charge_state.get("charging_state"), read_at)


def remember(store: DocumentStore, vin: str, reading: ChargeReading) -> None:
    """Keep the reading for later planning runs."""
    store.set(READINGS, vin, reading.to_doc())


def recent_reading(
    store: DocumentStore, vin: str, now: datetime, max_age: timedelta = FRESH_FOR
) -> ChargeReading | None:
    """The stored reading when it is younger than max_age."""
    doc = store.get(READINGS, vin)
    if not doc:
        return None
    try:
        read_at = datetime.fromisoformat(doc["read_at"])
    except (KeyError, ValueError, TypeError):
        return None
    if now - read_at > max_age:
        return None
    return reading_from_charge_state(doc, read_at)


def read_from_car(
    vehicle: VehicleApi, store: DocumentStore, clock: Clock, vin: str, *, may_wake: bool, keep: bool = True
) -> ChargeReading | None:
    """Ask the car (waking it once if allowed); None when it sleeps and may not be woken."""
    if vehicle.vehicle_state(vin) != "online":
        if not may_wake:
            return None
        log.info("waking the car once to read its charge state", fields={"vin": vin})
        if not vehicle.wake_up(vin):
            raise UpstreamError("The car did not wake up in time", code="vehicle_unavailable")
    data = vehicle.vehicle_data(vin)
    reading = reading_from_charge_state(data.get("charge_state") or {}, clock.now())
    if reading is None:
        raise UpstreamError("The car's charge state lacked battery_level or charge_limit_soc", code="bad_vehicle_data")
    if keep:
        remember(store, vin, reading)
    return reading


def current_reading(
    vehicle: VehicleApi, store: DocumentStore, clock: Clock, vin: str, *, may_wake: bool, keep: bool = True
) -> ChargeReading | None:
    """A reading younger than three hours, else a fresh one from the car (kept for later unless keep=False)."""
    recent = recent_reading(store, vin, clock.now())
    return recent or read_from_car(vehicle, store, clock, vin, may_wake=may_wake, keep=keep)


def reading_for_planning(vehicle: VehicleApi, store: DocumentStore, clock: Clock, vin: str) -> ChargeReading:
    """A reading to plan with: a recent one, an older one the sleeping car still holds, else wake and read."""
    now = clock.now()
    recent = recent_reading(store, vin, now)
    if recent is not None:
        return recent
    older = recent_reading(store, vin, now, max_age=ASLEEP_VALID_FOR)
    if (
        older is not None
        and vehicle.vehicle_state(vin) != "online"
        and not charged_since(store, vin, older.read_at, now)
    ):
        log.info("planning with the reading the sleeping car still holds; no wake needed", fields={"vin": vin})
        return older
    reading = read_from_car(vehicle, store, clock, vin, may_wake=True)
    assert reading is not None  # may_wake=True either reads or raises
    return reading


def charged_since(store: DocumentStore, vin: str, since: datetime, now: datetime) -> bool:
    """Whether a schedule this system sent began charging after `since` (recurring windows included)."""
    plan = (store.get(CYCLE_STATE, vin) or {}).get("plan") or {}
    for window in plan.get("windows") or []:
        start = datetime.fromisoformat(window["start"])
        # The home schedule repeats every day: yesterday's or tomorrow's copy of a window counts too.
        if any(since <= start + timedelta(days=shift) <= now for shift in range(-3, 4)):
            return True
    return False
