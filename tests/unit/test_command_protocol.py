"""The command protocol's message code against the test vectors of vehicle-command's pkg/protocol/protocol.md.

Every hex string below is copied from protocol.md (or, where the document prints no value, built by
hand from its rules and labelled so). Expected values are computed here with hmac/hashlib/AESGCM
directly, never with the module under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tesla_protocol.command import car_server_pb2, signatures_pb2, universal_message_pb2, vcsec_pb2

from shared.tesla import command_protocol as cp
from shared.tesla.car_server_actions import action_for, command_result, days_mask

# --- protocol.md, "Test keys" -----------------------------------------------------------------------

VEHICLE_KEY = b"""-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIDRO5bRmp88e6xK29QMx2y5exYNO9fS+/P2MvlXCUo1woAoGCCqGSM49
AwEHoUQDQgAEx6H0cThIaqRymXFJSHjTOxok45Vx90im4WxZVbPYd9OmqqDpVRZk
dK9dMsQQ9DmiI0E3rRuwhf1OiBPJWPEdlw==
-----END EC PRIVATE KEY-----
"""
VEHICLE_PUB = b"""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEx6H0cThIaqRymXFJSHjTOxok45Vx
90im4WxZVbPYd9OmqqDpVRZkdK9dMsQQ9DmiI0E3rRuwhf1OiBPJWPEdlw==
-----END PUBLIC KEY-----
"""
CLIENT_KEY = b"""-----BEGIN EC PRIVATE KEY-----
MHcCAQEEICU4zcKal8GcHpmmN9bPT4yXDBGLVu3h5jI+bRYsSzDboAoGCCqGSM49
AwEHoUQDQgAEsra8aMLaBmXOZWgVWUmWxiOU7di+qQX+eBp1T+aoRacUMwkC8iXp
Jp1GbgWzSZgf2p2FzCPG+0RKpztikQXcbg==
-----END EC PRIVATE KEY-----
"""
CLIENT_PUB = b"""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsra8aMLaBmXOZWgVWUmWxiOU7di+
qQX+eBp1T+aoRacUMwkC8iXpJp1GbgWzSZgf2p2FzCPG+0RKpztikQXcbg==
-----END PUBLIC KEY-----
"""
V_PRIVATE = 0x344EE5B466A7CF1EEB12B6F50331DB2E5EC5834EF5F4BEFCFD8CBE55C2528D70
V_X = 0xC7A1F47138486AA4729971494878D33B1A24E39571F748A6E16C5955B3D877D3
V_Y = 0xA6AAA0E955166474AF5D32C410F439A2234137AD1BB085FD4E8813C958F11D97
V_ENCODED = bytes.fromhex(
    "04c7a1f47138486aa4729971494878d33b1a24e39571f748a6e16c5955b3d877d3"
    "a6aaa0e955166474af5d32c410f439a2234137ad1bb085fd4e8813c958f11d97"
)
C_PRIVATE = 0x2538CDC29A97C19C1E99A637D6CF4F8C970C118B56EDE1E6323E6D162C4B30DB
C_X = 0xB2B6BC68C2DA0665CE656815594996C62394EDD8BEA905FE781A754FE6A845A7
C_Y = 0x14330902F225E9269D466E05B349981FDA9D85CC23C6FB444AA73B629105DC6E
C_ENCODED = bytes.fromhex(
    "04b2b6bc68c2da0665ce656815594996c62394edd8bea905fe781a754fe6a845a7"
    "14330902f225e9269d466e05b349981fda9d85cc23c6fb444aa73b629105dc6e"
)

# --- protocol.md, "Handshake", "Key Agreement", "Response authentication" ------------------------------

VIN = "5YJ30123456789ABC"
K = bytes.fromhex("1b2fce19967b79db696f909cff89ea9a")
SESSION_INFO_KEY = bytes.fromhex("fceb679ee7bca756fcd441bf238bf2f338629b41d9eb9c67be1b32c9672ce300")
ROUTING_ADDRESS = bytes.fromhex("2c907bd76c640d360b3027dc7404efde")
HANDSHAKE_UUID = bytes.fromhex("1588d5a30eabc6f8fc9a951b11f6fd11")
SESSION_INFO = bytes.fromhex(
    "0806124104c7a1f47138486aa4729971494878d33b1a24e39571f748a6e16c5955b3d877d3a6aaa0e955166474af5d32"
    "c410f439a2234137ad1bb085fd4e8813c958f11d971a104c463f9cc0d3d26906e982ed224adde6255a0a0000"
)
EPOCH = bytes.fromhex("4c463f9cc0d3d26906e982ed224adde6")
SESSION_INFO_METADATA = bytes.fromhex(
    "000106021135594a333031323334353637383941424306101588d5a30eabc6f8fc9a951b11f6fd11ff"
)
SESSION_INFO_TAG = bytes.fromhex("996c1fe38331be138f8039c194b14db2198846ed7d8251e6749284d7b32ea002")

# --- protocol.md, "AES-GCM encryption" example ("Turn HVAC on") -----------------------------------------

HVAC_ON = bytes.fromhex("120452020801")
GCM_METADATA = bytes.fromhex(
    "000105010103021135594a333031323334353637383941424303104c463f9cc0d3d26906e982ed224adde6"
    "040400000a5f050400000007070400000002ff"
)
GCM_NONCE = bytes.fromhex("dbf79447fa156674dae1caed")
GCM_CIPHERTEXT = bytes.fromhex("38038e8c0f2e")
GCM_TAG = bytes.fromhex("c228e0ff64991481db3a7bbc133696c5")
COMMAND_UUID = bytes.fromhex("58406580528b6a5301391800b4fe9b99")
# The same example before the document added FLAG_ENCRYPT_RESPONSE (commit c901498): no flags item.
GCM_METADATA_NO_FLAGS = bytes.fromhex(
    "000105010103021135594a333031323334353637383941424303104c463f9cc0d3d26906e982ed224adde6040400000a5f050400000007ff"
)
GCM_TAG_NO_FLAGS = bytes.fromhex("8e128da165f162f4d7d2c8da866cf82a")


def client_key() -> ec.EllipticCurvePrivateKey:
    return cp.load_private_key(CLIENT_KEY)


def doc_handshake_response(**changes: bytes) -> bytes:
    """protocol.md's example handshake response, optionally with fields replaced."""
    fields = {"session_info": SESSION_INFO, "tag": SESSION_INFO_TAG, "request_uuid": HANDSHAKE_UUID, **changes}
    message = universal_message_pb2.RoutableMessage()
    message.to_destination.routing_address = ROUTING_ADDRESS
    message.from_destination.domain = universal_message_pb2.DOMAIN_INFOTAINMENT
    message.signature_data.session_info_tag.tag = fields["tag"]
    message.session_info = fields["session_info"]
    message.request_uuid = fields["request_uuid"]
    return message.SerializeToString()


