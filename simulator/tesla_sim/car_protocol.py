"""The car's side of Tesla's Vehicle Command Protocol: handshakes, HMAC-verified commands, encrypted answers.

Written from the specification, `pkg/protocol/protocol.md` in teslamotors/vehicle-command, and the
behaviour of its reference verifier (`internal/authentication/verifier.go`, `peer.go`, `window.go`,
`native.go`, `metadata.go`, `crypto.go`): facts are carried over, code is not, and nothing is shared
with the client in `shared/tesla/` — the two meet only on the wire, so neither can lean on the
other's bugs.

A car has, per domain (infotainment and vehicle security), its own P-256 key pair, a random 16-byte
epoch chosen at boot and a clock counting seconds since the epoch began; a keychain of enrolled
client public keys; and per enrolled key an anti-replay counter with a 32-message sliding window.
Faults a client can recover from (wrong epoch, expired, bad tag, reused counter, too long a life
without a counter) carry fresh session info and its tag, as verifier.go's signatureError does; an
unknown key, a wrong domain or an unsigned message get the bare fault.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from google.protobuf.message import DecodeError
from tesla_protocol.command import signatures_pb2 as sig
from tesla_protocol.command import universal_message_pb2 as um

INFOTAINMENT = um.DOMAIN_INFOTAINMENT
VEHICLE_SECURITY = um.DOMAIN_VEHICLE_SECURITY
EPOCH_LENGTH_S = 1 << 30  # crypto.go epochLength: no expiry may lie beyond it
MAX_SECONDS_WITHOUT_COUNTER = 30  # crypto.go: a message without a fresh counter must expire this soon
WINDOW_SIZE = 32  # crypto.go windowSize: how far back out-of-order counters are remembered
ENCRYPT_RESPONSE = 1 << um.FLAG_ENCRYPT_RESPONSE
LABEL_SESSION_INFO = b"session info"
LABEL_COMMAND = b"authenticated command"
GCM_TAG_BYTES = 16

Executor = Callable[[bytes], bytes]


class ActionRefused(Exception):
    """The application layer cannot take the payload; the car answers this MessageFault_E instead."""

    def __init__(self, fault: int) -> None:
        super().__init__(um.MessageFault_E.Name(fault))
        self.fault = fault


# ---- pure message code -----------------------------------------------------------------------------


def encode_public(key: ec.EllipticCurvePublicKey) -> bytes:
    """ENCODE_PUBLIC(P): 0x04 || x || y, the uncompressed point (protocol.md, Notation)."""
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def shared_key(private_key: ec.EllipticCurvePrivateKey, peer_public: bytes) -> bytes:
    """K = SHA1(Sx)[:16] from ECDH (protocol.md, Key Agreement); ValueError for a point not on P-256."""
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer_public)
    # SHA1 is the spec's choice; it only maps a random point to key bits, no collision resistance needed.
    digest = hashes.Hash(hashes.SHA1())  # noqa: S303
    digest.update(private_key.exchange(ec.ECDH(), peer))
    return digest.finalize()[:16]


def u32(value: int) -> bytes:
    """A metadata integer: four bytes, big-endian."""
    return value.to_bytes(4, "big")


def metadata(items: Iterable[tuple[int, bytes | None]]) -> bytes:
    """Tag-length-value items in ascending tag order, then 0xFF (protocol.md, Metadata serialization)."""
    # A None value is left out, as the reference code skips absent fields (a request without a UUID).
    out = bytearray()
    for tag, value in sorted(items, key=lambda item: item[0]):
        if value is None:
            continue
        if len(value) > 255:
            raise ValueError("metadata values are at most 255 bytes")
        out += bytes((tag, len(value))) + value
    out.append(sig.TAG_END)
    return bytes(out)


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def session_info_tag(k: bytes, vin: str, challenge: bytes, encoded_info: bytes) -> bytes:
    """HMAC-SHA256(HMAC(K, "session info"), metadata || session info) (protocol.md, Response authentication)."""
    meta = metadata(
        [
            (sig.TAG_SIGNATURE_TYPE, bytes((sig.SIGNATURE_TYPE_HMAC,))),
            (sig.TAG_PERSONALIZATION, vin.encode()),
            (sig.TAG_CHALLENGE, challenge or None),
        ]
    )
    return _hmac(_hmac(k, LABEL_SESSION_INFO), meta + encoded_info)


def command_metadata(
    domain: int, vin: str, epoch: bytes, expires_at: int, counter: int, flags: int, signature_type: int
) -> bytes:
    """The metadata M a signed command is bound to; flags only when non-zero (protocol.md, Metadata)."""
    return metadata(
        [
            (sig.TAG_SIGNATURE_TYPE, bytes((signature_type,))),
            (sig.TAG_DOMAIN, bytes((domain,))),
            (sig.TAG_PERSONALIZATION, vin.encode()),
            (sig.TAG_EPOCH, epoch),
            (sig.TAG_EXPIRES_AT, u32(expires_at)),
            (sig.TAG_COUNTER, u32(counter)),
            (sig.TAG_FLAGS, u32(flags) if flags else None),
        ]
    )


def command_tag(k: bytes, meta: bytes, payload: bytes) -> bytes:
    """HMAC-SHA256(HMAC(K, "authenticated command"), M || P) (protocol.md, HMAC-SHA256 authentication)."""
    return _hmac(_hmac(k, LABEL_COMMAND), meta + payload)


def response_metadata(domain: int, vin: str, counter: int, flags: int, request_hash: bytes, fault: int) -> bytes:
    """The metadata an encrypted answer is bound to; flags always present (protocol.md, Response metadata)."""
    return metadata(
        [
            (sig.TAG_SIGNATURE_TYPE, bytes((sig.SIGNATURE_TYPE_AES_GCM_RESPONSE,))),
            (sig.TAG_DOMAIN, bytes((domain,))),
            (sig.TAG_PERSONALIZATION, vin.encode()),
            (sig.TAG_COUNTER, u32(counter)),
            (sig.TAG_FLAGS, u32(flags)),
            (sig.TAG_REQUEST_HASH, request_hash),
            (sig.TAG_FAULT, u32(fault)),
        ]
    )


def slide_window(counter: int, window: int, new: int) -> tuple[int, int, bool]:
    """(counter, window, accepted) after a message with counter `new` (the rule of window.go)."""
    # `counter` is the highest counter seen; bit i of `window` marks counter - 1 - i as used. A counter
    # seen before, or older than the window remembers, is refused and the state left unchanged.
    if new == counter:
        return counter, window, False
    if new < counter:
        age = counter - new
        if age > WINDOW_SIZE or (window >> (age - 1)) & 1:
            return counter, window, False
        return counter, window | (1 << (age - 1)), True
    shift = new - counter
    window = ((window << shift) | (1 << (shift - 1))) & ((1 << 64) - 1)
    return new, window, True


def parse_message(raw: bytes) -> um.RoutableMessage:
    """A RoutableMessage from its bytes; ValueError when they are not one."""
    message = um.RoutableMessage()
    try:
        message.ParseFromString(raw)
    except DecodeError as bad:
        raise ValueError(f"not a RoutableMessage: {bad}") from None
    return message


def is_handshake(message: um.RoutableMessage) -> bool:
    """True for a session info request."""
    return message.WhichOneof("payload") == "session_info_request"


def is_aes_gcm_request(message: um.RoutableMessage) -> bool:
    """True when the request is encrypted (AES-GCM) rather than HMAC-signed."""
    return message.HasField("signature_data") and message.signature_data.WhichOneof("sig_type") in (
        "AES_GCM_Personalized_data",
        "AES_GCM_Detached_data",
    )


# ---- the car's state --------------------------------------------------------------------------------


@dataclass
class ClientSession:
    """Anti-replay state of one enrolled key in one domain: highest counter seen and the window behind it."""

    counter: int = 0
    window: int = 0


@dataclass
class DomainState:
    """One domain's key pair and clock: `(epoch, seconds since epoch_start)` (protocol.md, Time)."""

    domain: int
    private_key: ec.EllipticCurvePrivateKey
    epoch: bytes
    epoch_start: datetime
    sessions: dict[bytes, ClientSession] = field(default_factory=dict)
    responses_sent: int = 0

    def clock(self, now: datetime) -> int:
        """The domain's clock: whole seconds since its epoch began."""
        return max(0, int((now - self.epoch_start).total_seconds()))

    def reboot(self, now: datetime, uptime_s: int = 0) -> None:
        """A new random epoch, the clock restarted and every client's counter forgotten."""
        self.epoch = os.urandom(16)
        self.epoch_start = now - timedelta(seconds=uptime_s)
        self.sessions.clear()
        self.responses_sent = 0


