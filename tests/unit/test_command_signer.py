"""CommandSigner against an in-memory store and a small stand-in for the car's infotainment domain.

`FakeInfotainment` copies the vehicle side of vehicle-command's protocol.md and its Go verifier
(internal/authentication/verifier.go): it answers handshakes with tagged session info, checks epoch,
expiry, the HMAC tag and the counter window of each signed command, answers protocol faults with
fresh session info, and encrypts answers when FLAG_ENCRYPT_RESPONSE is set. It is written from the
document with hmac/hashlib/AESGCM directly, not with the module under test.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tesla_protocol.command import car_server_pb2, signatures_pb2, universal_message_pb2

from shared.clock import ManualClock
from shared.tesla.command_session import COLLECTION, CommandSigner
from shared.tesla.errors import KeyNotPaired, SignedCommandFault, TeslaError, TeslaUnavailable
from tests.fakes.stores import InMemoryDocumentStore

VIN = "5YJ3E7EB2NF000001"
DOC_ID = f"{VIN}-infotainment"
START = datetime(2025, 3, 1, 22, 0, tzinfo=UTC)
# protocol.md's test keys ("do not use except to debug implementations").
VEHICLE_KEY = b"""-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIDRO5bRmp88e6xK29QMx2y5exYNO9fS+/P2MvlXCUo1woAoGCCqGSM49
AwEHoUQDQgAEx6H0cThIaqRymXFJSHjTOxok45Vx90im4WxZVbPYd9OmqqDpVRZk
dK9dMsQQ9DmiI0E3rRuwhf1OiBPJWPEdlw==
-----END EC PRIVATE KEY-----
"""
CLIENT_KEY = b"""-----BEGIN EC PRIVATE KEY-----
MHcCAQEEICU4zcKal8GcHpmmN9bPT4yXDBGLVu3h5jI+bRYsSzDboAoGCCqGSM49
AwEHoUQDQgAEsra8aMLaBmXOZWgVWUmWxiOU7di+qQX+eBp1T+aoRacUMwkC8iXp
Jp1GbgWzSZgf2p2FzCPG+0RKpztikQXcbg==
-----END EC PRIVATE KEY-----
"""
CLIENT_PUBLIC = bytes.fromhex(
    "04b2b6bc68c2da0665ce656815594996c62394edd8bea905fe781a754fe6a845a7"
    "14330902f225e9269d466e05b349981fda9d85cc23c6fb444aa73b629105dc6e"
)
K_HEX = "1b2fce19967b79db696f909cff89ea9a"  # K of the two test keys (protocol.md)
CLIENT_SCALAR_HEX = "2538cdc29a97c19c1e99a637d6cf4f8c970c118b56ede1e6323e6d162c4b30db"
FAULTS = universal_message_pb2.MessageFault_E
WINDOW = 32  # infotainment's sliding counter window (window.go)


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag, len(value)]) + value


def _u32(value: int) -> bytes:
    return value.to_bytes(4, "big")


class FakeInfotainment:
    """The car's infotainment domain for one VIN; callable as the signer's `send(vin, message)`."""

    def __init__(self, clock: ManualClock, *, paired: bool = True, refuse_with_status: bool = False) -> None:
        key = serialization.load_pem_private_key(VEHICLE_KEY, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self.key = key
        self.public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.clock = clock
        self.paired = {CLIENT_PUBLIC} if paired else set()
        self.refuse_with_status = refuse_with_status
        self.lock = threading.Lock()
        self.sent: list[str] = []
        self.accepted: list[int] = []
        self.encrypted_answers = 0
        self.encrypt = True
        self.charge_limit = 80
        # (fault, with session info, tamper with the tag, counter to report) for the next commands, in order.
        self.forced: list[tuple[int, bool, bool, int | None]] = []
        self.boot(clock_time=5000)

    def boot(self, clock_time: int = 0) -> None:
        """A (re)boot: new epoch, counter back to zero, clock at clock_time."""
        self.epoch = os.urandom(16)
        self.counter = 0
        self.window: set[int] = set()
        self.response_counter = 0
        self.zero = self.clock.now() - timedelta(seconds=clock_time)

    def skew(self, seconds: int) -> None:
        """Move the car's clock ahead of ours."""
        self.zero -= timedelta(seconds=seconds)

    def force(
        self,
        fault: int,
        *,
        times: int = 1,
        with_info: bool = True,
        tamper: bool = False,
        info_counter: int | None = None,
    ) -> None:
        """Answer the next commands with this fault; info_counter makes the session info look delayed."""
        self.forced.extend([(fault, with_info, tamper, info_counter)] * times)

    def now(self) -> int:
        return int((self.clock.now() - self.zero).total_seconds())

    def count(self, kind: str) -> int:
        return self.sent.count(kind)

    def shared_key(self, client_public: bytes) -> bytes:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), client_public)
        digest = hashes.Hash(hashes.SHA1())  # noqa: S303 - K's derivation in protocol.md
        digest.update(self.key.exchange(ec.ECDH(), peer))
        return digest.finalize()[:16]

    def __call__(self, vin: str, raw: bytes) -> bytes:
        assert vin == VIN
        with self.lock:
            request = universal_message_pb2.RoutableMessage.FromString(raw)
            assert request.to_destination.domain == universal_message_pb2.DOMAIN_INFOTAINMENT
            answer = universal_message_pb2.RoutableMessage()
            answer.to_destination.routing_address = request.from_destination.routing_address
            answer.from_destination.domain = universal_message_pb2.DOMAIN_INFOTAINMENT
            answer.request_uuid = request.uuid
            if request.WhichOneof("payload") == "session_info_request":
                self.sent.append("handshake")
                self._handshake(request, answer)
            else:
                self.sent.append("command")
                self._command(request, answer)
            return answer.SerializeToString()

    def _session_info(
        self, answer: universal_message_pb2.RoutableMessage, client: bytes, challenge: bytes, counter: int | None = None
    ) -> None:
        info = signatures_pb2.SessionInfo(
            counter=self.counter if counter is None else counter,
            publicKey=self.public,
            epoch=self.epoch,
            clock_time=self.now(),
        )
        encoded = info.SerializeToString()
        metadata = b"\x00\x01\x06" + _tlv(2, VIN.encode()) + _tlv(6, challenge) + b"\xff"
        key = hmac.new(self.shared_key(client), b"session info", hashlib.sha256).digest()
        answer.session_info = encoded
        answer.signature_data.session_info_tag.tag = hmac.new(key, metadata + encoded, hashlib.sha256).digest()

    def _fault(self, answer: universal_message_pb2.RoutableMessage, fault: int) -> None:
        answer.signedMessageStatus.operation_status = universal_message_pb2.OPERATIONSTATUS_ERROR
        answer.signedMessageStatus.signed_message_fault = fault  # type: ignore[assignment]

    def _handshake(
        self, request: universal_message_pb2.RoutableMessage, answer: universal_message_pb2.RoutableMessage
    ) -> None:
        client = request.session_info_request.public_key
        if client not in self.paired and not self.refuse_with_status:
            self._fault(answer, FAULTS.Value("MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID"))
            return
        self._session_info(answer, client, request.uuid)
        if client not in self.paired:
            info = signatures_pb2.SessionInfo.FromString(answer.session_info)
            info.status = signatures_pb2.SESSION_INFO_STATUS_KEY_NOT_ON_WHITELIST
            answer.session_info = info.SerializeToString()

    def _command(
        self, request: universal_message_pb2.RoutableMessage, answer: universal_message_pb2.RoutableMessage
    ) -> None:
        client = request.signature_data.signer_identity.public_key
        if client not in self.paired:
            self._fault(answer, FAULTS.Value("MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID"))
            return
        assert request.signature_data.WhichOneof("sig_type") == "HMAC_Personalized_data"
        data = request.signature_data.HMAC_Personalized_data
        key = self.shared_key(client)
        metadata = (
            _tlv(0, b"\x08")
            + _tlv(1, b"\x03")
            + _tlv(2, VIN.encode())
            + _tlv(3, data.epoch)
            + _tlv(4, _u32(data.expires_at))
            + _tlv(5, _u32(data.counter))
            + (_tlv(7, _u32(request.flags)) if request.flags else b"")
            + b"\xff"
        )
        command_key = hmac.new(key, b"authenticated command", hashlib.sha256).digest()
        expected = hmac.new(command_key, metadata + request.protobuf_message_as_bytes, hashlib.sha256).digest()
        fault = None
        with_info, tamper, info_counter = True, False, None
        if self.forced:
            forced, with_info, tamper, info_counter = self.forced.pop(0)
            fault = FAULTS.Name(forced)  # type: ignore[arg-type]
        elif data.epoch != self.epoch:
            fault = "MESSAGEFAULT_ERROR_INCORRECT_EPOCH"
        elif data.expires_at < self.now():
            fault = "MESSAGEFAULT_ERROR_TIME_EXPIRED"
        elif data.expires_at - self.now() > 60:
            fault = "MESSAGEFAULT_ERROR_TIME_TO_LIVE_TOO_LONG"
        elif not hmac.compare_digest(expected, data.tag):
            fault = "MESSAGEFAULT_ERROR_INVALID_SIGNATURE"
        elif data.counter in self.window or data.counter + WINDOW <= self.counter:
            fault = "MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER"
        if fault is not None:
            self._fault(answer, FAULTS.Value(fault))
            if with_info:
                self._session_info(answer, client, request.uuid, info_counter)
                if tamper:
                    answer.session_info = answer.session_info[:-1] + b"\x07"
            return
        self.window.add(data.counter)
        self.counter = max(self.counter, data.counter)
        self.accepted.append(data.counter)
        payload = self._execute(car_server_pb2.Action.FromString(request.protobuf_message_as_bytes))
        if not request.flags & 2 or not self.encrypt:
            answer.protobuf_message_as_bytes = payload
            return
        self.response_counter += 1
        request_hash = b"\x08" + data.tag
        aad = (
            _tlv(0, b"\x09")
            + _tlv(1, b"\x03")
            + _tlv(2, VIN.encode())
            + _tlv(5, _u32(self.response_counter))
            + _tlv(7, _u32(answer.flags))
            + _tlv(8, request_hash)
            + _tlv(9, _u32(0))
            + b"\xff"
        )
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, payload, hashlib.sha256(aad).digest())
        answer.protobuf_message_as_bytes = sealed[:-16]
        gcm = answer.signature_data.AES_GCM_Response_data
        gcm.nonce, gcm.counter, gcm.tag = nonce, self.response_counter, sealed[-16:]
        self.encrypted_answers += 1

    def _execute(self, action: car_server_pb2.Action) -> bytes:
        response = car_server_pb2.Response()
        response.actionStatus.result = car_server_pb2.OPERATIONSTATUS_OK
        vehicle_action = action.vehicleAction
        if vehicle_action.WhichOneof("vehicle_action_msg") == "chargingSetLimitAction":
            percent = vehicle_action.chargingSetLimitAction.percent
            if percent == self.charge_limit:
                response.actionStatus.result = car_server_pb2.OPERATIONSTATUS_ERROR
                response.actionStatus.result_reason.plain_text = "already_set"
            self.charge_limit = percent
        return response.SerializeToString()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def store() -> InMemoryDocumentStore:
    return InMemoryDocumentStore()


