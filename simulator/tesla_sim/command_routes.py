"""How a command reaches a car: a REST call (unsigned), a signed RoutableMessage, or Tesla's proxy.

- REST `POST .../command/{name}`: for a car that needs signing Tesla's server answers 403 with
  FACTS' body, or (cars configured so) 200 `unsigned_cmds_hardlocked`; otherwise the car acts (408
  while it sleeps) and answers `{"result", "reason"}`.
- `POST .../signed_command`: Tesla relays the message; the car's own protocol side
  (car_protocol.py) verifies it and answers. A sleeping car is a 408, as for every command.
- Tesla's vehicle-command proxy (`/proxy/...`), which signs for the owner with the app's key
  (pkg/proxy/proxy.go): it parses the body first (400, never reaching Tesla), then opens a session
  — a sleeping car makes it answer 500 "vehicle unavailable: ...", an unpaired key 500 with the
  reference client's ErrKeyNotPaired text — and turns a car's refusal into 200
  `car could not execute command: <reason>` (FACTS). Any other protocol fault becomes 500 with the
  fault's name, as the proxy prints a RoutableMessageError (pkg/protocol/error.go).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tesla_protocol.command import universal_message_pb2 as um

from simulator.tesla_sim import car_actions
from simulator.tesla_sim.car_protocol import ActionRefused, CarProtocol, is_aes_gcm_request, parse_message
from simulator.tesla_sim.commands import COMMANDS, validate_body
from simulator.tesla_sim.errors import (
    ASLEEP_ERROR,
    KEY_NOT_PAIRED_ERROR,
    PARSE_ERROR,
    PROXY_REFUSAL_PREFIX,
    SIGNED_COMMAND_ERROR,
    UNSIGNED_HARDLOCKED,
    SimError,
)
from simulator.tesla_sim.presets import supports_charge_schedules
from simulator.tesla_sim.schedules import ScheduleError
from simulator.tesla_sim.vehicle import SimVehicle

# The simulator's own text: Fleet API refuses AES-GCM requests (it cannot read them to enforce
# scopes, protocol.md "Authentication methods"), but how it words the refusal is not documented.
AES_GCM_REFUSED = "Fleet API accepts only HMAC-SHA256 signed commands"
# On firmware before 2024.26 the REST answer to a charge schedule command is not documented either.
NOT_SUPPORTED = "not_supported"


def rest_command(v: SimVehicle, name: str, body: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """An unsigned REST command: 403 on cars needing signatures, 400 bad body, 408 asleep."""
    handler = COMMANDS.get(name)
    if v.requires_signed_commands and v.spec.unsigned_command_reply == "forbidden":
        raise SimError(403, SIGNED_COMMAND_ERROR)
    if handler is None:
        raise SimError(400, "invalid_command")
    if not v.reachable:
        raise SimError(408, ASLEEP_ERROR)
    v.touch(now)
    if v.requires_signed_commands:
        # "hardlocked": the reason is in the car's own words, so the car (awake) gives it, not Tesla's server.
        return {"result": False, "reason": UNSIGNED_HARDLOCKED}
    if name in car_actions.SCHEDULE_COMMANDS and not supports_charge_schedules(v.spec.firmware_version):
        return {"result": False, "reason": NOT_SUPPORTED}
    try:
        reason = handler(v, body, now)
    except ScheduleError as bad:
        raise SimError(400, str(bad)) from None
    return {"result": reason == "", "reason": reason}


def proxy_command(
    v: SimVehicle, name: str, body: Mapping[str, Any], now: datetime, *, key_paired: bool
) -> dict[str, Any]:
    """A command through Tesla's proxy, which signs it: works on every car whose key is paired."""
    handler = COMMANDS.get(name)
    if handler is None:
        raise SimError(400, "invalid_command", billed=False)
    try:
        validate_body(name, body, now)
    except ScheduleError as bad:
        raise SimError(400, str(bad), billed=False) from None
    # The proxy's handshake reached Tesla, which answered (and billed) it: one command either way.
    if not v.reachable:
        raise SimError(500, ASLEEP_ERROR, billed=True)
    if not key_paired:
        raise SimError(500, KEY_NOT_PAIRED_ERROR, billed=True)
    v.touch(now)
    if name in car_actions.SCHEDULE_COMMANDS and not supports_charge_schedules(v.spec.firmware_version):
        raise SimError(500, um.MessageFault_E.Name(um.MESSAGEFAULT_ERROR_INVALID_COMMAND), billed=True)
    reason = handler(v, body, now)
    if reason:
        return {"result": False, "reason": PROXY_REFUSAL_PREFIX + reason}
    return {"result": True, "reason": ""}


def decode_signed(routable_message: Any) -> um.RoutableMessage:
    """The RoutableMessage in a signed_command body; 400 when it is missing or not one."""
    if not isinstance(routable_message, str):
        raise SimError(400, PARSE_ERROR)
    try:
        request = parse_message(base64.b64decode(routable_message, validate=True))
    except ValueError:
        raise SimError(400, PARSE_ERROR) from None
    if is_aes_gcm_request(request):
        raise SimError(400, AES_GCM_REFUSED)
    return request


def signed_command(v: SimVehicle, protocol: CarProtocol, request: um.RoutableMessage, now: datetime) -> str:
    """The car's answer (base64 RoutableMessage) to a signed message; 408 while it sleeps."""
    if not v.reachable:
        raise SimError(408, ASLEEP_ERROR)
    v.touch(now)
    reply = protocol.answer(request, now, lambda payload: _run_action(v, payload, now))
    return base64.b64encode(reply.SerializeToString()).decode()


def _run_action(v: SimVehicle, payload: bytes, now: datetime) -> bytes:
    name, body = car_actions.rest_command(payload)
    if name in car_actions.SCHEDULE_COMMANDS and not supports_charge_schedules(v.spec.firmware_version):
        # Firmware before 2024.26 does not know the action: "unrecognized command ... or unsupported
        # vehicle firmware" is the fault the protocol names for that (universal_message.proto).
        raise ActionRefused(um.MESSAGEFAULT_ERROR_INVALID_COMMAND)
    try:
        reason = COMMANDS[name](v, body, now)
    except ScheduleError as bad:
        reason = str(bad)
    return car_actions.response(reason)
