"""The car commands the simulator understands; each returns "" on success or the car's reason.

A non-empty reason becomes `{"result": false, "reason": ...}` with HTTP 200, as Tesla answers.
Malformed bodies raise ScheduleError (HTTP 400, the proxy's "missing/invalid X param" wording).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from simulator.tesla_sim.schedules import ScheduleError, schedule_from_body
from simulator.tesla_sim.vehicle import SimVehicle

UNTIL_REPLUGGED = timedelta(days=3650)


def _number_param(body: Mapping[str, Any], key: str) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScheduleError(f"missing {key} param" if value is None else f"invalid {key} param")
    return value


def _set_charge_limit(v: SimVehicle, body: Mapping[str, Any], now: datetime) -> str:
    percent = _number_param(body, "percent")
    if not 50 <= percent <= 100:
        return "invalid_value"  # the car's range is charge_limit_soc_min..max; the exact reason is unconfirmed
    if int(percent) == v.charge_limit:
        return "already_set"
    v.charge_limit = int(percent)
    return ""


def _add_charge_schedule(v: SimVehicle, body: Mapping[str, Any], now: datetime) -> str:
    v.add_schedule(schedule_from_body(body, now), now)
    return ""


def _remove_charge_schedule(v: SimVehicle, body: Mapping[str, Any], now: datetime) -> str:
    schedule_id = _number_param(body, "id")
    v.schedules.pop(int(schedule_id), None)  # removing an unknown id is not an error for the car
    return ""


def _charge_start(v: SimVehicle, body: Mapping[str, Any], now: datetime) -> str:
    if not v.plugged_in:
        return "disconnected"
    if v.soc >= v.charge_limit:
        return "complete"
    if v.charging_at(now):
        return "is_charging"
    v.manual_charge, v.blocked_until = True, None
    return ""


def _charge_stop(v: SimVehicle, body: Mapping[str, Any], now: datetime) -> str:
    if not v.charging_at(now):
        return "not_charging"
    v.manual_charge = False
    if not v.schedules_here():
        v.blocked_until = now + UNTIL_REPLUGGED  # no schedule: it stays stopped until replugged or charge_start
        return ""
    # Stopping inside a schedule's window pauses charging until that window ends.
    spans = v.charge_intervals(now, now + timedelta(days=2))
    v.blocked_until = spans[0][1] if spans else None
    return ""


COMMANDS: dict[str, Callable[[SimVehicle, Mapping[str, Any], datetime], str]] = {
    "set_charge_limit": _set_charge_limit,
    "add_charge_schedule": _add_charge_schedule,
    "remove_charge_schedule": _remove_charge_schedule,
    "charge_start": _charge_start,
    "charge_stop": _charge_stop,
}


def validate_body(name: str, body: Mapping[str, Any], now: datetime) -> None:
    """Check a command's body without acting (Tesla's proxy parses it before it contacts the car)."""
    if name == "set_charge_limit":
        _number_param(body, "percent")
    elif name == "add_charge_schedule":
        schedule_from_body(body, now)
    elif name == "remove_charge_schedule":
        _number_param(body, "id")