# --- keys ---------------------------------------------------------------------------------------------


def test_test_keys_load_to_the_documented_scalars_and_points() -> None:
    for pem, public_pem, scalar, x, y, encoded in (
        (VEHICLE_KEY, VEHICLE_PUB, V_PRIVATE, V_X, V_Y, V_ENCODED),
        (CLIENT_KEY, CLIENT_PUB, C_PRIVATE, C_X, C_Y, C_ENCODED),
    ):
        key = cp.load_private_key(pem)
        numbers = key.private_numbers()
        assert (numbers.private_value, numbers.public_numbers.x, numbers.public_numbers.y) == (scalar, x, y)
        assert cp.public_key_bytes(key) == encoded
        public = serialization.load_pem_public_key(public_pem)
        assert isinstance(public, ec.EllipticCurvePublicKey)
        assert cp.public_key_bytes(public) == encoded


def test_load_private_key_accepts_pkcs8_too() -> None:
    pkcs8 = client_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert cp.public_key_bytes(cp.load_private_key(pkcs8)) == C_ENCODED


@pytest.mark.parametrize(
    "pem",
    [
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        CLIENT_KEY.replace(b"MHcCAQEEICU4", b"MHcCAQEEICU5"),
        CLIENT_PUB,
        b"not a key",
    ],
    ids=["rsa", "p384", "corrupt", "public-only", "garbage"],
)
def test_load_private_key_refuses_other_keys_without_quoting_them(pem: bytes) -> None:
    with pytest.raises(ValueError) as caught:
        cp.load_private_key(pem)
    message = str(caught.value)
    assert "MHcCAQ" not in message and "MIIE" not in message and "BEGIN" not in message
    assert caught.value.__cause__ is None


def test_shared_key_k_from_the_test_keys() -> None:
    assert cp.derive_shared_key(client_key(), V_ENCODED) == K
    # ECDH is symmetric: the vehicle derives the same K from the client's public key.
    assert cp.derive_shared_key(cp.load_private_key(VEHICLE_KEY), C_ENCODED) == K


def test_shared_key_refuses_a_point_that_is_not_uncompressed_p256() -> None:
    with pytest.raises(ValueError):
        cp.derive_shared_key(client_key(), V_ENCODED[:33])
    with pytest.raises(ValueError):
        cp.derive_shared_key(client_key(), b"\x04" + b"\x01" * 64)


# --- metadata serialization -----------------------------------------------------------------------------


