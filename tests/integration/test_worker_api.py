"""The worker's HTTP surface: authentication on every endpoint, the contract's JSON errors, tokens."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.clock import SystemClock
from tests.support.id_tokens import TokenFactory, strip_signature
from tests.support.worker_app import API_TOKEN, fake_world, routes
from worker_service.auth import GoogleOidcAuth

URL = "https://worker-xyz.a.run.app"
SCOUT_SA = "scout@p.iam.gserviceaccount.com"


def test_health_answers_strangers_and_touches_nothing(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    answer = world.app.test_client().get("/health")
    assert answer.status_code == 200 and answer.get_json()["status"] == "ok"
    assert world.store.calls.total() == 0 and world.secrets.calls.total() == 0 and world.car.calls == []


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401),
        ("Bearer", 401),
        ("Basic dXNlcjpwYXNz", 401),
        ("Bearer wrong-token-0123456789", 403),
        (f"Bearer {API_TOKEN}x", 403),
        (f"bearer  {API_TOKEN} extra", 401),
    ],
)
def test_every_endpoint_but_health_refuses_bad_credentials(tmp_path: Path, header: str | None, status: int) -> None:
    world = fake_world(tmp_path)
    client = world.app.test_client()
    headers = {"Authorization": header} if header else {}
    for method, path, body in routes(world.app):
        if path == "/health":
            continue
        answer = client.open(path, method=method, headers=headers, json=body)
        assert answer.status_code == status, (method, path)
        assert answer.get_json()["status"] == "error" and answer.get_json()["error"] in ("unauthorized", "forbidden")
    assert world.car.calls == [] and world.tesla_tokens.calls == 0


def test_unknown_paths_do_not_answer_strangers(tmp_path: Path) -> None:
    client = fake_world(tmp_path).app.test_client()
    assert client.get("/admin").status_code == 401


def test_oidc_mode_accepts_allowed_service_accounts_and_refuses_the_rest(tmp_path: Path) -> None:
    factory = TokenFactory()
    now = datetime.now(UTC)
    # Google's certificates are replaced by our own key's; everything else is the production path.
    # As on Cloud Run, whose front end forwards the tokens it checked with their signature stripped.
    auth = GoogleOidcAuth(URL, (SCOUT_SA,), SystemClock(), certs_fetcher=factory.certs, on_cloud_run=True)
    world = fake_world(
        tmp_path,
        now=now,
        authenticator=auth,
        WORKER_AUTH_MODE="google-oidc",
        WORKER_SERVICE_URL=URL,
        WORKER_ALLOWED_INVOKERS=SCOUT_SA,
    )
    client = world.app.test_client()
    good = factory.token(audience=URL, email=SCOUT_SA, issued_at=now.timestamp())
    assert client.get("/get-token", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    stripped = strip_signature(good)
    assert client.get("/get-token", headers={"Authorization": f"Bearer {stripped}"}).status_code == 200
    stranger = factory.token(audience=URL, email="other@p.iam.gserviceaccount.com", issued_at=now.timestamp())
    assert client.get("/get-token", headers={"Authorization": f"Bearer {stranger}"}).status_code == 403
    expired = factory.token(audience=URL, email=SCOUT_SA, issued_at=now.timestamp() - 7200)
    assert client.get("/get-token", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    elsewhere = factory.token(audience="https://other.a.run.app", email=SCOUT_SA, issued_at=now.timestamp())
    assert client.get("/get-token", headers={"Authorization": f"Bearer {elsewhere}"}).status_code == 403


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"session_id": 5}', "session_id"),
        (b'{"session_id": "../../etc"}', "session_id"),
        (b'{"session_id": "a\\u0000"}', "session_id"),
        (b"\x00", "null byte"),
        (b"", "required"),
    ],
)
def test_bad_bodies_get_400_with_a_message(tmp_path: Path, data: bytes, message: str) -> None:
    world = fake_world(tmp_path)
    answer = world.app.test_client().post(
        "/send-special-schedule", data=data, headers=world.headers(), content_type="application/json"
    )
    body = answer.get_json()
    assert answer.status_code == 400 and body["status"] == "error" and message in body["message"]


def test_unknown_ids_are_404_and_wrong_methods_405_and_huge_bodies_413(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    client = world.app.test_client()
    answer = client.post(
        "/send-special-schedule", json={"session_id": "special_9_20261124_0700"}, headers=world.headers()
    )
    assert answer.status_code == 404 and answer.get_json()["error"] == "not_found"
    assert client.get("/special-charging-sessions/special_9_20261124_0700", headers=world.headers()).status_code == 404
    assert client.get("/special-charging-sessions/not-an-id", headers=world.headers()).status_code == 400
    assert client.delete("/special-charging-needs/need_404", headers=world.headers()).status_code == 404
    wrong = client.get("/send-special-schedule", headers=world.headers())
    assert wrong.status_code == 405 and wrong.get_json()["error"] == "method_not_allowed"
    huge = client.post(
        "/special-charging-needs",
        data=b"{" + b" " * 70_000 + b"}",
        headers=world.headers(),
        content_type="application/json",
    )
    assert huge.status_code == 413 and huge.get_json()["status"] == "error"


@pytest.mark.parametrize(
    "body",
    [
        {"target_soc": 49, "departure": "2026-11-24T07:00:00+01:00"},
        {"target_soc": 101, "departure": "2026-11-24T07:00:00+01:00"},
        {"target_soc": "80", "departure": "2026-11-24T07:00:00+01:00"},
        {"target_soc": True, "departure": "2026-11-24T07:00:00+01:00"},
        {"target_soc": 80, "departure": "2026-11-24T07:00:00"},
        {"target_soc": 80, "departure": "2026-11-20T07:00:00+01:00"},
        {"target_soc": 80, "departure": "9999-11-24T07:00:00+01:00"},
        {"target_soc": 80, "departure": "tomorrow"},
        {"target_soc": 80},
        {"target_soc": 80, "departure": "2026-11-24T07:00:00+01:00", "colour": "red"},
    ],
)
def test_invalid_needs_are_refused_with_a_message_and_nothing_is_stored(tmp_path: Path, body: dict) -> None:  # type: ignore[type-arg]
    world = fake_world(tmp_path)
    answer = world.app.test_client().post("/special-charging-needs", json=body, headers=world.headers())
    assert answer.status_code == 400 and answer.get_json()["message"]
    assert world.store.list("special_charging_needs") == []


def test_get_token_and_the_refresh_rate_limit(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    client = world.app.test_client()
    token = client.get("/get-token", headers=world.headers()).get_json()
    assert token["status"] == "success" and token["access_token"] and token["remaining_minutes"] == 480
    assert token["architecture"]["type"] == "centralized_token_management"
    world.clock.advance(timedelta(minutes=2))
    first = client.post("/refresh-tokens", json={"reason": "test"}, headers=world.headers())
    assert first.status_code == 200 and first.get_json()["success"] is True
    second = client.post("/refresh-tokens", headers=world.headers())
    assert second.status_code == 429 and second.get_json() == {
        **second.get_json(),
        "success": False,
        "message": "Rate limit",
    }
    assert int(second.headers["Retry-After"]) == 60
    world.clock.advance(timedelta(seconds=61))
    assert client.post("/refresh-tokens", headers=world.headers()).status_code == 200
    assert world.tesla_tokens.calls == 3


def test_eight_concurrent_get_token_calls_on_an_expiring_token_refresh_once(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    world.tesla_tokens.delay_s = 0.2
    answers: list[str] = []

    def call() -> None:
        answer = world.app.test_client().get("/get-token", headers=world.headers())
        answers.append(answer.get_json()["access_token"])

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert world.tesla_tokens.calls == 1 and len(set(answers)) == 1 and len(answers) == 8


def test_a_rejected_refresh_token_shows_on_health(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    world.tesla_tokens.valid.clear()
    client = world.app.test_client()
    answer = client.get("/get-token", headers=world.headers())
    assert answer.status_code == 503 and answer.get_json()["error"] == "reauthorisation_required"
    health = client.get("/health").get_json()
    assert health["status"] == "degraded" and "re-authorise" in health["reason"]


def test_openapi_describes_exactly_the_served_endpoints(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    spec = world.app.test_client().get("/openapi.json", headers=world.headers()).get_json()
    described = {
        (method.upper(), path.replace("{", "<").replace("}", ">"))
        for path, item in spec["paths"].items()
        for method in item
    }
    served = {
        (rule.rule, method)
        for rule in world.app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert described == {(method, rule) for rule, method in served}
    for required in ("/health", "/get-token", "/refresh-tokens", "/plan-preview", "/send-special-schedule"):
        assert required in spec["paths"]


def test_plan_preview_reproduces_the_seed_night_and_has_no_side_effects(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    body = {
        "target_soc": 80,
        "current_soc": 40,
        "departure": "2026-11-24T07:00:00+01:00",
        "now": "2026-11-23T20:00:00+01:00",
    }
    answer = world.app.test_client().post("/plan-preview", json=body, headers=world.headers())
    plan = answer.get_json()["plan"]
    assert answer.status_code == 200 and plan["feasible"] is True and plan["currency"] == "PLN"
    assert plan["charging_end"] == "2026-11-24T06:00:00+01:00"  # G12w, 60 min margin
    start = datetime.fromisoformat(plan["charging_start"])
    assert datetime.fromisoformat(plan["send_schedule_at"]) == start - timedelta(minutes=120)
    assert world.store.writes == 0 and world.car.calls == [] and world.scheduler.calls.total() == 0


def test_plan_preview_reads_the_car_when_no_soc_is_given_and_refuses_bad_input(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    client = world.app.test_client()
    ok = client.post(
        "/plan-preview", json={"target_soc": 80, "departure": "2026-11-24T07:00:00+01:00"}, headers=world.headers()
    )
    assert ok.status_code == 200 and ok.get_json()["plan"]["current_soc"] == 40
    assert world.store.writes == 0  # a preview changes nothing, not even the reading cache
    bad = client.post(
        "/plan-preview", json={"target_soc": 80, "departure": "2026-11-24T07:00:00"}, headers=world.headers()
    )
    assert bad.status_code == 400 and "departure" in bad.get_json()["message"]