@pytest.fixture
def car(clock: ManualClock) -> FakeInfotainment:
    return FakeInfotainment(clock)


def make_signer(
    store: InMemoryDocumentStore, clock: ManualClock, car: FakeInfotainment, **kwargs: object
) -> CommandSigner:
    return CommandSigner(store=store, private_key=CLIENT_KEY, clock=clock, send=car, **kwargs)  # type: ignore[arg-type]


def set_limit(signer: CommandSigner, percent: int) -> dict[str, object]:
    return signer.execute(VIN, "set_charge_limit", {"percent": percent})


def test_first_command_handshakes_then_signs_and_stores_no_secret(
    store: InMemoryDocumentStore, clock: ManualClock, car: FakeInfotainment
) -> None:
    signer = make_signer(store, clock, car)
    assert set_limit(signer, 90) == {"result": True, "reason": ""}
    assert car.sent == ["handshake", "command"] and signer.handshakes == 1
    assert car.charge_limit == 90 and car.encrypted_answers == 1
    session = store.get(COLLECTION, DOC_ID)
    assert session is not None
    assert session["epoch"] == car.epoch.hex() and session["vehicle_public_key"] == car.public.hex()
    assert session["counter"] == 1 and car.accepted == [1]
    assert session["clock_time"] == 5000
    assert session["clock_offset_s"] == pytest.approx(5000 - START.timestamp())
    stored = json.dumps(session).lower()
    assert K_HEX not in stored and CLIENT_SCALAR_HEX not in stored