def test_metadata_serialization_examples() -> None:
    assert cp.tlv(signatures_pb2.TAG_PERSONALIZATION, b"abc") == bytes.fromhex("0203616263")
    assert cp.tlv(signatures_pb2.TAG_COUNTER, cp.uint32(100)) == bytes.fromhex("050400000064")
    items: dict[int, bytes] = {signatures_pb2.TAG_COUNTER: cp.uint32(100), signatures_pb2.TAG_PERSONALIZATION: b"abc"}
    assert cp.serialize_metadata(items) == bytes.fromhex("0203616263050400000064FF")


def test_metadata_refuses_values_it_cannot_encode() -> None:
    with pytest.raises(ValueError):
        cp.tlv(signatures_pb2.TAG_PERSONALIZATION, b"x" * 256)
    with pytest.raises(ValueError):
        cp.uint32(2**32)


# --- message encoding -------------------------------------------------------------------------------------


def test_decoding_example_routable_message() -> None:
    tx = bytes.fromhex(
        "320208023a1212100a7962c10d38b61dd2a7722780a4f0969a031005514f57616bcc81a8ce0f9d7b48322952040a020805"
    )
    message = universal_message_pb2.RoutableMessage.FromString(tx)
    assert message.to_destination.domain == universal_message_pb2.DOMAIN_VEHICLE_SECURITY
    assert message.from_destination.routing_address == bytes.fromhex("0a7962c10d38b61dd2a7722780a4f096")
    assert message.protobuf_message_as_bytes == bytes.fromhex("0a020805")
    assert message.uuid == bytes.fromhex("05514f57616bcc81a8ce0f9d7b483229")
    inner = vcsec_pb2.UnsignedMessage.FromString(message.protobuf_message_as_bytes)
    assert inner.InformationRequest.informationRequestType == vcsec_pb2.INFORMATION_REQUEST_TYPE_GET_WHITELIST_INFO


def test_handshake_request_example() -> None:
    raw = cp.handshake_request(
        client_public_key=cp.public_key_bytes(client_key()), routing_address=ROUTING_ADDRESS, uuid=HANDSHAKE_UUID
    )
    message = universal_message_pb2.RoutableMessage.FromString(raw)
    assert message.to_destination.domain == universal_message_pb2.DOMAIN_INFOTAINMENT
    assert message.from_destination.routing_address == ROUTING_ADDRESS
    assert message.WhichOneof("payload") == "session_info_request"
    assert message.session_info_request.public_key == C_ENCODED
    assert message.uuid == HANDSHAKE_UUID
    assert not message.HasField("signature_data") and message.flags == 0


def test_handshake_request_refuses_ids_of_the_wrong_length() -> None:
    with pytest.raises(ValueError):
        cp.handshake_request(client_public_key=C_ENCODED, routing_address=ROUTING_ADDRESS, uuid=b"short")


# --- handshake response ------------------------------------------------------------------------------------


def test_session_info_decodes_as_documented() -> None:
    info = cp.SessionInfo.from_bytes(SESSION_INFO)
    assert (info.counter, info.public_key, info.epoch, info.clock_time) == (6, V_ENCODED, EPOCH, 2650)
    assert info.ok and info.handle is None


def test_session_info_key_metadata_and_tag_vectors() -> None:
    assert cp.session_info_key(K) == SESSION_INFO_KEY
    assert cp.session_info_metadata(VIN, HANDSHAKE_UUID) == SESSION_INFO_METADATA
    assert cp.session_info_tag(K, VIN, HANDSHAKE_UUID, SESSION_INFO) == SESSION_INFO_TAG


def test_verify_session_info_accepts_the_example_response() -> None:
    info, shared_key = cp.verify_session_info(
        doc_handshake_response(), private_key=client_key(), vin=VIN, request_uuid=HANDSHAKE_UUID
    )
    assert shared_key == K
    assert (info.counter, info.epoch, info.clock_time, info.public_key) == (6, EPOCH, 2650, V_ENCODED)
    parsed = universal_message_pb2.RoutableMessage.FromString(doc_handshake_response())
    assert cp.verify_session_info(parsed, private_key=client_key(), vin=VIN, request_uuid=HANDSHAKE_UUID)[1] == K


@pytest.mark.parametrize("position", [0, 1, 70, len(SESSION_INFO) - 3])
def test_verify_session_info_rejects_tampered_session_info(position: int) -> None:
    tampered = bytearray(SESSION_INFO)
    tampered[position] ^= 0x01
    with pytest.raises(cp.SessionInfoInvalid):
        cp.verify_session_info(
            doc_handshake_response(session_info=bytes(tampered)),
            private_key=client_key(),
            vin=VIN,
            request_uuid=HANDSHAKE_UUID,
        )


