"""CarServer.Action payloads for our REST-style commands, and CarServer.Response → a REST-shaped answer.

The field mapping copies Tesla's vehicle-command proxy (pkg/proxy/command.go, ExtractCommandAction)
and the actions its vehicle package builds (pkg/vehicle/charge.go). Pure: no I/O, no clock — so an
`add_charge_schedule` body must carry its own id (the proxy would make one up from the time).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf.message import DecodeError
from tesla_protocol.command import car_server_pb2

# pkg/proxy/command.go, dayNamesBitMask: SUN=1 ... SAT=64. "TUE" and "THU" are not in it, and the
# proxy refuses them; we refuse them too so a body means the same thing on both paths.
DAY_BITS: Mapping[str, int] = {
    "SUN": 1,
    "SUNDAY": 1,
    "MON": 2,
    "MONDAY": 2,
    "TUES": 4,
    "TUESDAY": 4,
    "WED": 8,
    "WEDNESDAY": 8,
    "THURS": 16,
    "THURSDAY": 16,
    "FRI": 32,
    "FRIDAY": 32,
    "SAT": 64,
    "SATURDAY": 64,
    "ALL": 127,
    "WEEKDAYS": 62,
}
MINUTES_PER_DAY = 24 * 60
_INT32 = (-(2**31), 2**31 - 1)
_UINT64_MAX = 2**64 - 1


def days_mask(value: Any) -> int:
    """Comma-separated day names (the proxy's table, any case) to the SUN=1 ... SAT=64 bit mask."""
    if not isinstance(value, str):
        raise ValueError("invalid days_of_week param")
    mask = 0
    for name in value.split(","):
        bit = DAY_BITS.get(name.strip().upper())
        if bit is None:
            raise ValueError(f"unrecognized day name: {name.strip()!r}")
        mask |= bit
    return mask


def _set_charge_limit(body: Mapping[str, Any]) -> car_server_pb2.Action:
    action = car_server_pb2.Action()
    action.vehicleAction.chargingSetLimitAction.percent = _integer(body, "percent", _INT32)
    return action


def _add_charge_schedule(body: Mapping[str, Any]) -> car_server_pb2.Action:
    action = car_server_pb2.Action()
    schedule = action.vehicleAction.addChargeScheduleAction
    schedule.id = _integer(body, "id", (1, _UINT64_MAX))
    schedule.days_of_week = days_mask(_required(body, "days_of_week"))
    schedule.enabled = _bool(body, "enabled", required=True)
    schedule.start_enabled = _bool(body, "start_enabled", required=True)
    schedule.start_time = _integer(body, "start_time", (0, MINUTES_PER_DAY - 1), required=False)
    schedule.end_enabled = _bool(body, "end_enabled", required=True)
    schedule.end_time = _integer(body, "end_time", (0, MINUTES_PER_DAY - 1), required=False)
    schedule.latitude = _number(body, "lat")
    schedule.longitude = _number(body, "lon")
    schedule.one_time = _bool(body, "one_time", required=False)
    return action


def _remove_charge_schedule(body: Mapping[str, Any]) -> car_server_pb2.Action:
    action = car_server_pb2.Action()
    action.vehicleAction.removeChargeScheduleAction.id = _integer(body, "id", (0, _UINT64_MAX))
    return action


def _charge_start(body: Mapping[str, Any]) -> car_server_pb2.Action:
    action = car_server_pb2.Action()
    action.vehicleAction.chargingStartStopAction.start.SetInParent()
    return action


def _charge_stop(body: Mapping[str, Any]) -> car_server_pb2.Action:
    action = car_server_pb2.Action()
    action.vehicleAction.chargingStartStopAction.stop.SetInParent()
    return action


_BUILDERS: Mapping[str, Callable[[Mapping[str, Any]], car_server_pb2.Action]] = {
    "set_charge_limit": _set_charge_limit,
    "add_charge_schedule": _add_charge_schedule,
    "remove_charge_schedule": _remove_charge_schedule,
    "charge_start": _charge_start,
    "charge_stop": _charge_stop,
}
COMMANDS = frozenset(_BUILDERS)


def action_for(command: str, body: Mapping[str, Any]) -> bytes:
    """The serialized CarServer.Action for one of our commands and its REST body; ValueError otherwise."""
    builder = _BUILDERS.get(command)
    if builder is None:
        raise ValueError(f"no signed form for command {command!r}")
    return builder(body).SerializeToString()


def command_result(payload: bytes) -> dict[str, Any]:
    """A CarServer.Response as the REST answer `{"result": bool, "reason": str}`."""
    try:
        response = car_server_pb2.Response.FromString(payload)
    except DecodeError:
        raise ValueError("the vehicle's answer is not a CarServer.Response") from None
    status = response.actionStatus
    # Only OPERATIONSTATUS_ERROR is a refusal; an absent status reads as OK, as in pkg/vehicle.
    failed = status.result == car_server_pb2.OPERATIONSTATUS_ERROR
    return {"result": not failed, "reason": status.result_reason.plain_text}


def _required(body: Mapping[str, Any], key: str) -> Any:
    if key not in body:
        raise ValueError(f"missing {key} param")
    return body[key]


def _bool(body: Mapping[str, Any], key: str, *, required: bool) -> bool:
    if key not in body:
        if required:
            raise ValueError(f"missing {key} param")
        return False
    value = body[key]
    if not isinstance(value, bool):
        raise ValueError(f"invalid {key} param")
    return value


def _number(body: Mapping[str, Any], key: str) -> float:
    value = _required(body, key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"invalid {key} param")
    return float(value)


def _integer(body: Mapping[str, Any], key: str, bounds: tuple[int, int], *, required: bool = True) -> int:
    if key not in body and not required:
        return 0
    value = _required(body, key)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"invalid {key} param")
    return value