def test_a_second_instance_reuses_the_stored_session_and_never_reuses_a_counter(
    store: InMemoryDocumentStore, clock: ManualClock, car: FakeInfotainment
) -> None:
    first = make_signer(store, clock, car)
    set_limit(first, 90)
    clock.advance(timedelta(hours=3))
    cold = make_signer(store, clock, car)
    set_limit(cold, 70)
    set_limit(first, 60)
    set_limit(cold, 50)
    assert cold.handshakes == 0 and car.count("handshake") == 1
    assert car.accepted == [1, 2, 3, 4]
    assert store.get(COLLECTION, DOC_ID)["counter"] == 4  # type: ignore[index]


def test_concurrent_instances_take_distinct_counters(
    store: InMemoryDocumentStore, clock: ManualClock, car: FakeInfotainment
) -> None:
    store.update_reruns = 1  # Firestore may call the update fn again: it must stay pure
    signers = [make_signer(store, clock, car) for _ in range(3)]
    set_limit(signers[0], 51)
    errors: list[BaseException] = []

    def work(signer: CommandSigner, worker: int) -> None:
        try:
            for i in range(5):
                signer.execute(VIN, "charge_start" if (worker + i) % 2 else "charge_stop", {})
        except BaseException as exc:  # handed to the main thread, which asserts there were none
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(signers[n % 3], n)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert len(car.accepted) == 1 + 12 * 5
    assert sorted(car.accepted) == list(range(1, 62))
    assert car.count("handshake") == 1 and sum(s.handshakes for s in signers) == 1


