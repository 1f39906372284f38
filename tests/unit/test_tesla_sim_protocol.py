"""The simulated car's side of the Vehicle Command Protocol, and how today's cars take commands.

The car is checked against the test vectors published in teslamotors/vehicle-command
`pkg/protocol/protocol.md`, then over HTTP with a small signing client written here, from the same
spec, on purpose apart from both the simulator and `shared/tesla/` (the three meet only on the wire).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from flask.testing import FlaskClient
from tesla_protocol.command import car_server_pb2 as cs
from tesla_protocol.command import signatures_pb2 as sig
from tesla_protocol.command import universal_message_pb2 as um

from shared.clock import ManualClock
from simulator.tesla_sim import TeslaSim, create_app
from simulator.tesla_sim.car_protocol import (
    INFOTAINMENT,
    CarProtocol,
    ClientSession,
    command_metadata,
    shared_key,
    slide_window,
)

VIN = "5YJ3E7EB2NF000001"
START = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
API = f"/api/1/vehicles/{VIN}"
ENCRYPT = 1 << um.FLAG_ENCRYPT_RESPONSE

# ---- protocol.md's test keys and example values ------------------------------------------------------

DOC_VIN = "5YJ30123456789ABC"
DOC_VEHICLE_KEY = b"""-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIDRO5bRmp88e6xK29QMx2y5exYNO9fS+/P2MvlXCUo1woAoGCCqGSM49
AwEHoUQDQgAEx6H0cThIaqRymXFJSHjTOxok45Vx90im4WxZVbPYd9OmqqDpVRZk
dK9dMsQQ9DmiI0E3rRuwhf1OiBPJWPEdlw==
-----END EC PRIVATE KEY-----
"""
DOC_CLIENT_KEY = b"""-----BEGIN EC PRIVATE KEY-----
MHcCAQEEICU4zcKal8GcHpmmN9bPT4yXDBGLVu3h5jI+bRYsSzDboAoGCCqGSM49
AwEHoUQDQgAEsra8aMLaBmXOZWgVWUmWxiOU7di+qQX+eBp1T+aoRacUMwkC8iXp
Jp1GbgWzSZgf2p2FzCPG+0RKpztikQXcbg==
-----END EC PRIVATE KEY-----
"""
DOC_CLIENT_PUBLIC = bytes.fromhex(
    "04b2b6bc68c2da0665ce656815594996c62394edd8bea905fe781a754fe6a845a7"
    "14330902f225e9269d466e05b349981fda9d85cc23c6fb444aa73b629105dc6e"
)
DOC_K = bytes.fromhex("1b2fce19967b79db696f909cff89ea9a")
DOC_EPOCH = bytes.fromhex("4c463f9cc0d3d26906e982ed224adde6")
DOC_ROUTING_ADDRESS = bytes.fromhex("2c907bd76c640d360b3027dc7404efde")
DOC_HANDSHAKE_UUID = bytes.fromhex("1588d5a30eabc6f8fc9a951b11f6fd11")
DOC_SESSION_INFO = bytes.fromhex(
    "0806124104c7a1f47138486aa4729971494878d33b1a24e39571f748a6e16c5955b3d877d3a6aaa0e955166474af5d32c4"
    "10f439a2234137ad1bb085fd4e8813c958f11d971a104c463f9cc0d3d26906e982ed224adde6255a0a0000"
)
DOC_SESSION_INFO_TAG = bytes.fromhex("996c1fe38331be138f8039c194b14db2198846ed7d8251e6749284d7b32ea002")
DOC_COMMAND_METADATA = bytes.fromhex(
    "000105010103021135594a333031323334353637383941424303104c463f9cc0d3d26906e982ed224adde6"
    "040400000a5f050400000007070400000002ff"
)
DOC_HVAC_ON = bytes.fromhex("120452020801")


# ---- a signing client of the test's own, written from protocol.md -----------------------------------


def _public_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def _tlv_metadata(*items: tuple[int, bytes]) -> bytes:
    return b"".join(bytes((tag, len(value))) + value for tag, value in sorted(items)) + b"\xff"


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _key_agreement(private_key: ec.EllipticCurvePrivateKey, peer: bytes) -> bytes:
    secret = private_key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer))
    sha1 = hashes.Hash(hashes.SHA1())  # noqa: S303 - the protocol's key derivation
    sha1.update(secret)
    return sha1.finalize()[:16]


@dataclass
class Signed:
    """A request as sent, with the tag the client keeps to read the answer."""

    message: um.RoutableMessage
    tag: bytes


class SigningClient:
    """Just enough of a Vehicle Command Protocol client to drive the car: handshake, sign, read answers."""

    def __init__(self, vin: str, clock: ManualClock, key: ec.EllipticCurvePrivateKey | None = None) -> None:
        self.vin, self.clock = vin, clock
        self.key = key or ec.generate_private_key(ec.SECP256R1())
        self.public = _public_bytes(self.key)
        self.address = os.urandom(16)
        self.k = b""
        self.epoch = b""
        self.counter = 0
        self.clock_at_handshake = 0
        self.local_at_handshake = clock.now()

    def pem(self) -> bytes:
        return self.key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

    def _message(self) -> um.RoutableMessage:
        message = um.RoutableMessage(uuid=os.urandom(16))
        message.to_destination.domain = um.DOMAIN_INFOTAINMENT
        message.from_destination.routing_address = self.address
        return message

    def handshake(self) -> um.RoutableMessage:
        message = self._message()
        message.session_info_request.public_key = self.public
        return message

    def accept_session_info(self, reply: um.RoutableMessage, challenge: bytes) -> sig.SessionInfo:
        """Check the car's session info tag, then adopt its epoch, counter and clock."""
        info = sig.SessionInfo()
        info.ParseFromString(reply.session_info)
        k = _key_agreement(self.key, info.publicKey)
        meta = _tlv_metadata(
            (sig.TAG_SIGNATURE_TYPE, bytes((sig.SIGNATURE_TYPE_HMAC,))),
            (sig.TAG_PERSONALIZATION, self.vin.encode()),
            (sig.TAG_CHALLENGE, challenge),
        )
        expected = _hmac(_hmac(k, b"session info"), meta + reply.session_info)
        assert hmac.compare_digest(expected, reply.signature_data.session_info_tag.tag), "session info tag"
        if info.epoch != self.epoch:
            self.counter = info.counter  # only a new epoch may roll the counter back
        self.counter = max(self.counter, info.counter)
        self.k, self.epoch = k, info.epoch
        self.clock_at_handshake, self.local_at_handshake = info.clock_time, self.clock.now()
        return info

    def car_clock(self) -> int:
        return self.clock_at_handshake + int((self.clock.now() - self.local_at_handshake).total_seconds())

    def sign(
        self, action: cs.Action, *, expires_in: int = 30, flags: int = ENCRYPT, counter: int | None = None
    ) -> Signed:
        if counter is None:
            self.counter += 1
            counter = self.counter
        expires_at = self.car_clock() + expires_in
        message = self._message()
        message.protobuf_message_as_bytes = action.SerializeToString()
        message.flags = flags
        meta_items = [
            (sig.TAG_SIGNATURE_TYPE, bytes((sig.SIGNATURE_TYPE_HMAC_PERSONALIZED,))),
            (sig.TAG_DOMAIN, bytes((um.DOMAIN_INFOTAINMENT,))),
            (sig.TAG_PERSONALIZATION, self.vin.encode()),
            (sig.TAG_EPOCH, self.epoch),
            (sig.TAG_EXPIRES_AT, expires_at.to_bytes(4, "big")),
            (sig.TAG_COUNTER, counter.to_bytes(4, "big")),
        ]
        if flags:
            meta_items.append((sig.TAG_FLAGS, flags.to_bytes(4, "big")))
        tag = _hmac(
            _hmac(self.k, b"authenticated command"), _tlv_metadata(*meta_items) + message.protobuf_message_as_bytes
        )
        message.signature_data.signer_identity.public_key = self.public
        hmac_data = message.signature_data.HMAC_Personalized_data
        hmac_data.epoch, hmac_data.counter, hmac_data.expires_at, hmac_data.tag = self.epoch, counter, expires_at, tag
        return Signed(message, tag)

    def read(self, reply: um.RoutableMessage, sent: Signed) -> cs.Response:
        """The CarServer.Response in an answer, decrypted when the car encrypted it."""
        payload = reply.protobuf_message_as_bytes
        if reply.signature_data.HasField("AES_GCM_Response_data"):
            data = reply.signature_data.AES_GCM_Response_data
            meta = _tlv_metadata(
                (sig.TAG_SIGNATURE_TYPE, bytes((sig.SIGNATURE_TYPE_AES_GCM_RESPONSE,))),
                (sig.TAG_DOMAIN, bytes((reply.from_destination.domain,))),
                (sig.TAG_PERSONALIZATION, self.vin.encode()),
                (sig.TAG_COUNTER, data.counter.to_bytes(4, "big")),
                (sig.TAG_FLAGS, reply.flags.to_bytes(4, "big")),
                (sig.TAG_REQUEST_HASH, bytes((sig.SIGNATURE_TYPE_HMAC_PERSONALIZED,)) + sent.tag),
                (sig.TAG_FAULT, int(reply.signedMessageStatus.signed_message_fault).to_bytes(4, "big")),
            )
            payload = AESGCM(self.k).decrypt(data.nonce, payload + data.tag, hashlib.sha256(meta).digest())
        return cs.Response.FromString(payload)