class CarProtocol:
    """The protocol side of one car: its keychain, its domains, and its answer to each RoutableMessage."""

    def __init__(self, vin: str, now: datetime, *, encrypts_responses: bool = True) -> None:
        self.vin = vin
        self.encrypts_responses = encrypts_responses  # firmware 2024.38+ (protocol.md, Response decryption)
        self.enrolled: set[bytes] = set()
        self.faults: Counter[str] = Counter()
        # A car met in the field has been up a while: a clock that starts near 0 would hide client bugs.
        uptime = 1000 + secrets.randbelow(500_000)
        self.domains = {
            domain: DomainState(domain, ec.generate_private_key(ec.SECP256R1()), os.urandom(16), now)
            for domain in (VEHICLE_SECURITY, INFOTAINMENT)
        }
        for state in self.domains.values():
            state.reboot(now, uptime)

    def restart(self, now: datetime) -> None:
        """The car rebooted: every domain gets a new epoch, so cached client sessions stop working."""
        for state in self.domains.values():
            state.reboot(now)

    def answer(self, request: um.RoutableMessage, now: datetime, execute: Executor) -> um.RoutableMessage:
        """The car's reply to one message; `execute` turns a verified payload into the plaintext answer."""
        reply = self._answer(request, now, execute)
        fault = reply.signedMessageStatus.signed_message_fault if reply.HasField("signedMessageStatus") else 0
        if fault:
            self.faults[um.MessageFault_E.Name(fault)] += 1  # what tests read: replays, bad tags, ...
        return reply

    def _answer(self, request: um.RoutableMessage, now: datetime, execute: Executor) -> um.RoutableMessage:
        is_domain = request.to_destination.WhichOneof("sub_destination") == "domain"
        domain = request.to_destination.domain if is_domain else None
        reply = um.RoutableMessage()
        if request.from_destination.WhichOneof("sub_destination") == "routing_address":
            reply.to_destination.routing_address = request.from_destination.routing_address
        reply.from_destination.domain = domain or um.DOMAIN_BROADCAST
        if domain != VEHICLE_SECURITY:
            reply.request_uuid = request.uuid  # VCSEC leaves it out for lack of memory (protocol.md)
        state = self.domains.get(domain) if domain is not None else None
        if state is None:
            return _fault(reply, um.MESSAGEFAULT_ERROR_INVALID_DOMAINS)
        payload = request.WhichOneof("payload")
        if payload == "session_info_request":
            return self._handshake(state, request, reply, now)
        if payload == "protobuf_message_as_bytes":
            return self._command(state, request, reply, now, execute)
        return _fault(reply, um.MESSAGEFAULT_ERROR_DECODING)

    # ---- steps ---------------------------------------------------------------------------------

    def _handshake(
        self, state: DomainState, request: um.RoutableMessage, reply: um.RoutableMessage, now: datetime
    ) -> um.RoutableMessage:
        client = request.session_info_request.public_key
        if client not in self.enrolled:
            # The fault the reference client turns into "your public key has not been paired with
            # the vehicle" (pkg/protocol/error.go); a session-info status KEY_NOT_ON_WHITELIST
            # means the same to it — over BLE VCSEC has been seen answering that way instead.
            return _fault(reply, um.MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID)
        try:
            k = shared_key(state.private_key, client)
        except ValueError:
            return _fault(reply, um.MESSAGEFAULT_ERROR_BAD_PARAMETER)
        session = state.sessions.setdefault(client, ClientSession())
        self._attach_session_info(reply, state, session, k, request.uuid, now)
        return reply

    def _command(
        self,
        state: DomainState,
        request: um.RoutableMessage,
        reply: um.RoutableMessage,
        now: datetime,
        execute: Executor,
    ) -> um.RoutableMessage:
        if not request.HasField("signature_data"):
            return _fault(reply, um.MESSAGEFAULT_ERROR_BAD_PARAMETER)  # verifier.go: "signature data missing"
        signature = request.signature_data
        client = signature.signer_identity.public_key
        if client not in self.enrolled:
            return _fault(reply, um.MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID)
        if signature.WhichOneof("sig_type") != "HMAC_Personalized_data":
            # Fleet API passes only HMAC-signed commands (protocol.md, Authentication methods).
            return _fault(reply, um.MESSAGEFAULT_ERROR_BAD_PARAMETER)
        try:
            k = shared_key(state.private_key, client)
        except ValueError:
            return _fault(reply, um.MESSAGEFAULT_ERROR_BAD_PARAMETER)
        session = state.sessions.setdefault(client, ClientSession())
        data = signature.HMAC_Personalized_data
        fault = _freshness_fault(state, session, data, now)
        if fault is None:
            meta = command_metadata(
                state.domain,
                self.vin,
                state.epoch,
                data.expires_at,
                data.counter,
                request.flags,
                sig.SIGNATURE_TYPE_HMAC_PERSONALIZED,
            )
            if not hmac.compare_digest(command_tag(k, meta, request.protobuf_message_as_bytes), data.tag):
                fault = um.MESSAGEFAULT_ERROR_INVALID_SIGNATURE
        if fault is None and data.counter > 0:
            session.counter, session.window, fresh = slide_window(session.counter, session.window, data.counter)
            if not fresh:
                fault = um.MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER
        if fault is not None:
            _fault(reply, fault)
            self._attach_session_info(reply, state, session, k, request.uuid, now)
            return reply
        try:
            if state.domain != INFOTAINMENT:
                # Only infotainment's CarServer actions are simulated; VCSEC commands (locks, trunk)
                # are not, so the car answers them as a firmware that does not know them would.
                raise ActionRefused(um.MESSAGEFAULT_ERROR_INVALID_COMMAND)
            plaintext = execute(request.protobuf_message_as_bytes)
        except ActionRefused as refused:
            return _fault(reply, refused.fault)
        reply.protobuf_message_as_bytes = plaintext
        if request.flags & ENCRYPT_RESPONSE and self.encrypts_responses:
            self._encrypt(reply, state, k, _request_hash(state.domain, data.tag))
        return reply

    def _attach_session_info(
        self,
        reply: um.RoutableMessage,
        state: DomainState,
        session: ClientSession,
        k: bytes,
        challenge: bytes,
        now: datetime,
    ) -> None:
        info = sig.SessionInfo(
            counter=session.counter,
            publicKey=encode_public(state.private_key.public_key()),
            epoch=state.epoch,
            clock_time=state.clock(now),
        )
        encoded = info.SerializeToString()
        reply.session_info = encoded
        reply.signature_data.session_info_tag.tag = session_info_tag(k, self.vin, challenge, encoded)

    def _encrypt(self, reply: um.RoutableMessage, state: DomainState, k: bytes, request_hash: bytes) -> None:
        """AES-GCM over the payload with AAD = SHA256(response metadata) (protocol.md, Response decryption)."""
        # A counter that grows with every encrypted answer is unique per request, as the client checks.
        state.responses_sent += 1
        fault = reply.signedMessageStatus.signed_message_fault
        meta = response_metadata(state.domain, self.vin, state.responses_sent, reply.flags, request_hash, fault)
        nonce = os.urandom(12)
        sealed = AESGCM(k).encrypt(nonce, reply.protobuf_message_as_bytes, hashlib.sha256(meta).digest())
        reply.protobuf_message_as_bytes = sealed[:-GCM_TAG_BYTES]
        response_data = reply.signature_data.AES_GCM_Response_data
        response_data.nonce = nonce
        response_data.counter = state.responses_sent
        response_data.tag = sealed[-GCM_TAG_BYTES:]