def test_verify_session_info_rejects_a_tampered_tag_wrong_uuid_or_wrong_vin() -> None:
    bad_tag = bytes([SESSION_INFO_TAG[0] ^ 0x80]) + SESSION_INFO_TAG[1:]
    other_uuid = bytes(16)
    with pytest.raises(cp.SessionInfoInvalid):
        cp.verify_session_info(
            doc_handshake_response(tag=bad_tag), private_key=client_key(), vin=VIN, request_uuid=HANDSHAKE_UUID
        )
    # The answer names the example request, we sent another one.
    with pytest.raises(cp.SessionInfoInvalid):
        cp.verify_session_info(doc_handshake_response(), private_key=client_key(), vin=VIN, request_uuid=other_uuid)
    # Even when a replayer rewrites request_uuid, the tag binds the challenge.
    with pytest.raises(cp.SessionInfoInvalid):
        cp.verify_session_info(
            doc_handshake_response(request_uuid=other_uuid), private_key=client_key(), vin=VIN, request_uuid=other_uuid
        )
    with pytest.raises(cp.SessionInfoInvalid):
        cp.verify_session_info(
            doc_handshake_response(), private_key=client_key(), vin="5YJ30123456789ABD", request_uuid=HANDSHAKE_UUID
        )


def test_verify_session_info_rejects_a_missing_tag_or_missing_info() -> None:
    with pytest.raises(cp.SessionInfoInvalid, match="tag"):
        cp.verify_session_info(
            doc_handshake_response(tag=b""), private_key=client_key(), vin=VIN, request_uuid=HANDSHAKE_UUID
        )
    message = universal_message_pb2.RoutableMessage(request_uuid=HANDSHAKE_UUID)
    with pytest.raises(cp.SessionInfoInvalid, match="no session info"):
        cp.verify_session_info(message, private_key=client_key(), vin=VIN, request_uuid=HANDSHAKE_UUID)
    with pytest.raises(cp.SessionInfoInvalid):
        cp.verify_session_info(b"\xff\xff\xff", private_key=client_key(), vin=VIN, request_uuid=HANDSHAKE_UUID)


def test_a_signed_message_fault_to_the_handshake_is_a_refusal() -> None:
    message = universal_message_pb2.RoutableMessage(request_uuid=HANDSHAKE_UUID)
    message.signedMessageStatus.operation_status = universal_message_pb2.OPERATIONSTATUS_ERROR
    message.signedMessageStatus.signed_message_fault = universal_message_pb2.MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID
    with pytest.raises(cp.VehicleRefused) as caught:
        cp.verify_session_info(message, private_key=client_key(), vin=VIN, request_uuid=HANDSHAKE_UUID)
    assert caught.value.fault == "MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID"
    assert cp.fault_kind(caught.value.fault) == "pair_key"


def test_a_key_not_on_whitelist_status_is_a_refusal() -> None:
    info = signatures_pb2.SessionInfo.FromString(SESSION_INFO)
    info.status = signatures_pb2.SESSION_INFO_STATUS_KEY_NOT_ON_WHITELIST
    with pytest.raises(cp.VehicleRefused) as caught:
        cp.verify_session_info(
            doc_handshake_response(session_info=info.SerializeToString()),
            private_key=client_key(),
            vin=VIN,
            request_uuid=HANDSHAKE_UUID,
        )
    assert caught.value.fault == cp.KEY_NOT_ON_WHITELIST
    assert cp.fault_kind(caught.value.fault) == "pair_key"


# --- authorizing commands -----------------------------------------------------------------------------------


def test_hvac_on_action_encoding() -> None:
    action = car_server_pb2.Action()
    action.vehicleAction.hvacAutoAction.power_on = True
    assert action.SerializeToString() == HVAC_ON


def test_command_metadata_of_the_aes_gcm_example() -> None:
    def metadata(flags: int) -> bytes:
        return cp.command_metadata(
            signature_type=signatures_pb2.SIGNATURE_TYPE_AES_GCM_PERSONALIZED,
            domain=universal_message_pb2.DOMAIN_INFOTAINMENT,
            vin=VIN,
            epoch=EPOCH,
            expires_at=2655,
            counter=7,
            flags=flags,
        )

    assert cp.FLAG_ENCRYPT_RESPONSE == 2
    assert metadata(cp.FLAG_ENCRYPT_RESPONSE) == GCM_METADATA
    # "Only included if non-zero": without flags the item is absent, as in the document's earlier example.
    assert metadata(0) == GCM_METADATA_NO_FLAGS