def set_limit(percent: int) -> cs.Action:
    action = cs.Action()
    action.vehicleAction.chargingSetLimitAction.percent = percent
    return action


def fault_of(reply: um.RoutableMessage) -> str:
    return um.MessageFault_E.Name(reply.signedMessageStatus.signed_message_fault)


# ---- the published test vectors --------------------------------------------------------------------


def doc_car() -> CarProtocol:
    """The car of protocol.md's examples: its key, epoch, clock at 2650 s and counter 6 for the test client."""
    car = CarProtocol(DOC_VIN, START)
    state = car.domains[INFOTAINMENT]
    key = load_pem_private_key(DOC_VEHICLE_KEY, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    state.private_key, state.epoch, state.epoch_start = key, DOC_EPOCH, START - timedelta(seconds=2650)
    state.sessions[DOC_CLIENT_PUBLIC] = ClientSession(counter=6)
    car.enrolled.add(DOC_CLIENT_PUBLIC)
    return car


def test_the_car_derives_the_documented_shared_key() -> None:
    key = load_pem_private_key(DOC_VEHICLE_KEY, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert shared_key(key, DOC_CLIENT_PUBLIC) == DOC_K


def test_the_car_answers_the_documented_handshake_with_its_session_info_and_tag() -> None:
    request = um.RoutableMessage(uuid=DOC_HANDSHAKE_UUID)
    request.to_destination.domain = um.DOMAIN_INFOTAINMENT
    request.from_destination.routing_address = DOC_ROUTING_ADDRESS
    request.session_info_request.public_key = DOC_CLIENT_PUBLIC
    reply = doc_car().answer(request, START, lambda payload: b"")
    assert reply.session_info == DOC_SESSION_INFO
    assert reply.signature_data.session_info_tag.tag == DOC_SESSION_INFO_TAG
    assert reply.to_destination.routing_address == DOC_ROUTING_ADDRESS
    assert reply.from_destination.domain == um.DOMAIN_INFOTAINMENT
    assert reply.request_uuid == DOC_HANDSHAKE_UUID


def test_command_metadata_serializes_as_the_documented_example() -> None:
    meta = command_metadata(
        um.DOMAIN_INFOTAINMENT, DOC_VIN, DOC_EPOCH, 2655, 7, ENCRYPT, sig.SIGNATURE_TYPE_AES_GCM_PERSONALIZED
    )
    assert meta == DOC_COMMAND_METADATA
    # The same AAD rule (SHA256 of the metadata) reproduces the example's ciphertext and tag.
    sealed = AESGCM(DOC_K).encrypt(
        bytes.fromhex("dbf79447fa156674dae1caed"), DOC_HVAC_ON, hashlib.sha256(meta).digest()
    )
    assert sealed.hex() == "38038e8c0f2e" + "c228e0ff64991481db3a7bbc133696c5"


def test_the_documented_command_verifies_and_its_answer_decrypts_with_k() -> None:
    clock = ManualClock(START)
    key = load_pem_private_key(DOC_CLIENT_KEY, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    client = SigningClient(DOC_VIN, clock, key)
    client.k, client.epoch, client.counter, client.clock_at_handshake = DOC_K, DOC_EPOCH, 6, 2650
    sent = client.sign(cs.Action.FromString(DOC_HVAC_ON), expires_in=5)  # counter 7, expires at 2655
    executed: list[bytes] = []

    def execute(payload: bytes) -> bytes:
        executed.append(payload)
        return cs.Response(actionStatus=cs.ActionStatus(result=cs.OPERATIONSTATUS_OK)).SerializeToString()

    reply = doc_car().answer(sent.message, START, execute)
    assert executed == [DOC_HVAC_ON] and not reply.HasField("signedMessageStatus")
    assert reply.signature_data.HasField("AES_GCM_Response_data")
    assert client.read(reply, sent).actionStatus.result == cs.OPERATIONSTATUS_OK


def test_the_sliding_window_refuses_reused_and_too_old_counters() -> None:
    counter, window, ok = slide_window(0, 0, 1)
    assert (counter, window, ok) == (1, 0b1, True)
    counter, window, ok = slide_window(counter, window, 5)  # 2, 3 and 4 may still arrive
    assert (counter, ok) == (5, True)
    assert slide_window(counter, window, 5)[2] is False
    counter, window, ok = slide_window(counter, window, 3)
    assert ok and slide_window(counter, window, 3)[2] is False
    assert slide_window(counter, window, 1)[2] is False  # seen before the jump
    assert slide_window(40, 0, 7)[2] is False  # older than the 32 the window remembers


# ---- over HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sim(clock: ManualClock) -> TeslaSim:
    sim = TeslaSim(clock, refresh_token="rt-initial")
    sim.add_vehicle(VIN, asleep=False, charge_limit=80, plugged_in=True, battery_level=50)
    return sim


@pytest.fixture
def client(sim: TeslaSim) -> FlaskClient:
    return create_app(sim).test_client()


@pytest.fixture
def auth(client: FlaskClient) -> dict[str, str]:
    grant = client.post(
        "/oauth2/v3/token", data={"grant_type": "refresh_token", "client_id": "app", "refresh_token": "rt-initial"}
    ).get_json()
    return {"Authorization": f"Bearer {grant['access_token']}"}


@pytest.fixture
def car(sim: TeslaSim, clock: ManualClock) -> SigningClient:
    """A client whose key is the app's key, registered with the simulator (so enrolled on paired cars)."""
    signer = SigningClient(VIN, clock)
    sim.register_app_key(signer.pem())
    return signer


Send = Callable[[um.RoutableMessage], um.RoutableMessage]


@pytest.fixture
def send(client: FlaskClient, auth: dict[str, str]) -> Send:
    def post(message: um.RoutableMessage) -> um.RoutableMessage:
        answer = client.post(
            API + "/signed_command",
            json={"routable_message": base64.b64encode(message.SerializeToString()).decode()},
            headers=auth,
        )
        assert answer.status_code == 200, answer.get_json()
        return um.RoutableMessage.FromString(base64.b64decode(answer.get_json()["response"]))

    return post


def handshake(car: SigningClient, send: Send) -> sig.SessionInfo:
    request = car.handshake()
    reply = send(request)
    assert not reply.HasField("signedMessageStatus"), fault_of(reply)
    assert reply.request_uuid == request.uuid
    return car.accept_session_info(reply, request.uuid)


def test_a_signed_command_works_and_its_encrypted_answer_decrypts(
    car: SigningClient, send: Send, sim: TeslaSim
) -> None:
    info = handshake(car, send)
    assert info.clock_time > 0 and len(info.epoch) == 16 and info.counter == 0
    sent = car.sign(set_limit(70))
    reply = send(sent.message)
    assert reply.signature_data.HasField("AES_GCM_Response_data")  # 2024.44 honours FLAG_ENCRYPT_RESPONSE
    assert car.read(reply, sent).actionStatus.result == cs.OPERATIONSTATUS_OK
    assert sim.snapshot(VIN)["charge_limit"] == 70
    refused = car.sign(set_limit(70), flags=0)
    answer = car.read(send(refused.message), refused)  # without the flag the car answers in the clear
    assert answer.actionStatus.result == cs.OPERATIONSTATUS_ERROR
    assert answer.actionStatus.result_reason.plain_text == "already_set"


def test_signed_actions_map_to_the_cars_commands(car: SigningClient, send: Send, sim: TeslaSim) -> None:
    handshake(car, send)
    schedule = cs.Action()
    s = schedule.vehicleAction.addChargeScheduleAction
    s.id, s.days_of_week, s.enabled, s.start_enabled, s.start_time = 42, 62, True, True, 22 * 60
    s.end_enabled, s.end_time, s.latitude, s.longitude = True, 6 * 60, 52.2297, 21.0122
    sent = car.sign(schedule)
    assert car.read(send(sent.message), sent).actionStatus.result == cs.OPERATIONSTATUS_OK
    [stored] = sim.snapshot(VIN)["schedules"]
    assert (stored["id"], stored["days_of_week"], stored["start_time"]) == (42, 62, 1320)
    stop = cs.Action()
    stop.vehicleAction.chargingStartStopAction.stop.SetInParent()
    stopped = car.sign(stop)
    assert car.read(send(stopped.message), stopped).actionStatus.result == cs.OPERATIONSTATUS_ERROR  # not charging
    remove = cs.Action()
    remove.vehicleAction.removeChargeScheduleAction.id = 42
    removed = car.sign(remove)
    assert car.read(send(removed.message), removed).actionStatus.result == cs.OPERATIONSTATUS_OK
    assert sim.snapshot(VIN)["schedules"] == []


def test_a_tampered_command_is_refused_with_session_info_to_resync(
    car: SigningClient, send: Send, sim: TeslaSim
) -> None:
    handshake(car, send)
    sent = car.sign(set_limit(70))
    sent.message.protobuf_message_as_bytes = set_limit(100).SerializeToString()
    reply = send(sent.message)
    assert fault_of(reply) == "MESSAGEFAULT_ERROR_INVALID_SIGNATURE"
    assert reply.signedMessageStatus.operation_status == um.OPERATIONSTATUS_ERROR
    car.accept_session_info(reply, sent.message.uuid)  # the tag checks out: a client can resync
    assert sim.snapshot(VIN)["charge_limit"] == 80


def test_a_replayed_command_is_refused_and_acts_once(car: SigningClient, send: Send, sim: TeslaSim) -> None:
    handshake(car, send)
    sent = car.sign(set_limit(70))
    send(sent.message)
    sim.set_limit(VIN, 80)
    reply = send(sent.message)
    assert fault_of(reply) == "MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER"
    assert car.accept_session_info(reply, sent.message.uuid).counter == 1
    assert sim.snapshot(VIN)["charge_limit"] == 80


def test_an_expired_command_is_refused(car: SigningClient, send: Send, clock: ManualClock, sim: TeslaSim) -> None:
    handshake(car, send)
    sent = car.sign(set_limit(70), expires_in=10)
    clock.advance(timedelta(seconds=11))
    reply = send(sent.message)
    assert fault_of(reply) == "MESSAGEFAULT_ERROR_TIME_EXPIRED"
    assert sim.snapshot(VIN)["charge_limit"] == 80


def test_an_older_counter_needs_a_short_life(car: SigningClient, send: Send) -> None:
    handshake(car, send)
    late, early = car.sign(set_limit(60), counter=3), car.sign(set_limit(61), counter=2)
    late_long = car.sign(set_limit(62), counter=1, expires_in=300)
    assert car.read(send(late.message), late).actionStatus.result == cs.OPERATIONSTATUS_OK
    assert car.read(send(early.message), early).actionStatus.result == cs.OPERATIONSTATUS_OK  # out of order, fine
    assert fault_of(send(late_long.message)) == "MESSAGEFAULT_ERROR_TIME_TO_LIVE_TOO_LONG"


def test_after_a_car_restart_the_old_epoch_is_refused_and_the_client_resyncs(
    car: SigningClient, send: Send, sim: TeslaSim
) -> None:
    first = handshake(car, send)
    for percent in (60, 61, 62):
        send(car.sign(set_limit(percent)).message)
    sim.restart_car(VIN)
    stale = car.sign(set_limit(70))
    reply = send(stale.message)
    assert fault_of(reply) == "MESSAGEFAULT_ERROR_INCORRECT_EPOCH"
    fresh = car.accept_session_info(reply, stale.message.uuid)
    assert fresh.epoch != first.epoch and fresh.counter == 0
    retry = car.sign(set_limit(70))
    assert car.read(send(retry.message), retry).actionStatus.result == cs.OPERATIONSTATUS_OK
    assert sim.snapshot(VIN)["charge_limit"] == 70


def test_an_unknown_key_is_refused_at_the_handshake_and_for_commands(
    car: SigningClient, send: Send, clock: ManualClock
) -> None:
    handshake(car, send)
    stranger = SigningClient(VIN, clock)
    reply = send(stranger.handshake())
    assert fault_of(reply) == "MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID" and not reply.session_info
    stranger.k, stranger.epoch, stranger.clock_at_handshake = car.k, car.epoch, car.clock_at_handshake
    assert fault_of(send(stranger.sign(set_limit(70)).message)) == "MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID"


def test_pairing_the_key_decides_whether_the_car_knows_the_client(
    car: SigningClient, send: Send, sim: TeslaSim
) -> None:
    sim.unpair_key(VIN)
    assert fault_of(send(car.handshake())) == "MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID"
    sim.pair_key(VIN)
    handshake(car, send)


def test_old_firmware_refuses_charge_schedules_and_answers_in_the_clear(
    clock: ManualClock, client: FlaskClient, auth: dict[str, str], sim: TeslaSim, car: SigningClient
) -> None:
    old = "5YJ3E7EB2NF000009"
    sim.add_vehicle(old, preset="old_firmware", asleep=False)
    old_car = SigningClient(old, clock, car.key)

    def send_old(message: um.RoutableMessage) -> um.RoutableMessage:
        body = {"routable_message": base64.b64encode(message.SerializeToString()).decode()}
        answer = client.post(f"/api/1/vehicles/{old}/signed_command", json=body, headers=auth)
        return um.RoutableMessage.FromString(base64.b64decode(answer.get_json()["response"]))

    handshake(old_car, send_old)
    sent = old_car.sign(set_limit(70))
    reply = send_old(sent.message)
    assert not reply.signature_data.HasField("AES_GCM_Response_data")  # 2024.20 ignores the flag
    assert old_car.read(reply, sent).actionStatus.result == cs.OPERATIONSTATUS_OK
    schedule = cs.Action()
    schedule.vehicleAction.addChargeScheduleAction.id = 1
    assert fault_of(send_old(old_car.sign(schedule).message)) == "MESSAGEFAULT_ERROR_INVALID_COMMAND"


def test_a_sleeping_car_answers_408_and_every_answer_is_billed_as_a_command(
    car: SigningClient, send: Send, sim: TeslaSim, client: FlaskClient, auth: dict[str, str]
) -> None:
    handshake(car, send)
    send(car.sign(set_limit(70)).message)
    sim.force_sleep(VIN)
    asleep = client.post(
        API + "/signed_command",
        json={"routable_message": base64.b64encode(car.handshake().SerializeToString()).decode()},
        headers=auth,
    )
    assert asleep.status_code == 408
    assert asleep.get_json()["error"] == "vehicle unavailable: vehicle is offline or asleep"
    bad = client.post(API + "/signed_command", json={"routable_message": "not base64!"}, headers=auth)
    assert bad.status_code == 400
    counts = sim.counters()
    assert counts["commands"] == 4 and counts["handshakes"] == 2


# ---- today's cars: unsigned REST commands and the proxy path -------------------------------------------


def test_a_modern_car_refuses_unsigned_commands_with_teslas_exact_403(
    client: FlaskClient, auth: dict[str, str], sim: TeslaSim
) -> None:
    answer = client.post(API + "/command/set_charge_limit", json={"percent": 70}, headers=auth)
    assert answer.status_code == 403
    assert answer.get_json() == {
        "response": None,
        "error": "Tesla Vehicle Command Protocol required, please refer to the documentation here: "
        "https://developer.tesla.com/docs/fleet-api#2023-10-09-rest-api-vehicle-commands-endpoint-deprecation-warning",
        "error_description": "",
    }
    assert sim.snapshot(VIN)["charge_limit"] == 80 and sim.counters()["commands"] == 1


@pytest.mark.parametrize(
    ("preset", "status", "body"),
    [
        ("unsigned_hardlocked", 200, {"response": {"result": False, "reason": "unsigned_cmds_hardlocked"}}),
        ("legacy_model_s", 200, {"response": {"result": True, "reason": ""}}),
    ],
)
def test_unsigned_commands_by_kind_of_car(
    preset: str, status: int, body: dict[str, Any], client: FlaskClient, auth: dict[str, str], sim: TeslaSim
) -> None:
    other = "5YJSA1E2XLF000003"
    sim.add_vehicle(other, preset=preset, asleep=False)
    answer = client.post(f"/api/1/vehicles/{other}/command/set_charge_limit", json={"percent": 70}, headers=auth)
    assert (answer.status_code, answer.get_json()) == (status, body)


def test_the_proxy_signs_for_paired_cars_and_words_refusals_like_teslas_proxy(
    client: FlaskClient, auth: dict[str, str], sim: TeslaSim
) -> None:
    proxy = "/proxy" + API + "/command/set_charge_limit"
    assert client.post(proxy, json={"percent": 70}, headers=auth).get_json() == {
        "response": {"result": True, "reason": ""}
    }
    again = client.post(proxy, json={"percent": 70}, headers=auth)
    assert again.status_code == 200
    assert again.get_json() == {"response": {"result": False, "reason": "car could not execute command: already_set"}}
    sim.force_sleep(VIN)
    asleep = client.post(proxy, json={"percent": 75}, headers=auth)
    assert asleep.status_code == 500
    assert asleep.get_json()["error"] == "vehicle unavailable: vehicle is offline or asleep"
    bad = client.post(proxy, json={}, headers=auth)
    assert bad.status_code == 400 and bad.get_json()["error"] == "missing percent param"
    assert sim.counters()["commands"] == 3  # the 400 never reached Tesla; the 500 hid a billed 408


def test_the_proxy_fails_for_an_unpaired_key_and_for_schedules_on_old_firmware(
    client: FlaskClient, auth: dict[str, str], sim: TeslaSim
) -> None:
    unpaired, old = "5YJ3E7EB2NF000004", "5YJ3E7EB2NF000005"
    sim.add_vehicle(unpaired, preset="unpaired", asleep=False)
    sim.add_vehicle(old, preset="old_firmware", asleep=False)
    refused = client.post(f"/proxy/api/1/vehicles/{unpaired}/command/charge_start", json={}, headers=auth)
    assert refused.status_code == 500
    assert (
        refused.get_json()["error"] == "vehicle rejected request: your public key has not been paired with the vehicle"
    )
    schedule = {
        "id": 1,
        "days_of_week": "All",
        "enabled": True,
        "start_enabled": True,
        "start_time": 60,
        "end_enabled": False,
        "end_time": 0,
        "lat": 52.0,
        "lon": 21.0,
    }
    too_old = client.post(f"/proxy/api/1/vehicles/{old}/command/add_charge_schedule", json=schedule, headers=auth)
    assert too_old.status_code == 500 and too_old.get_json()["error"] == "MESSAGEFAULT_ERROR_INVALID_COMMAND"
    sim.pair_key(unpaired)
    paired = client.post(
        f"/proxy/api/1/vehicles/{unpaired}/command/set_charge_limit", json={"percent": 90}, headers=auth
    )
    assert paired.get_json() == {"response": {"result": True, "reason": ""}}


def test_the_app_key_must_be_a_p256_public_key(sim: TeslaSim) -> None:
    with pytest.raises(ValueError):
        sim.register_app_key(b"-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n")
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(ValueError, match="P-256"):
        sim.register_app_key(p384.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))


def test_the_simulated_car_shares_no_code_with_the_client_it_tests() -> None:
    """The car's side and shared/tesla/ meet only on the wire (STYLE.md, "New rooms")."""
    package = Path(__file__).resolve().parents[2] / "simulator" / "tesla_sim"
    offenders = []
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n == "shared.tesla" or n.startswith("shared.tesla.")]
    assert offenders == []
