"""The stateful side of signed commands: one session per (VIN, infotainment), kept in the DocumentStore.

A session (epoch, the vehicle's public key, the last counter, the offset between the car's clock and
ours) is stored in `command_sessions/<vin>-infotainment`, so a cold instance signs without a
handshake (protocol.md, "Caching session state"). Each command reserves its counter with an atomic
`store.update`, so two instances never sign with the same counter. K and the private key are never
stored; K is re-derived from the stored vehicle key and cached in memory.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from shared.clock import Clock
from shared.log import get_logger
from shared.ports import Document, DocumentStore
from shared.tesla import command_protocol as protocol
from shared.tesla.car_server_actions import action_for, command_result
from shared.tesla.errors import (
    KeyNotPaired,
    OwnerActionRequired,
    SignedCommandFault,
    TeslaError,
    TeslaUnavailable,
)

log = get_logger("TESLA")

COLLECTION = "command_sessions"
DOMAIN_NAME = "infotainment"
# How long a signed command stays valid on the car's clock. The Go client signs for 5 s without a
# deadline (dispatcher/session.go) and its HTTP proxy for what is left of 10 s (proxy.go); a Fleet API
# round trip can take longer, and the car accepts up to 30 s even without a counter (crypto.go).
DEFAULT_EXPIRES_IN_S = 15.0

Send = Callable[[str, bytes], bytes]


class CommandSigner:
    """Signs commands for any VIN with one key, keeping sessions in the store; `send` carries them to the car.

    `handshakes` counts the session-info requests this instance sent (the simulation reports it).
    """

    def __init__(
        self,
        *,
        store: DocumentStore,
        private_key: ec.EllipticCurvePrivateKey | bytes,
        clock: Clock,
        send: Send,
        app_domain: str | None = None,
        expires_in_s: float = DEFAULT_EXPIRES_IN_S,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._store = store
        self._private_key = protocol.load_private_key(private_key) if isinstance(private_key, bytes) else private_key
        self._public_key = protocol.public_key_bytes(self._private_key)
        self._clock = clock
        self._send = send
        self._app_domain = app_domain
        self._expires_in_s = expires_in_s
        self._random = random_bytes
        # One routing address per instance, like one Go dispatcher per connection.
        self._routing_address = random_bytes(protocol.ID_LENGTH)
        self._shared_keys: dict[bytes, bytes] = {}
        self._lock = threading.Lock()
        self.handshakes = 0

    def execute(self, vin: str, command: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Send one of our commands signed; the car's answer as `{"result": bool, "reason": str}`."""
        return self.execute_action(vin, action_for(command, body), command=command)

    def execute_action(self, vin: str, action: bytes, *, command: str = "command") -> dict[str, Any]:
        """Sign and send a serialized CarServer.Action, resyncing the session once if the car asks for it."""
        for attempt in (1, 2):
            session = self._reserve(vin)
            if session is None:
                self._handshake(vin)
                session = self._reserve(vin)
                if session is None:
                    raise TeslaError(f"no command session for {command} after a handshake")
            reply = self._send_command(vin, action, session, command)
            adopted = reply.session_info is not None and self._adopt(vin, reply.session_info, handshake=False)
            if reply.fault is None:
                return self._result(reply, command)
            self._raise_unless_resync(reply.fault, command, last_attempt=attempt == 2)
            log.info(
                "command session resync",
                fields={"vin": vin, "command": command, "fault": reply.fault, "session_info": adopted},
            )
            if not adopted:
                self._handshake(vin)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    # --- session state ----------------------------------------------------------------------------

    def _doc_id(self, vin: str) -> str:
        return f"{vin}-{DOMAIN_NAME}"

    def _reserve(self, vin: str) -> Document | None:
        """Take the next counter atomically; the session as stored with it, or None without a session."""

        def take(current: Document | None) -> Document | None:
            if current is None:
                return None
            return {**current, "counter": int(current["counter"]) + 1}

        session = self._store.update(COLLECTION, self._doc_id(vin), take)
        if session is None:
            return None
        if int(session["counter"]) > protocol.MAX_COUNTER:
            # Only a new epoch resets the counter; the handshake brings one if the car rotated it.
            return None
        return session

    def _adopt(self, vin: str, info: protocol.SessionInfo, *, handshake: bool) -> bool:
        """Store verified session info; False when it cannot be used (refusal, other key): handshake then."""
        if not info.ok or len(info.epoch) != protocol.ID_LENGTH:
            return False
        now = self._clock.now()
        epoch, key = info.epoch.hex(), info.public_key.hex()
        offset = info.clock_time - now.timestamp()

        def merge(current: Document | None) -> Document | None:
            same = current is not None and current.get("epoch") == epoch and current.get("vehicle_public_key") == key
            if current is not None and not handshake and current.get("vehicle_public_key") != key:
                return None  # the car's key changed under us: only a handshake may adopt it
            if same and current is not None and int(current.get("clock_time", 0)) > info.clock_time:
                return None  # older than what we know of this epoch: discard (protocol.md)
            # Within an epoch the counter never goes back (protocol.md); a new epoch starts afresh.
            counter = max(info.counter, int(current["counter"])) if same and current is not None else info.counter
            return {
                "vin": vin,
                "domain": DOMAIN_NAME,
                "epoch": epoch,
                "vehicle_public_key": key,
                "counter": counter,
                "clock_time": info.clock_time,
                "clock_offset_s": offset,
                "synced_at": now.isoformat(),
                "handshake_at": now.isoformat() if handshake or current is None else current.get("handshake_at"),
            }

        stored = self._store.update(COLLECTION, self._doc_id(vin), merge)
        return stored is not None and stored.get("vehicle_public_key") == key

    def _shared_key(self, vehicle_public_key: bytes) -> bytes:
        with self._lock:
            cached = self._shared_keys.get(vehicle_public_key)
        if cached is not None:
            return cached
        shared_key = protocol.derive_shared_key(self._private_key, vehicle_public_key)
        with self._lock:
            self._shared_keys[vehicle_public_key] = shared_key
        return shared_key

    # --- messages ---------------------------------------------------------------------------------

    def _handshake(self, vin: str) -> None:
        uuid = self._random(protocol.ID_LENGTH)
        request = protocol.handshake_request(
            client_public_key=self._public_key, routing_address=self._routing_address, uuid=uuid
        )
        with self._lock:
            self.handshakes += 1
            count = self.handshakes
        log.info("command session handshake", fields={"vin": vin, "domain": DOMAIN_NAME, "handshakes": count})
        answer = self._send(vin, request)
        try:
            info, shared_key = protocol.verify_session_info(
                answer, private_key=self._private_key, vin=vin, request_uuid=uuid
            )
        except protocol.VehicleRefused as refusal:
            self._raise_for_fault(refusal.fault, "handshake")
            raise SignedCommandFault(
                f"the vehicle refused the handshake: {refusal.fault}", fault=refusal.fault
            ) from None
        except protocol.CommandProtocolError as exc:
            raise TeslaError(
                f"the vehicle's session info could not be authenticated: {exc}", tesla_status=200
            ) from None
        with self._lock:
            self._shared_keys[info.public_key] = shared_key
        if not self._adopt(vin, info, handshake=True):
            raise TeslaError("the vehicle's session info could not be stored", tesla_status=200)

    def _send_command(self, vin: str, action: bytes, session: Document, command: str) -> protocol.CommandReply:
        shared_key = self._shared_key(bytes.fromhex(session["vehicle_public_key"]))
        request = protocol.signed_command(
            action,
            shared_key=shared_key,
            client_public_key=self._public_key,
            vin=vin,
            epoch=bytes.fromhex(session["epoch"]),
            counter=int(session["counter"]),
            expires_at=self._expires_at(session, self._clock.now()),
            routing_address=self._routing_address,
            uuid=self._random(protocol.ID_LENGTH),
        )
        answer = self._send(vin, request)
        try:
            return protocol.parse_command_response(answer, shared_key=shared_key, vin=vin, request=request)
        except protocol.CommandProtocolError as exc:
            # Not retried: the car may have run the command before its answer went wrong.
            raise TeslaError(
                f"the vehicle's answer to {command} could not be authenticated: {exc}", tesla_status=200
            ) from None

    def _expires_at(self, session: Document, now: datetime) -> int:
        vehicle_now = now.timestamp() + float(session["clock_offset_s"])
        return min(max(0, int(vehicle_now + self._expires_in_s)), protocol.MAX_EXPIRES_AT)

    # --- outcomes ---------------------------------------------------------------------------------

    def _result(self, reply: protocol.CommandReply, command: str) -> dict[str, Any]:
        if reply.operation_status == "OPERATIONSTATUS_WAIT":
            raise TeslaUnavailable(f"the vehicle is busy and did not run {command}", tesla_status=200)
        if reply.payload is None:
            raise TeslaError(f"the vehicle's answer to {command} has no payload", tesla_status=200)
        try:
            return command_result(reply.payload)
        except ValueError as exc:
            raise TeslaError(f"the vehicle's answer to {command} is unreadable: {exc}", tesla_status=200) from None

    def _raise_unless_resync(self, fault: str, command: str, *, last_attempt: bool) -> None:
        self._raise_for_fault(fault, command)
        if protocol.fault_kind(fault) != "resync" or last_attempt:
            raise SignedCommandFault(f"the vehicle refused {command}: {fault}", fault=fault)

    def _raise_for_fault(self, fault: str, what: str) -> None:
        kind = protocol.fault_kind(fault)
        if kind == "pair_key":
            domain = self._app_domain or "your app's domain"
            raise KeyNotPaired(
                f"the vehicle does not know our command key ({fault})",
                remedy=f"pair the key: open https://tesla.com/_ak/{domain} on the phone with the Tesla app",
                tesla_status=200,
            )
        if kind == "owner":
            raise OwnerActionRequired(
                f"the vehicle refused {what}: {fault}",
                remedy="allow mobile access in the car (Controls > Safety > Allow Mobile Access)",
                tesla_status=200,
            )
        if kind == "transient":
            raise TeslaUnavailable(f"the vehicle could not take {what} now: {fault}", tesla_status=200)
