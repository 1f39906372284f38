"""CarServer actions the simulated car understands, read as the REST commands of commands.py.

A signed command's payload is a `CarServer.Action` (car_server.proto in teslamotors/vehicle-command);
how Tesla's proxy builds each one from a REST body (pkg/proxy/command.go, pkg/vehicle) tells which
REST body it stands for, e.g. `days_of_week` as the proxy's bit mask SUN=1, MON=2 ... SAT=64. The
answer is a `CarServer.Response` whose actionStatus is OPERATIONSTATUS_OK, or OPERATIONSTATUS_ERROR
with the car's reason ("already_set", "is_charging", ...) as plain text: what the reference client
reports as "car could not execute command: <reason>".
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import DecodeError
from tesla_protocol.command import car_server_pb2 as cs
from tesla_protocol.command import universal_message_pb2 as um

from simulator.tesla_sim.car_protocol import ActionRefused
from simulator.tesla_sim.schedules import DAY_BITS

SCHEDULE_COMMANDS = frozenset({"add_charge_schedule", "remove_charge_schedule"})
DAY_NAMES = [
    (bit, name) for name, bit in DAY_BITS.items() if name in ("SUN", "MON", "TUES", "WED", "THURS", "FRI", "SAT")
]


def days_of_week(mask: int) -> str:
    """The proxy's day names for a bit mask (127 → "SUN,MON,TUES,WED,THURS,FRI,SAT")."""
    return ",".join(name for bit, name in DAY_NAMES if mask & bit)


def rest_command(payload: bytes) -> tuple[str, dict[str, Any]]:
    """The REST command name and body a CarServer.Action stands for; ActionRefused when there is none."""
    action = cs.Action()
    try:
        action.ParseFromString(payload)
    except DecodeError:
        raise ActionRefused(um.MESSAGEFAULT_ERROR_DECODING) from None
    vehicle = action.vehicleAction
    kind = vehicle.WhichOneof("vehicle_action_msg") if action.HasField("vehicleAction") else None
    if kind == "chargingSetLimitAction":
        return "set_charge_limit", {"percent": vehicle.chargingSetLimitAction.percent}
    if kind == "chargingStartStopAction":
        which = vehicle.chargingStartStopAction.WhichOneof("charging_action")
        if which == "start":
            return "charge_start", {}
        if which == "stop":
            return "charge_stop", {}
    if kind == "addChargeScheduleAction":
        s = vehicle.addChargeScheduleAction
        return "add_charge_schedule", {
            "id": s.id,
            "days_of_week": days_of_week(s.days_of_week),
            "enabled": s.enabled,
            "start_enabled": s.start_enabled,
            "start_time": s.start_time,
            "end_enabled": s.end_enabled,
            "end_time": s.end_time,
            "lat": s.latitude,
            "lon": s.longitude,
            "one_time": s.one_time,
        }
    if kind == "removeChargeScheduleAction":
        return "remove_charge_schedule", {"id": vehicle.removeChargeScheduleAction.id}
    # Anything else is not simulated; the fault is the one the protocol names for "unrecognized
    # command ... or unsupported vehicle firmware" (universal_message.proto, MessageFault_E).
    raise ActionRefused(um.MESSAGEFAULT_ERROR_INVALID_COMMAND)


def response(reason: str) -> bytes:
    """The CarServer.Response for a handler's result: "" is success, anything else the car's reason."""
    answer = cs.Response()
    if reason:
        answer.actionStatus.result = cs.OPERATIONSTATUS_ERROR
        answer.actionStatus.result_reason.plain_text = reason
    else:
        answer.actionStatus.result = cs.OPERATIONSTATUS_OK
    return answer.SerializeToString()
