"""Tesla Vehicle Command Protocol, client side: handshake, HMAC-personalized signing, answer checks.

Pure message code over bytes and keys — no I/O, no clock reads. It follows `pkg/protocol/protocol.md`
of teslamotors/vehicle-command and its Go reference (`internal/authentication`), and its tests replay
the document's vectors. The session store lives in `command_session.py`, the HTTP call in the Fleet
client.

We build on `tesla-protocol` (generated protobuf bindings only: synchronous, Python >= 3.10) and do
the cryptography here, so the session-info tag is checked before anything from the car is used;
`tesla-fleet-api` 1.5.0, its last release for Python < 3.13, is async and does not verify session info.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from tesla_protocol.command import signatures_pb2, universal_message_pb2

RoutableMessage = universal_message_pb2.RoutableMessage

DOMAIN_VEHICLE_SECURITY: int = universal_message_pb2.DOMAIN_VEHICLE_SECURITY
DOMAIN_INFOTAINMENT: int = universal_message_pb2.DOMAIN_INFOTAINMENT
# `Flags` enumerates bit positions; messages and metadata carry the mask (protocol.md: 1 << 1 = 2).
FLAG_ENCRYPT_RESPONSE: int = 1 << universal_message_pb2.FLAG_ENCRYPT_RESPONSE

ID_LENGTH = 16  # uuid, routing address and epoch are 16 random bytes
SHARED_KEY_LENGTH = 16
MAX_COUNTER = 0xFFFFFFFF
# The Go verifier refuses expiry times past its epoch length (crypto.go: epochLength = 2**30 s).
MAX_EXPIRES_AT = 1 << 30
GCM_NONCE_LENGTH = 12

_LABEL_SESSION_INFO = b"session info"
_LABEL_COMMAND = b"authenticated command"
_TAG_END = signatures_pb2.TAG_END

FaultKind = Literal["resync", "pair_key", "owner", "transient", "fail"]

# A session-info status the car may answer a handshake with; named like the fault it stands for.
KEY_NOT_ON_WHITELIST = "SESSION_INFO_STATUS_KEY_NOT_ON_WHITELIST"

# The remediation comments of MessageFault_E (universal_message.proto) sorted into what a client does.
# "Use included session info to update session and try again": the session is out of step.
RESYNC_FAULTS = frozenset(
    {
        "MESSAGEFAULT_ERROR_INCORRECT_EPOCH",
        "MESSAGEFAULT_ERROR_TIME_EXPIRED",
        "MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER",
        "MESSAGEFAULT_ERROR_INVALID_SIGNATURE",
        "MESSAGEFAULT_ERROR_REPEATED_COUNTER",
        "MESSAGEFAULT_ERROR_TIME_TO_LIVE_TOO_LONG",
    }
)
# The car does not (or no longer) accept our key: only pairing it again helps.
PAIR_KEY_FAULTS = frozenset(
    {"MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID", "MESSAGEFAULT_ERROR_INACTIVE_KEY", KEY_NOT_ON_WHITELIST}
)
# The owner switched remote access off in the car.
OWNER_FAULTS = frozenset({"MESSAGEFAULT_ERROR_REMOTE_ACCESS_DISABLED"})
# "Try again": a subsystem was busy, did not answer, or had not finished booting.
TRANSIENT_FAULTS = frozenset({"MESSAGEFAULT_ERROR_BUSY", "MESSAGEFAULT_ERROR_TIMEOUT", "MESSAGEFAULT_ERROR_INTERNAL"})


class CommandProtocolError(Exception):
    """The car's answer could not be parsed or authenticated; nothing in it may be used."""


class SessionInfoInvalid(CommandProtocolError):
    """Session info was missing, malformed, or its HMAC tag did not verify."""


class ResponseInvalid(CommandProtocolError):
    """A command answer belongs to another request, repeats a counter or does not decrypt."""


class VehicleRefused(Exception):
    """The car answered a handshake with a refusal; `fault` names it (see `fault_kind`)."""

    def __init__(self, fault: str) -> None:
        super().__init__(f"the vehicle refused the handshake: {fault}")
        self.fault = fault


def fault_kind(fault: str) -> FaultKind:
    """What a client does about a fault: resync and retry once, pair the key, ask the owner, wait, or give up."""
    if fault in RESYNC_FAULTS:
        return "resync"
    if fault in PAIR_KEY_FAULTS:
        return "pair_key"
    if fault in OWNER_FAULTS:
        return "owner"
    if fault in TRANSIENT_FAULTS:
        return "transient"
    return "fail"


# --- keys -----------------------------------------------------------------------------------------