class RacingStore(InMemoryDocumentStore):
    """Once armed, holds each get until a second caller has read too: a read-then-write counter would collide."""

    def __init__(self) -> None:
        super().__init__()
        self.barrier: threading.Barrier | None = None

    def get(self, collection: str, doc_id: str) -> dict[str, object] | None:
        found = super().get(collection, doc_id)
        if self.barrier is not None:
            with contextlib.suppress(threading.BrokenBarrierError):
                self.barrier.wait(timeout=2)
        return found


def test_two_instances_reserving_at_the_same_moment_get_different_counters(
    clock: ManualClock, car: FakeInfotainment
) -> None:
    store = RacingStore()
    first, second = make_signer(store, clock, car), make_signer(store, clock, car)
    set_limit(first, 51)
    store.barrier = threading.Barrier(2)
    threads = [threading.Thread(target=set_limit, args=(signer, 60 + n)) for n, signer in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(car.accepted) == [1, 2, 3]
    assert car.sent == ["handshake", "command", "command", "command"]


def test_a_stale_epoch_is_resynced_from_the_faults_session_info_and_retried_once(
    store: InMemoryDocumentStore, clock: ManualClock, car: FakeInfotainment
) -> None:
    signer = make_signer(store, clock, car)
    set_limit(signer, 90)
    set_limit(signer, 91)
    car.boot(clock_time=12)  # infotainment rebooted: new epoch, counter 0
    clock.advance(timedelta(minutes=5))
    assert set_limit(signer, 70) == {"result": True, "reason": ""}
    assert car.sent == ["handshake", "command", "command", "command", "command"]
    assert signer.handshakes == 1
    session = store.get(COLLECTION, DOC_ID)
    assert session is not None and session["epoch"] == car.epoch.hex() and session["counter"] == 1


def test_a_car_clock_ahead_of_ours_expires_the_command_and_the_offset_is_relearned(
    store: InMemoryDocumentStore, clock: ManualClock, car: FakeInfotainment
) -> None:
    signer = make_signer(store, clock, car)
    set_limit(signer, 90)
    car.skew(600)
    assert set_limit(signer, 70)["result"] is True
    assert car.sent == ["handshake", "command", "command", "command"]
    session = store.get(COLLECTION, DOC_ID)
    assert session is not None and session["clock_time"] == 5600


def test_delayed_session_info_never_rolls_the_counter_back(
    store: InMemoryDocumentStore, clock: ManualClock, car: FakeInfotainment
) -> None:
    signer = make_signer(store, clock, car)
    for percent in (90, 91, 92):
        set_limit(signer, percent)
    # Session info that left the car before counters 2 and 3 arrived: same epoch, older counter.
    car.force(FAULTS.Value("MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER"), info_counter=1)
    assert set_limit(signer, 70)["result"] is True
    assert car.accepted == [1, 2, 3, 5]


def test_a_persistent_fault_fails_after_exactly_one_retry(
    store: InMemoryDocumentStore, clock: ManualClock, car: FakeInfotainment
) -> None:
    signer = make_signer(store, clock, car)
    set_limit(signer, 90)
    car.force(FAULTS.Value("MESSAGEFAULT_ERROR_INVALID_SIGNATURE"), times=5)
    with pytest.raises(SignedCommandFault) as caught:
        set_limit(signer, 70)
    assert caught.value.fault == "MESSAGEFAULT_ERROR_INVALID_SIGNATURE"
    assert car.sent == ["handshake", "command", "command", "command"]
    assert signer.handshakes == 1


def test_a_fault_without_session_info_brings_one_new_handshake(
    store: InMemoryDocumentStore, clock: ManualClock, car: FakeInfotainment
) -> None:
    signer = make_signer(store, clock, car)
    set_limit(signer, 90)
    car.force(FAULTS.Value("MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER"), with_info=False)
    assert set_limit(signer, 70)["result"] is True
    assert car.sent == ["handshake", "command", "command", "handshake", "command"]
    assert signer.handshakes == 2
    car.force(FAULTS.Value("MESSAGEFAULT_ERROR_INCORRECT_EPOCH"), times=2, with_info=False)
    with pytest.raises(SignedCommandFault):
        set_limit(signer, 60)
    assert car.sent[5:] == ["command", "handshake", "command"]


def test_session_info_with_a_bad_tag_is_discarded_for_a_handshake(
    store: InMemoryDocumentStore, clock: ManualClock, car: FakeInfotainment
) -> None:
    signer = make_signer(store, clock, car)
    set_limit(signer, 90)
    before = store.get(COLLECTION, DOC_ID)
    car.boot(clock_time=3)
    car.force(FAULTS.Value("MESSAGEFAULT_ERROR_INCORRECT_EPOCH"), tamper=True)
    assert set_limit(signer, 70)["result"] is True
    assert car.sent == ["handshake", "command", "command", "handshake", "command"]
    after = store.get(COLLECTION, DOC_ID)
    assert before is not None and after is not None and after["epoch"] == car.epoch.hex() != before["epoch"]


@pytest.mark.parametrize("refuse_with_status", [False, True], ids=["unknown-key-fault", "not-on-whitelist"])
def test_an_unpaired_key_raises_key_not_paired_without_retry(
    store: InMemoryDocumentStore, clock: ManualClock, refuse_with_status: bool
) -> None:
    car = FakeInfotainment(clock, paired=False, refuse_with_status=refuse_with_status)
    signer = make_signer(store, clock, car, app_domain="offpeak.example.com")
    with pytest.raises(KeyNotPaired) as caught:
        set_limit(signer, 90)
    assert "https://tesla.com/_ak/offpeak.example.com" in caught.value.remedy
    assert car.sent == ["handshake"] and store.get(COLLECTION, DOC_ID) is None


def test_a_key_removed_after_the_handshake_raises_key_not_paired_on_the_command(
    store: InMemoryDocumentStore, clock: ManualClock, car: FakeInfotainment
) -> None:
    signer = make_signer(store, clock, car)
    set_limit(signer, 90)
    car.paired.clear()
    with pytest.raises(KeyNotPaired) as caught:
        set_limit(signer, 70)
    assert "your app's domain" in caught.value.remedy
    assert car.sent == ["handshake", "command", "command"]


def test_busy_is_transient_and_not_retried(
    store: InMemoryDocumentStore, clock: ManualClock, car: FakeInfotainment
) -> None:
    signer = make_signer(store, clock, car)
    set_limit(signer, 90)
    car.force(FAULTS.Value("MESSAGEFAULT_ERROR_BUSY"))
    with pytest.raises(TeslaUnavailable):
        set_limit(signer, 70)
    assert car.sent == ["handshake", "command", "command"]


def test_encrypted_answer_is_decoded_and_already_set_mapped(
    store: InMemoryDocumentStore, clock: ManualClock, car: FakeInfotainment
) -> None:
    signer = make_signer(store, clock, car)
    assert set_limit(signer, 80) == {"result": False, "reason": "already_set"}
    assert car.encrypted_answers == 1
    car.encrypt = False  # firmware before 2024.38 answers in plaintext
    assert set_limit(signer, 80) == {"result": False, "reason": "already_set"}
    assert car.encrypted_answers == 1


def test_schedule_commands_go_through(store: InMemoryDocumentStore, clock: ManualClock, car: FakeInfotainment) -> None:
    signer = make_signer(store, clock, car)
    body = {
        "days_of_week": "Saturday",
        "enabled": True,
        "start_enabled": True,
        "start_time": 1380,
        "end_enabled": True,
        "end_time": 300,
        "lat": 52.2,
        "lon": 21.0,
        "one_time": True,
        "id": 7,
    }
    assert signer.execute(VIN, "add_charge_schedule", body)["result"] is True
    assert signer.execute(VIN, "remove_charge_schedule", {"id": 7})["result"] is True
    with pytest.raises(ValueError):
        signer.execute(VIN, "honk_horn", {})
    assert car.sent == ["handshake", "command", "command"]


def test_a_forged_answer_is_an_error_not_a_result(
    store: InMemoryDocumentStore, clock: ManualClock, car: FakeInfotainment
) -> None:
    def forger(vin: str, raw: bytes) -> bytes:
        answer = universal_message_pb2.RoutableMessage.FromString(car(vin, raw))
        if answer.signature_data.WhichOneof("sig_type") == "AES_GCM_Response_data":
            answer.signature_data.AES_GCM_Response_data.tag = bytes(16)
        return answer.SerializeToString()

    signer = CommandSigner(store=store, private_key=CLIENT_KEY, clock=clock, send=forger)
    with pytest.raises(TeslaError, match="could not be authenticated"):
        set_limit(signer, 90)


def test_handshakes_and_resyncs_are_logged_without_key_material(
    store: InMemoryDocumentStore, clock: ManualClock, car: FakeInfotainment, caplog: pytest.LogCaptureFixture
) -> None:
    signer = make_signer(store, clock, car)
    with caplog.at_level(logging.INFO, logger="tesla_offpeak.tesla"):
        set_limit(signer, 90)
        car.boot()
        set_limit(signer, 70)
    tesla_records = [r for r in caplog.records if r.name == "tesla_offpeak.tesla"]
    messages = [(r.levelno, r.getMessage()) for r in tesla_records]
    assert (logging.INFO, "[TESLA] command session handshake") in messages
    assert (logging.INFO, "[TESLA] command session resync") in messages
    text = " ".join(f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in tesla_records).lower()
    assert K_HEX not in text and car.epoch.hex() not in text and CLIENT_SCALAR_HEX not in text