def test_aes_gcm_example_ciphertext_and_tag() -> None:
    # The document's nonce is printed, so encryption is deterministic: AAD = SHA256(M).
    sealed = AESGCM(K).encrypt(GCM_NONCE, HVAC_ON, hashlib.sha256(GCM_METADATA).digest())
    assert (sealed[:-16], sealed[-16:]) == (GCM_CIPHERTEXT, GCM_TAG)
    # Our decryption (used for responses) opens the example with the same AAD rule.
    opened = cp.open_aes_gcm(K, nonce=GCM_NONCE, ciphertext=GCM_CIPHERTEXT, tag=GCM_TAG, metadata=GCM_METADATA)
    assert opened == HVAC_ON
    opened = cp.open_aes_gcm(
        K, nonce=GCM_NONCE, ciphertext=GCM_CIPHERTEXT, tag=GCM_TAG_NO_FLAGS, metadata=GCM_METADATA_NO_FLAGS
    )
    assert opened == HVAC_ON
    with pytest.raises(cp.ResponseInvalid):
        cp.open_aes_gcm(K, nonce=GCM_NONCE, ciphertext=GCM_CIPHERTEXT, tag=GCM_TAG, metadata=GCM_METADATA_NO_FLAGS)


def test_request_hash_of_the_aes_gcm_example_message() -> None:
    message = universal_message_pb2.RoutableMessage()
    message.to_destination.domain = universal_message_pb2.DOMAIN_INFOTAINMENT
    message.from_destination.routing_address = ROUTING_ADDRESS
    message.protobuf_message_as_bytes = GCM_CIPHERTEXT
    message.signature_data.signer_identity.public_key = C_ENCODED
    gcm = message.signature_data.AES_GCM_Personalized_data
    gcm.epoch, gcm.nonce, gcm.counter, gcm.expires_at, gcm.tag = EPOCH, GCM_NONCE, 7, 2655, GCM_TAG
    message.flags = 2
    message.uuid = COMMAND_UUID
    assert cp.request_hash(message) == bytes([signatures_pb2.SIGNATURE_TYPE_AES_GCM_PERSONALIZED]) + GCM_TAG


# protocol.md prints no HMAC tag; this metadata is its table with SIGNATURE_TYPE_HMAC_PERSONALIZED (08)
# in the first item, built by hand.
HMAC_METADATA = bytes.fromhex(
    "000108"
    "010103"
    "021135594a333031323334353637383941424303104c463f9cc0d3d26906e982ed224adde6"
    "040400000a5f"
    "050400000007"
    "070400000002"
    "ff"
)


def doc_signed_command() -> bytes:
    return cp.signed_command(
        HVAC_ON,
        shared_key=K,
        client_public_key=C_ENCODED,
        vin=VIN,
        epoch=EPOCH,
        counter=7,
        expires_at=2655,
        routing_address=ROUTING_ADDRESS,
        uuid=COMMAND_UUID,
    )


def test_hmac_personalized_command_with_the_documents_values() -> None:
    expected_tag = hmac.new(
        hmac.new(K, b"authenticated command", hashlib.sha256).digest(), HMAC_METADATA + HVAC_ON, hashlib.sha256
    ).digest()
    message = universal_message_pb2.RoutableMessage.FromString(doc_signed_command())
    assert message.to_destination.domain == universal_message_pb2.DOMAIN_INFOTAINMENT
    assert message.from_destination.routing_address == ROUTING_ADDRESS
    assert message.protobuf_message_as_bytes == HVAC_ON
    assert message.signature_data.signer_identity.public_key == C_ENCODED
    assert message.signature_data.WhichOneof("sig_type") == "HMAC_Personalized_data"
    data = message.signature_data.HMAC_Personalized_data
    assert (data.epoch, data.counter, data.expires_at, data.tag) == (EPOCH, 7, 2655, expected_tag)
    assert (message.flags, message.uuid) == (2, COMMAND_UUID)
    assert cp.request_hash(message) == b"\x08" + expected_tag


def test_hmac_command_without_flags_leaves_them_out_of_the_metadata() -> None:
    metadata = HMAC_METADATA.replace(bytes.fromhex("070400000002"), b"")
    expected_tag = hmac.new(
        hmac.new(K, b"authenticated command", hashlib.sha256).digest(), metadata + HVAC_ON, hashlib.sha256
    ).digest()
    raw = cp.signed_command(
        HVAC_ON,
        shared_key=K,
        client_public_key=C_ENCODED,
        vin=VIN,
        epoch=EPOCH,
        counter=7,
        expires_at=2655,
        routing_address=ROUTING_ADDRESS,
        uuid=COMMAND_UUID,
        flags=0,
    )
    message = universal_message_pb2.RoutableMessage.FromString(raw)
    assert message.signature_data.HMAC_Personalized_data.tag == expected_tag and message.flags == 0