def load_private_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    """The NIST P-256 command key from PEM (SEC1 or PKCS#8); ValueError otherwise, never quoting the key."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # `from None`: the parser's message is not shown, so no part of the key can reach a log.
        raise ValueError("the command key is not an unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("the command key must be a NIST P-256 (prime256v1) EC key")
    return key


def public_key_bytes(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """ENCODE_PUBLIC: the 65-byte uncompressed point 0x04 || X || Y."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def derive_shared_key(private_key: ec.EllipticCurvePrivateKey, vehicle_public_key: bytes) -> bytes:
    """K = SHA1(ECDH x-coordinate)[:16]; ValueError when the vehicle key is not an uncompressed P-256 point."""
    if len(vehicle_public_key) != 65 or vehicle_public_key[0] != 0x04:
        raise ValueError("the vehicle public key is not an uncompressed P-256 point")
    try:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), vehicle_public_key)
    except ValueError:
        raise ValueError("the vehicle public key is not a point on P-256") from None
    shared_x = private_key.exchange(ec.ECDH(), peer)
    # SHA1 because the vehicles use it; it only maps a random x-coordinate to a key, so its broken
    # collision resistance does not matter here (native.go says the same).
    digest = hashes.Hash(hashes.SHA1())  # noqa: S303 - mandated by the protocol, see above
    digest.update(shared_x)
    return digest.finalize()[:SHARED_KEY_LENGTH]


def session_info_key(shared_key: bytes) -> bytes:
    """SESSION_INFO_KEY = HMAC-SHA256(K, "session info")."""
    return hmac.new(shared_key, _LABEL_SESSION_INFO, hashlib.sha256).digest()


def command_key(shared_key: bytes) -> bytes:
    """K' = HMAC-SHA256(K, "authenticated command"), the key of command tags."""
    return hmac.new(shared_key, _LABEL_COMMAND, hashlib.sha256).digest()


# --- metadata -------------------------------------------------------------------------------------


def tlv(tag: int, value: bytes) -> bytes:
    """One metadata item: tag byte, length byte, value."""
    if not 0 <= tag < _TAG_END:
        raise ValueError("metadata tag out of range")
    if len(value) > 255:
        raise ValueError("metadata values are at most 255 bytes long")
    return bytes((tag, len(value))) + value


def uint32(value: int) -> bytes:
    """The 4-byte big-endian encoding metadata uses for integers."""
    if not 0 <= value <= MAX_COUNTER:
        raise ValueError("metadata integer out of the uint32 range")
    return struct.pack(">I", value)


def serialize_metadata(items: Mapping[int, bytes]) -> bytes:
    """TLV items sorted by tag, then the 0xFF terminator."""
    return b"".join(tlv(tag, items[tag]) for tag in sorted(items)) + bytes((_TAG_END,))


def session_info_metadata(vin: str, challenge: bytes) -> bytes:
    """Metadata authenticated with session info: signature type HMAC, the VIN, the request uuid."""
    return serialize_metadata(
        {
            signatures_pb2.TAG_SIGNATURE_TYPE: bytes((signatures_pb2.SIGNATURE_TYPE_HMAC,)),
            signatures_pb2.TAG_PERSONALIZATION: _vin_bytes(vin),
            signatures_pb2.TAG_CHALLENGE: challenge,
        }
    )


def session_info_tag(shared_key: bytes, vin: str, challenge: bytes, encoded_info: bytes) -> bytes:
    """The HMAC-SHA256 tag the car puts on session info answering the request with uuid `challenge`."""
    metadata = session_info_metadata(vin, challenge)
    return hmac.new(session_info_key(shared_key), metadata + encoded_info, hashlib.sha256).digest()


def command_metadata(
    *, signature_type: int, domain: int, vin: str, epoch: bytes, expires_at: int, counter: int, flags: int
) -> bytes:
    """Metadata M of a command; flags are included only when non-zero (protocol.md, peer.go)."""
    items: dict[int, bytes] = {
        signatures_pb2.TAG_SIGNATURE_TYPE: bytes((signature_type,)),
        signatures_pb2.TAG_DOMAIN: bytes((domain,)),
        signatures_pb2.TAG_PERSONALIZATION: _vin_bytes(vin),
        signatures_pb2.TAG_EPOCH: epoch,
        signatures_pb2.TAG_EXPIRES_AT: uint32(expires_at),
        signatures_pb2.TAG_COUNTER: uint32(counter),
    }
    if flags:
        items[signatures_pb2.TAG_FLAGS] = uint32(flags)
    return serialize_metadata(items)