def _freshness_fault(
    state: DomainState, session: ClientSession, data: sig.HMAC_Personalized_Signature_Data, now: datetime
) -> int | None:
    """Epoch, expiry and counter checks that come before the tag, in verifier.go's order."""
    clock = state.clock(now)
    if data.epoch and not hmac.compare_digest(data.epoch, state.epoch):
        return um.MESSAGEFAULT_ERROR_INCORRECT_EPOCH
    if data.expires_at and data.expires_at < clock:
        return um.MESSAGEFAULT_ERROR_TIME_EXPIRED
    if data.expires_at > EPOCH_LENGTH_S:
        return um.MESSAGEFAULT_ERROR_BAD_PARAMETER
    # Without a fresh counter (0, or below the highest seen) a message may arrive out of order only
    # if it expires soon: a replay window an attacker could use stays short.
    if (data.counter == 0 or data.counter < session.counter) and (
        data.expires_at == 0 or data.expires_at - clock > MAX_SECONDS_WITHOUT_COUNTER
    ):
        return um.MESSAGEFAULT_ERROR_TIME_TO_LIVE_TOO_LONG
    return None


def _request_hash(domain: int, tag: bytes) -> bytes:
    """The signature type byte and the request's tag, cut to 16 bytes for VCSEC (protocol.md, Request hash)."""
    return bytes((sig.SIGNATURE_TYPE_HMAC_PERSONALIZED,)) + (tag[:16] if domain == VEHICLE_SECURITY else tag)


def _fault(reply: um.RoutableMessage, fault: int) -> um.RoutableMessage:
    reply.signedMessageStatus.operation_status = um.OPERATIONSTATUS_ERROR
    reply.signedMessageStatus.signed_message_fault = fault  # type: ignore[assignment]
    return reply