def test_signed_command_refuses_bad_session_values() -> None:
    kwargs = {
        "shared_key": K,
        "client_public_key": C_ENCODED,
        "vin": VIN,
        "epoch": EPOCH,
        "counter": 7,
        "expires_at": 2655,
        "routing_address": ROUTING_ADDRESS,
        "uuid": COMMAND_UUID,
    }
    for change in ({"counter": 0}, {"counter": 2**32}, {"expires_at": -1}, {"epoch": b"x"}, {"shared_key": b"k"}):
        with pytest.raises(ValueError):
            cp.signed_command(HVAC_ON, **{**kwargs, **change})  # type: ignore[arg-type]


# --- response handling ------------------------------------------------------------------------------------------

OK_RESPONSE = car_server_pb2.Response()
OK_RESPONSE.actionStatus.result = car_server_pb2.OPERATIONSTATUS_OK
OK_PAYLOAD = OK_RESPONSE.SerializeToString()


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag, len(value)]) + value


def vehicle_answer(
    request: bytes,
    *,
    payload: bytes = OK_PAYLOAD,
    encrypt: bool = True,
    counter: int = 1,
    fault: int = 0,
    nonce: bytes = bytes(range(12)),
    session_info: bytes | None = None,
    request_uuid: bytes | None = None,
) -> bytes:
    """What a car sends back, built here from protocol.md's rules without the module under test."""
    sent = universal_message_pb2.RoutableMessage.FromString(request)
    answer = universal_message_pb2.RoutableMessage()
    answer.to_destination.routing_address = sent.from_destination.routing_address
    answer.from_destination.domain = sent.to_destination.domain
    answer.request_uuid = sent.uuid if request_uuid is None else request_uuid
    answer.flags = 0
    if fault:
        answer.signedMessageStatus.operation_status = universal_message_pb2.OPERATIONSTATUS_ERROR
        answer.signedMessageStatus.signed_message_fault = fault  # type: ignore[assignment]
    if session_info is not None:
        metadata = b"\x00\x01\x06" + _tlv(2, VIN.encode()) + _tlv(6, sent.uuid) + b"\xff"
        key = hmac.new(K, b"session info", hashlib.sha256).digest()
        answer.session_info = session_info
        answer.signature_data.session_info_tag.tag = hmac.new(key, metadata + session_info, hashlib.sha256).digest()
        return answer.SerializeToString()
    if not encrypt:
        answer.protobuf_message_as_bytes = payload
        return answer.SerializeToString()
    request_hash = b"\x08" + sent.signature_data.HMAC_Personalized_data.tag
    metadata = (
        _tlv(0, b"\x09")
        + _tlv(1, bytes([sent.to_destination.domain]))
        + _tlv(2, VIN.encode())
        + _tlv(5, counter.to_bytes(4, "big"))
        + _tlv(7, answer.flags.to_bytes(4, "big"))
        + _tlv(8, request_hash)
        + _tlv(9, fault.to_bytes(4, "big"))
        + b"\xff"
    )
    sealed = AESGCM(K).encrypt(nonce, payload, hashlib.sha256(metadata).digest())
    answer.protobuf_message_as_bytes = sealed[:-16]
    gcm = answer.signature_data.AES_GCM_Response_data
    gcm.nonce, gcm.counter, gcm.tag = nonce, counter, sealed[-16:]
    return answer.SerializeToString()


def test_response_decryption_of_an_encrypted_answer() -> None:
    request = doc_signed_command()
    reply = cp.parse_command_response(vehicle_answer(request, counter=3), shared_key=K, vin=VIN, request=request)
    assert reply.fault is None and reply.operation_status == "OPERATIONSTATUS_OK"
    assert (reply.payload, reply.encrypted, reply.response_counter) == (OK_PAYLOAD, True, 3)
    assert reply.payload is not None and command_result(reply.payload) == {"result": True, "reason": ""}