def response_metadata(*, domain: int, vin: str, counter: int, flags: int, request_hash: bytes, fault: int) -> bytes:
    """Metadata of an encrypted answer; here flags are always included, and the fault too."""
    return serialize_metadata(
        {
            signatures_pb2.TAG_SIGNATURE_TYPE: bytes((signatures_pb2.SIGNATURE_TYPE_AES_GCM_RESPONSE,)),
            signatures_pb2.TAG_DOMAIN: bytes((domain,)),
            signatures_pb2.TAG_PERSONALIZATION: _vin_bytes(vin),
            signatures_pb2.TAG_COUNTER: uint32(counter),
            signatures_pb2.TAG_FLAGS: uint32(flags),
            signatures_pb2.TAG_REQUEST_HASH: request_hash,
            signatures_pb2.TAG_FAULT: uint32(fault),
        }
    )


def hmac_command_tag(shared_key: bytes, metadata: bytes, action: bytes) -> bytes:
    """tag = HMAC-SHA256(K', M || P)."""
    return hmac.new(command_key(shared_key), metadata + action, hashlib.sha256).digest()


def open_aes_gcm(shared_key: bytes, *, nonce: bytes, ciphertext: bytes, tag: bytes, metadata: bytes) -> bytes:
    """Decrypt with K, AAD = SHA256(metadata); ResponseInvalid when it does not authenticate."""
    if len(nonce) != GCM_NONCE_LENGTH or len(tag) != 16:
        raise ResponseInvalid("AES-GCM nonce or tag has the wrong length")
    # The AAD is the metadata's SHA256, as for requests (protocol.md) and in peer.go's responseMetadata.
    aad = hashlib.sha256(metadata).digest()
    try:
        return AESGCM(shared_key).decrypt(nonce, ciphertext + tag, aad)
    except InvalidTag:
        raise ResponseInvalid("the encrypted answer does not authenticate") from None


# --- session info ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionInfo:
    """A domain's session state: anti-replay counter, its public key, epoch and clock (seconds in epoch)."""

    counter: int
    public_key: bytes
    epoch: bytes
    clock_time: int
    status: str = "SESSION_INFO_STATUS_OK"
    handle: int | None = None

    @classmethod
    def from_bytes(cls, encoded: bytes) -> SessionInfo:
        """Decode a Signatures.SessionInfo; SessionInfoInvalid when it is not one."""
        try:
            info = signatures_pb2.SessionInfo.FromString(encoded)
        except DecodeError:
            raise SessionInfoInvalid("session info is not a SessionInfo message") from None
        try:
            status = signatures_pb2.Session_Info_Status.Name(info.status)
        except ValueError:
            status = f"SESSION_INFO_STATUS_{info.status}"
        return cls(
            counter=info.counter,
            public_key=info.publicKey,
            epoch=info.epoch,
            clock_time=info.clock_time,
            status=status,
            handle=info.handle or None,
        )

    @property
    def ok(self) -> bool:
        """True when the car accepts our key (status OK)."""
        return self.status == "SESSION_INFO_STATUS_OK"


def handshake_request(
    *, client_public_key: bytes, routing_address: bytes, uuid: bytes, domain: int = DOMAIN_INFOTAINMENT
) -> bytes:
    """A serialized RoutableMessage asking `domain` for session info."""
    _check_id("routing_address", routing_address)
    _check_id("uuid", uuid)
    message = RoutableMessage()
    message.to_destination.domain = domain  # type: ignore[assignment]
    message.from_destination.routing_address = routing_address
    message.session_info_request.public_key = client_public_key
    message.uuid = uuid
    return message.SerializeToString()


def verify_session_info(
    response: bytes | universal_message_pb2.RoutableMessage,
    *,
    private_key: ec.EllipticCurvePrivateKey,
    vin: str,
    request_uuid: bytes,
) -> tuple[SessionInfo, bytes]:
    """Session info and K from a handshake answer whose tag verified; VehicleRefused or SessionInfoInvalid if not."""
    message = _parse(response, SessionInfoInvalid)
    fault = message.signedMessageStatus.signed_message_fault
    if fault:
        raise VehicleRefused(_fault_name(fault))
    if message.request_uuid and not hmac.compare_digest(message.request_uuid, request_uuid):
        raise SessionInfoInvalid("the session info answers another request")
    encoded, tag = _session_info_and_tag(message)
    if encoded is None:
        raise SessionInfoInvalid("the answer carries no session info")
    info = SessionInfo.from_bytes(encoded)
    if not info.ok:
        # A refusal is believed without its tag, as the Go client does (protocol/error.go): a forged
        # refusal gives an attacker nothing that dropping the answer would not.
        raise VehicleRefused(info.status)
    if tag is None:
        raise SessionInfoInvalid("the session info has no authentication tag")
    try:
        shared_key = derive_shared_key(private_key, info.public_key)
    except ValueError:
        raise SessionInfoInvalid("the session info carries an invalid vehicle public key") from None
    expected = session_info_tag(shared_key, vin, request_uuid, encoded)
    if not hmac.compare_digest(expected, tag):
        raise SessionInfoInvalid("the session info tag does not verify")
    return info, shared_key