def test_response_decryption_rejects_tampering_and_other_requests() -> None:
    request = doc_signed_command()
    answer = universal_message_pb2.RoutableMessage.FromString(vehicle_answer(request))
    tampered = universal_message_pb2.RoutableMessage()
    tampered.CopyFrom(answer)
    tampered.protobuf_message_as_bytes = (
        bytes([answer.protobuf_message_as_bytes[0] ^ 1]) + (answer.protobuf_message_as_bytes[1:])
    )
    with pytest.raises(cp.ResponseInvalid):
        cp.parse_command_response(tampered, shared_key=K, vin=VIN, request=request)
    # The counter and flags are authenticated too.
    for field, value in (("counter", 2), ("flags", 2)):
        changed = universal_message_pb2.RoutableMessage()
        changed.CopyFrom(answer)
        if field == "counter":
            changed.signature_data.AES_GCM_Response_data.counter = value
        else:
            changed.flags = value
        with pytest.raises(cp.ResponseInvalid):
            cp.parse_command_response(changed, shared_key=K, vin=VIN, request=request)
    # An answer encrypted for one request does not open as the answer to another (request hash).
    other = cp.signed_command(
        HVAC_ON,
        shared_key=K,
        client_public_key=C_ENCODED,
        vin=VIN,
        epoch=EPOCH,
        counter=8,
        expires_at=2655,
        routing_address=ROUTING_ADDRESS,
        uuid=COMMAND_UUID,
    )
    with pytest.raises(cp.ResponseInvalid):
        cp.parse_command_response(answer, shared_key=K, vin=VIN, request=other)
    with pytest.raises(cp.ResponseInvalid, match="another request"):
        cp.parse_command_response(
            vehicle_answer(request, request_uuid=bytes(16)), shared_key=K, vin=VIN, request=request
        )
    with pytest.raises(cp.ResponseInvalid, match="repeats"):
        cp.parse_command_response(answer, shared_key=K, vin=VIN, request=request, seen_counters={1})


def test_plaintext_answers_from_older_firmware_are_read_unless_encryption_is_required() -> None:
    request = doc_signed_command()
    raw = vehicle_answer(request, encrypt=False)
    reply = cp.parse_command_response(raw, shared_key=K, vin=VIN, request=request)
    assert (reply.payload, reply.encrypted) == (OK_PAYLOAD, False)
    with pytest.raises(cp.ResponseInvalid):
        cp.parse_command_response(raw, shared_key=K, vin=VIN, request=request, require_encryption=True)


def test_a_fault_comes_with_verified_session_info_or_none() -> None:
    request = doc_signed_command()
    fault = universal_message_pb2.MESSAGEFAULT_ERROR_INCORRECT_EPOCH
    raw = vehicle_answer(request, fault=fault, session_info=SESSION_INFO)
    reply = cp.parse_command_response(raw, shared_key=K, vin=VIN, request=request)
    assert reply.fault == "MESSAGEFAULT_ERROR_INCORRECT_EPOCH" and cp.fault_kind(reply.fault) == "resync"
    assert reply.session_info == cp.SessionInfo.from_bytes(SESSION_INFO)
    assert not reply.session_info_rejected and reply.payload is None
    tampered = universal_message_pb2.RoutableMessage.FromString(raw)
    tampered.session_info = SESSION_INFO[:-1] + b"\x01"
    reply = cp.parse_command_response(tampered, shared_key=K, vin=VIN, request=request)
    assert reply.fault == "MESSAGEFAULT_ERROR_INCORRECT_EPOCH"
    assert reply.session_info is None and reply.session_info_rejected


def test_encrypted_fault_answers_authenticate_the_fault() -> None:
    request = doc_signed_command()
    fault = universal_message_pb2.MESSAGEFAULT_ERROR_BUSY
    raw = vehicle_answer(request, fault=fault, payload=b"")
    reply = cp.parse_command_response(raw, shared_key=K, vin=VIN, request=request)
    assert reply.fault == "MESSAGEFAULT_ERROR_BUSY" and cp.fault_kind(reply.fault) == "transient"
    forged = universal_message_pb2.RoutableMessage.FromString(raw)
    forged.signedMessageStatus.signed_message_fault = universal_message_pb2.MESSAGEFAULT_ERROR_TIMEOUT
    with pytest.raises(cp.ResponseInvalid):
        cp.parse_command_response(forged, shared_key=K, vin=VIN, request=request)


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("MESSAGEFAULT_ERROR_INCORRECT_EPOCH", "resync"),
        ("MESSAGEFAULT_ERROR_TIME_EXPIRED", "resync"),
        ("MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER", "resync"),
        ("MESSAGEFAULT_ERROR_INVALID_SIGNATURE", "resync"),
        ("MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID", "pair_key"),
        (cp.KEY_NOT_ON_WHITELIST, "pair_key"),
        ("MESSAGEFAULT_ERROR_REMOTE_ACCESS_DISABLED", "owner"),
        ("MESSAGEFAULT_ERROR_BUSY", "transient"),
        ("MESSAGEFAULT_ERROR_TIMEOUT", "transient"),
        ("MESSAGEFAULT_ERROR_DECODING", "fail"),
        ("MESSAGEFAULT_ERROR_INSUFFICIENT_PRIVILEGES", "fail"),
    ],
)
def test_fault_kinds(fault: str, kind: str) -> None:
    assert cp.fault_kind(fault) == kind