# --- commands -------------------------------------------------------------------------------------


def signed_command(
    action: bytes,
    *,
    shared_key: bytes,
    client_public_key: bytes,
    vin: str,
    epoch: bytes,
    counter: int,
    expires_at: int,
    routing_address: bytes,
    uuid: bytes,
    domain: int = DOMAIN_INFOTAINMENT,
    flags: int = FLAG_ENCRYPT_RESPONSE,
) -> bytes:
    """A serialized RoutableMessage carrying `action` with an HMAC-SHA256 personalized signature."""
    _check_id("routing_address", routing_address)
    _check_id("uuid", uuid)
    if len(shared_key) != SHARED_KEY_LENGTH:
        raise ValueError("the shared key K is 16 bytes")
    if len(epoch) != ID_LENGTH:
        raise ValueError("the epoch is 16 bytes")
    if not 1 <= counter <= MAX_COUNTER:
        raise ValueError("the counter must be between 1 and 2**32 - 1")
    if not 0 <= expires_at <= MAX_EXPIRES_AT:
        raise ValueError("expires_at is out of range")
    metadata = command_metadata(
        signature_type=signatures_pb2.SIGNATURE_TYPE_HMAC_PERSONALIZED,
        domain=domain,
        vin=vin,
        epoch=epoch,
        expires_at=expires_at,
        counter=counter,
        flags=flags,
    )
    message = RoutableMessage()
    message.to_destination.domain = domain  # type: ignore[assignment]
    message.from_destination.routing_address = routing_address
    message.protobuf_message_as_bytes = action
    signature = message.signature_data
    signature.signer_identity.public_key = client_public_key
    hmac_data = signature.HMAC_Personalized_data
    hmac_data.epoch = epoch
    hmac_data.counter = counter
    hmac_data.expires_at = expires_at
    hmac_data.tag = hmac_command_tag(shared_key, metadata, action)
    message.uuid = uuid
    message.flags = flags
    return message.SerializeToString()


def request_hash(request: bytes | universal_message_pb2.RoutableMessage) -> bytes:
    """Signature type byte || the request's tag (16 bytes of it for VCSEC), binding an answer to its request."""
    message = _parse(request, ValueError)
    signature = message.signature_data
    kind = signature.WhichOneof("sig_type")
    if kind == "HMAC_Personalized_data":
        tag = signature.HMAC_Personalized_data.tag
        if message.to_destination.domain == DOMAIN_VEHICLE_SECURITY:
            tag = tag[:16]
        return bytes((signatures_pb2.SIGNATURE_TYPE_HMAC_PERSONALIZED,)) + tag
    if kind == "AES_GCM_Personalized_data":
        return bytes((signatures_pb2.SIGNATURE_TYPE_AES_GCM_PERSONALIZED,)) + signature.AES_GCM_Personalized_data.tag
    raise ValueError("the request carries no personalized signature")


@dataclass(frozen=True)
class CommandReply:
    """The car's answer to a signed command.

    `fault` is the MessageFault_E name (None when the car accepted the message); `session_info` is
    fresh session state that came with it and verified; `session_info_rejected` says session info came
    but failed verification and was discarded. `payload` is the CarServer.Response bytes (decrypted
    when `encrypted`); `response_counter` is the encrypted answer's counter.
    """

    fault: str | None
    operation_status: str
    session_info: SessionInfo | None
    session_info_rejected: bool
    payload: bytes | None
    encrypted: bool
    response_counter: int | None