def test_fleet_api_body_helpers() -> None:
    raw = doc_signed_command()
    body = cp.signed_command_body(raw)
    assert base64.b64decode(body["routable_message"]) == raw
    assert cp.signed_command_answer({"response": body["routable_message"]}) == raw
    for bad in ({"response": None}, {"response": "***"}, {}):
        with pytest.raises(cp.ResponseInvalid):
            cp.signed_command_answer(bad)


# --- CarServer actions ------------------------------------------------------------------------------------------


def test_charge_actions_encode_as_vehicle_command_builds_them() -> None:
    limit = car_server_pb2.Action.FromString(action_for("set_charge_limit", {"percent": 80}))
    assert limit.vehicleAction.chargingSetLimitAction.percent == 80
    start = car_server_pb2.Action.FromString(action_for("charge_start", {}))
    assert start.vehicleAction.chargingStartStopAction.WhichOneof("charging_action") == "start"
    stop = car_server_pb2.Action.FromString(action_for("charge_stop", {}))
    assert stop.vehicleAction.chargingStartStopAction.WhichOneof("charging_action") == "stop"
    remove = car_server_pb2.Action.FromString(action_for("remove_charge_schedule", {"id": 42}))
    assert remove.vehicleAction.removeChargeScheduleAction.id == 42


def test_add_charge_schedule_maps_the_rest_body() -> None:
    body = {
        "days_of_week": "Monday,tues, SAT",
        "enabled": True,
        "start_enabled": True,
        "start_time": 1380,
        "end_enabled": False,
        "end_time": 300,
        "lat": 52.25,
        "lon": 21.0,
        "one_time": True,
        "id": 1_700_000_000_123,
    }
    action = car_server_pb2.Action.FromString(action_for("add_charge_schedule", body))
    schedule = action.vehicleAction.addChargeScheduleAction
    assert schedule.days_of_week == 2 | 4 | 64
    assert (schedule.start_enabled, schedule.start_time, schedule.end_enabled, schedule.end_time) == (
        True,
        1380,
        False,
        300,
    )
    assert (schedule.enabled, schedule.one_time, schedule.id) == (True, True, 1_700_000_000_123)
    assert (schedule.latitude, schedule.longitude) == pytest.approx((52.25, 21.0))


def test_days_mask_is_the_proxys_table() -> None:
    assert days_mask("All") == 127 and days_mask("Weekdays") == 62
    assert days_mask("sun,mon,tues,wed,thurs,fri,sat") == 127
    assert days_mask("Sunday, Thursday") == 1 | 16
    for refused in ("Tue", "Thu", "Mon,", "", 5):
        with pytest.raises(ValueError):
            days_mask(refused)


@pytest.mark.parametrize(
    ("command", "body"),
    [
        ("honk_horn", {}),
        ("set_charge_limit", {}),
        ("set_charge_limit", {"percent": "80"}),
        ("set_charge_limit", {"percent": True}),
        ("set_charge_limit", {"percent": 80.5}),
        ("remove_charge_schedule", {}),
        ("add_charge_schedule", {"days_of_week": "All", "enabled": True, "start_enabled": True, "end_enabled": True}),
        (
            "add_charge_schedule",
            {
                "days_of_week": "All",
                "enabled": True,
                "start_enabled": True,
                "end_enabled": True,
                "lat": 1.0,
                "lon": 2.0,
            },
        ),
        (
            "add_charge_schedule",
            {
                "days_of_week": "All",
                "enabled": True,
                "start_enabled": 1,
                "end_enabled": True,
                "lat": 1.0,
                "lon": 2.0,
                "id": 3,
            },
        ),
        (
            "add_charge_schedule",
            {
                "days_of_week": "All",
                "enabled": True,
                "start_enabled": True,
                "start_time": 1440,
                "end_enabled": True,
                "lat": 1.0,
                "lon": 2.0,
                "id": 3,
            },
        ),
    ],
    ids=[
        "unknown",
        "no-percent",
        "string",
        "bool",
        "fraction",
        "no-id",
        "no-lat",
        "no-schedule-id",
        "int-not-bool",
        "minute-1440",
    ],
)
def test_action_for_refuses_unknown_commands_and_bad_bodies(command: str, body: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        action_for(command, body)


def test_command_result_maps_the_action_status() -> None:
    refused = car_server_pb2.Response()
    refused.actionStatus.result = car_server_pb2.OPERATIONSTATUS_ERROR
    refused.actionStatus.result_reason.plain_text = "already_set"
    assert command_result(refused.SerializeToString()) == {"result": False, "reason": "already_set"}
    assert command_result(OK_PAYLOAD) == {"result": True, "reason": ""}
    with pytest.raises(ValueError):
        command_result(b"\xff\xff")