def parse_command_response(
    raw: bytes | universal_message_pb2.RoutableMessage,
    *,
    shared_key: bytes,
    vin: str,
    request: bytes | universal_message_pb2.RoutableMessage,
    seen_counters: Collection[int] = (),
    require_encryption: bool = False,
) -> CommandReply:
    """Check that `raw` answers `request`, verify any session info, decrypt the payload; ResponseInvalid if not."""
    sent = _parse(request, ValueError)
    message = _parse(raw, ResponseInvalid)
    # The car copies the uuid and swaps source and destination (protocol.md); the Go dispatcher drops
    # anything else, and so do we.
    if not hmac.compare_digest(message.request_uuid, sent.uuid):
        raise ResponseInvalid("the answer belongs to another request")
    domain = sent.to_destination.domain
    if message.from_destination.WhichOneof("sub_destination") != "domain" or message.from_destination.domain != domain:
        raise ResponseInvalid("the answer does not come from the domain the command went to")
    if message.to_destination.routing_address != sent.from_destination.routing_address:
        raise ResponseInvalid("the answer is addressed to another client")

    fault_number = message.signedMessageStatus.signed_message_fault
    session_info: SessionInfo | None = None
    rejected = False
    encoded, tag = _session_info_and_tag(message)
    if encoded is not None:
        # Checked exactly like a handshake answer; info that fails is discarded (protocol.md, resync).
        expected = session_info_tag(shared_key, vin, sent.uuid, encoded)
        if tag is not None and hmac.compare_digest(expected, tag):
            session_info = SessionInfo.from_bytes(encoded)
        else:
            rejected = True

    payload: bytes | None = None
    encrypted = False
    counter: int | None = None
    if message.signature_data.WhichOneof("sig_type") == "AES_GCM_Response_data":
        gcm = message.signature_data.AES_GCM_Response_data
        counter = gcm.counter
        if counter in seen_counters:
            raise ResponseInvalid("the answer repeats a response counter")
        metadata = response_metadata(
            domain=domain,
            vin=vin,
            counter=counter,
            flags=message.flags,
            request_hash=request_hash(sent),
            fault=fault_number,
        )
        payload = open_aes_gcm(
            shared_key, nonce=gcm.nonce, ciphertext=message.protobuf_message_as_bytes, tag=gcm.tag, metadata=metadata
        )
        encrypted = True
    elif message.WhichOneof("payload") == "protobuf_message_as_bytes":
        if require_encryption:
            raise ResponseInvalid("the answer is not encrypted")
        # Firmware before 2024.38 ignores FLAG_ENCRYPT_RESPONSE and answers in plaintext (protocol.md).
        payload = message.protobuf_message_as_bytes

    return CommandReply(
        fault=_fault_name(fault_number) if fault_number else None,
        operation_status=_operation_status_name(message.signedMessageStatus.operation_status),
        session_info=session_info,
        session_info_rejected=rejected,
        payload=payload,
        encrypted=encrypted,
        response_counter=counter,
    )


# --- Fleet API body helpers -----------------------------------------------------------------------


def signed_command_body(message: bytes) -> dict[str, str]:
    """The JSON body of POST /api/1/vehicles/{vin}/signed_command."""
    return {"routable_message": base64.b64encode(message).decode("ascii")}


def signed_command_answer(body: Mapping[str, Any]) -> bytes:
    """The RoutableMessage bytes in a signed_command answer `{"response": <base64>}`; ResponseInvalid if absent."""
    encoded = body.get("response")
    if not isinstance(encoded, str) or not encoded:
        raise ResponseInvalid("the signed_command answer has no base64 response")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ResponseInvalid("the signed_command answer is not valid base64") from None


# --- helpers --------------------------------------------------------------------------------------


def _parse(
    data: bytes | universal_message_pb2.RoutableMessage, error: type[Exception]
) -> universal_message_pb2.RoutableMessage:
    if isinstance(data, RoutableMessage):
        return data
    try:
        return RoutableMessage.FromString(bytes(data))
    except DecodeError:
        raise error("not a RoutableMessage") from None


def _session_info_and_tag(message: universal_message_pb2.RoutableMessage) -> tuple[bytes | None, bytes | None]:
    encoded = message.session_info if message.WhichOneof("payload") == "session_info" else None
    has_tag = message.signature_data.WhichOneof("sig_type") == "session_info_tag"
    tag = message.signature_data.session_info_tag.tag if has_tag else None
    return encoded, tag or None


def _fault_name(number: int) -> str:
    try:
        return universal_message_pb2.MessageFault_E.Name(number)  # type: ignore[arg-type]
    except ValueError:
        return f"MESSAGEFAULT_{number}"


def _operation_status_name(number: int) -> str:
    try:
        return universal_message_pb2.OperationStatus_E.Name(number)  # type: ignore[arg-type]
    except ValueError:
        return f"OPERATIONSTATUS_{number}"


def _vin_bytes(vin: str) -> bytes:
    if not vin or not vin.isascii():
        raise ValueError("the VIN must be non-empty ASCII")
    return vin.encode("ascii")


def _check_id(name: str, value: bytes) -> None:
    if len(value) != ID_LENGTH:
        raise ValueError(f"{name} must be {ID_LENGTH} bytes")
