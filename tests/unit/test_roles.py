"""Who may call which endpoint (issue 14, item 1): every served route × the scout, the scheduler and the owner.

The worker is built from its settings as on Cloud Run (`K_SERVICE` set): tokens arrive with their
signature stripped by Cloud Run's front end, the owner's in `X-Serverless-Authorization` (or in
`Authorization` alone) and addressed to gcloud's own OAuth client, as `gcloud auth print-identity-token`
makes it. The expected roles are written out here, not read from `worker_service/roles.py`, so a
change to the table there fails this test.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, jsonify

from shared.clock import ManualClock
from shared.errors import ConfigError
from shared.settings import load_settings
from tests.support.id_tokens import TokenFactory, strip_signature
from tests.support.worker_app import FakeWorld, fake_world, routes
from worker_service import roles
from worker_service.app import PUBLIC_ENDPOINTS
from worker_service.auth import GCLOUD_CLIENT_ID, build_authenticator

URL = "https://tesla-worker-abc123-ew.a.run.app"
SCOUT = "tesla-scout@project.iam.gserviceaccount.com"
SCHEDULER = "tesla-scheduler@project.iam.gserviceaccount.com"
OWNER = "jan.kowalski@gmail.com"
STRANGER = "somebody.else@gmail.com"
NOW = datetime.now(UTC)  # google-auth checks signed tokens against the real time
FACTORY = TokenFactory()
EVERYONE = {"scout", "scheduler", "owner"}

# Written out independently of worker_service/roles.py. A route not listed (one the status page
# adds under /owner/, say) is the owner's alone.
EXPECTED: dict[str, set[str]] = {
    "/get-token": {"scout"},
    "/refresh-tokens": {"scout"},
    "/scout-trigger": {"scout"},
    "/run-cycle": {"scheduler"},
    "/send-special-schedule": {"scheduler"},
    "/cleanup-single-session": {"scheduler"},
    "/daily-special-charging-check": {"scheduler", "owner"},
    "/special-charging-needs": {"owner"},
    "/special-charging-needs/need_1": {"owner"},
    "/special-charging-sessions": {"owner"},
    "/special-charging-sessions/special_1_20261124_0700": {"owner"},
    "/plan-preview": {"owner"},
    "/scheduler-jobs": {"owner", "scheduler"},
    "/status": {"owner"},
    "/": {"owner"},
    "/openapi.json": EVERYONE,
}


def bearer(token: str) -> str:
    return f"Bearer {token}"


def gcloud_token(email: str = OWNER, issued_at: float = NOW.timestamp(), **claims: Any) -> str:
    """What `gcloud auth print-identity-token` gives a logged-in account: gcloud's client id as audience."""
    return FACTORY.token(audience=GCLOUD_CLIENT_ID, email=email, issued_at=issued_at, **claims)


def service_token(email: str, path: str = "") -> str:
    return FACTORY.token(audience=URL + path, email=email, issued_at=NOW.timestamp())


def world(tmp_path: Path, *, on_cloud_run: bool = True, scouts: str | None = SCOUT) -> FakeWorld:
    """The worker with its authenticator built from the settings, as in production."""
    env = {
        "WORKER_AUTH_MODE": "google-oidc",
        "WORKER_SERVICE_URL": URL,
        "WORKER_ALLOWED_INVOKERS": f"{SCOUT},{SCHEDULER}",
        "WORKER_OWNER_EMAILS": OWNER.upper(),  # e-mails compare case-insensitively
        **({"WORKER_SCOUT_INVOKERS": scouts} if scouts else {}),
        **({"K_SERVICE": "tesla-worker"} if on_cloud_run else {}),
    }
    settings = load_settings({"BACKEND": "local", "STATE_DIR": str(tmp_path), **env}, component="worker")
    auth = build_authenticator(settings, ManualClock(NOW), FACTORY.certs)
    return fake_world(tmp_path, now=NOW, authenticator=auth, **env)


CALLERS: dict[str, tuple[str, dict[str, str]]] = {
    "scout": ("scout", {"Authorization": bearer(strip_signature(service_token(SCOUT)))}),
    "scheduler": (
        "scheduler",
        {
            "Authorization": bearer(strip_signature(service_token(SCHEDULER, "/send-special-schedule"))),
            "X-CloudScheduler": "true",
        },
    ),
    # Cloud Run checked X-Serverless-Authorization and passed Authorization through untouched.
    "owner_in_serverless_header": (
        "owner",
        {"Authorization": "Bearer not-checked", "X-Serverless-Authorization": bearer(strip_signature(gcloud_token()))},
    ),
    # curl -H "Authorization: Bearer $(gcloud auth print-identity-token)", or `gcloud run services proxy`.
    "owner_in_authorization": ("owner", {"Authorization": bearer(strip_signature(gcloud_token()))}),
}


def call(world: FakeWorld, method: str, path: str, body: Mapping[str, Any], headers: Mapping[str, str]) -> Any:
    return world.app.test_client().open(path, method=method, headers=dict(headers), json=body)


@pytest.mark.parametrize("caller", list(CALLERS))
def test_every_endpoint_admits_exactly_its_roles(tmp_path: Path, caller: str) -> None:
    role, headers = CALLERS[caller]
    w = world(tmp_path)
    checked = 0
    for method, path, body in routes(w.app):
        if path == "/health":
            continue
        answer = call(w, method, path, body, headers)
        reply = answer.get_json(silent=True) or {}
        if role in EXPECTED.get(path, {"owner"}):
            assert answer.status_code not in (401, 403) and answer.status_code < 500, (method, path, reply)
        else:
            assert answer.status_code == 403, (method, path, answer.status_code, reply)
            assert reply["error"] == "forbidden" and " only; " in reply["message"], reply
        checked += 1
    assert checked >= 14


def test_the_owner_is_refused_at_the_token_endpoints_with_a_clear_message_and_nothing_touched(
    tmp_path: Path,
) -> None:
    w = world(tmp_path)
    _, headers = CALLERS["owner_in_serverless_header"]
    for method, path in (("GET", "/get-token"), ("POST", "/refresh-tokens")):
        answer = call(w, method, path, {}, headers)
        reply = answer.get_json()
        assert answer.status_code == 403, reply
        assert reply["status"] == "error" and reply["error"] == "forbidden"
        assert "for the scout only" in reply["message"] and "an owner may call the needs" in reply["message"]
        assert "access_token" not in reply
    assert w.tesla_tokens.calls == 0 and w.secrets.calls.total() == 0 and w.car.calls == []
    # ... and the same identity reaches the owner's endpoints.
    assert call(w, "GET", "/special-charging-needs", {}, headers).status_code == 200


@pytest.mark.parametrize(
    ("kind", "headers", "status"),
    [
        # Off Cloud Run nothing stripped the signature for us: the claims alone prove nothing.
        ("stripped_owner_elsewhere", {"Authorization": bearer(strip_signature(gcloud_token()))}, 401),
        # A service account's token for gcloud's client: Cloud Run would let it in, the worker must not.
        ("service_account_gcloud_audience", {"Authorization": bearer(strip_signature(gcloud_token(SCHEDULER)))}, 403),
        ("scout_gcloud_audience", {"X-Serverless-Authorization": bearer(strip_signature(gcloud_token(SCOUT)))}, 403),
        ("stranger_gcloud_audience", {"Authorization": bearer(strip_signature(gcloud_token(STRANGER)))}, 403),
        ("owner_unverified_email", {"Authorization": bearer(strip_signature(gcloud_token(email_verified=False)))}, 403),
        (
            "owner_expired",
            {"Authorization": bearer(strip_signature(gcloud_token(issued_at=NOW.timestamp() - 7200)))},
            401,
        ),
        # The owner's token in the header nobody checked, an attacker's in the one Cloud Run checked.
        (
            "owner_behind_stranger",
            {
                "Authorization": bearer(strip_signature(gcloud_token())),
                "X-Serverless-Authorization": bearer(strip_signature(gcloud_token(STRANGER))),
            },
            403,
        ),
    ],
)
def test_tokens_for_gclouds_audience_are_refused_everywhere_unless_an_owner_s_and_verified(
    tmp_path: Path, kind: str, headers: dict[str, str], status: int
) -> None:
    w = world(tmp_path, on_cloud_run=kind != "stripped_owner_elsewhere")
    for method, path, body in routes(w.app):
        if path == "/health":
            continue
        answer = call(w, method, path, body, headers)
        assert answer.status_code == status, (kind, method, path, answer.get_json())
    assert w.car.calls == [] and w.tesla_tokens.calls == 0 and w.store.calls.total() == 0


def test_off_cloud_run_an_owner_token_whose_signature_verifies_is_an_owner_and_still_not_the_scout(
    tmp_path: Path,
) -> None:
    w = world(tmp_path, on_cloud_run=False)
    headers = {"Authorization": bearer(gcloud_token())}
    assert call(w, "GET", "/special-charging-sessions", {}, headers).status_code == 200
    assert call(w, "GET", "/get-token", {}, headers).status_code == 403
    # Signed by somebody else's key: no use anywhere.
    other = TokenFactory().token(audience=GCLOUD_CLIENT_ID, email=OWNER, issued_at=NOW.timestamp())
    assert call(w, "GET", "/special-charging-sessions", {}, {"Authorization": bearer(other)}).status_code == 401


def owner_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if (getattr(r, "fields", None) or {}).get("owner")]


def test_every_owner_action_is_logged_with_the_owner_s_email(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    w = world(tmp_path)
    _, headers = CALLERS["owner_in_serverless_header"]
    departure = (NOW + timedelta(hours=10)).isoformat()
    created = call(w, "POST", "/special-charging-needs", {"target_soc": 80, "departure": departure}, headers)
    assert created.status_code == 201, created.get_json()
    preview = {"target_soc": 80, "departure": departure, "current_soc": 40}
    assert call(w, "POST", "/plan-preview", preview, headers).status_code == 200
    assert call(w, "POST", "/daily-special-charging-check", {}, headers).status_code == 200
    assert call(w, "DELETE", "/special-charging-needs/need_1", {}, headers).status_code == 200
    logged = owner_records(caplog)
    assert {r.fields["owner"] for r in logged} == {OWNER}  # type: ignore[attr-defined]
    text = " ".join(r.getMessage() for r in logged)
    for action in (
        "registered need need_1",
        "previewed a plan",
        "daily special-charging check",
        "cancelled need need_1",
    ):
        assert action in text, (action, text)


def test_a_scheduler_job_is_not_logged_as_an_owner_action(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    _, headers = CALLERS["scheduler"]
    for scouts in (SCOUT, None):  # with roles, and before roles (every account holds every role)
        w = world(tmp_path / str(scouts), scouts=scouts)
        assert call(w, "POST", "/daily-special-charging-check", {}, headers).status_code == 200
    assert owner_records(caplog) == []


def test_without_worker_scout_invokers_every_account_keeps_its_access_but_owners_never_get_tokens(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    w = world(tmp_path, scouts=None)
    assert any("WORKER_SCOUT_INVOKERS is unset" in r.getMessage() for r in caplog.records)
    _, scheduler = CALLERS["scheduler"]
    assert call(w, "GET", "/get-token", {}, scheduler).status_code == 200  # as before roles existed
    assert call(w, "GET", "/special-charging-needs", {}, scheduler).status_code == 200
    _, owner = CALLERS["owner_in_authorization"]
    assert call(w, "GET", "/get-token", {}, owner).status_code == 403
    assert call(w, "GET", "/special-charging-needs", {}, owner).status_code == 200


def test_the_local_shared_secret_is_the_owner_s_key_too(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    w = fake_world(tmp_path)
    for method, path, body in routes(w.app):
        answer = call(w, method, path, body, w.headers())
        assert answer.status_code not in (401, 403) and answer.status_code < 500, (method, path, answer.get_json())
    assert {r.fields["owner"] for r in owner_records(caplog)} == {"local owner (shared secret)"}  # type: ignore[attr-defined]


def test_every_served_route_declares_its_roles(tmp_path: Path) -> None:
    app = fake_world(tmp_path).app
    undeclared = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        and rule.endpoint not in PUBLIC_ENDPOINTS
        and not roles.is_declared(rule.rule, app.view_functions[rule.endpoint])
    ]
    assert undeclared == []


def test_routes_other_modules_add_are_the_owner_s_unless_declared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(roles.ENDPOINT_ROLES, "/registered-for-the-scheduler", frozenset({"scheduler"}))
    bp = Blueprint("extra", __name__)

    @bp.get("/owner/events")
    def owner_events() -> Any:
        return jsonify({})

    @bp.get("/owner-decorated")
    @roles.owner_endpoint
    def decorated() -> Any:
        return jsonify({})

    @bp.get("/for-the-scout")
    @roles.allow("scout")
    def scout_view() -> Any:
        return jsonify({})

    @bp.get("/nobody-declared-this")
    def undeclared() -> Any:
        return jsonify({})

    @bp.get("/registered-for-the-scheduler")
    def registered() -> Any:
        return jsonify({})

    w = world(tmp_path)
    w.app.register_blueprint(bp)
    expected = {
        "/owner/events": "owner",
        "/owner-decorated": "owner",
        "/for-the-scout": "scout",
        "/nobody-declared-this": "owner",
        "/registered-for-the-scheduler": "scheduler",
    }
    for path, allowed in expected.items():
        for caller, (role, headers) in CALLERS.items():
            status = call(w, "GET", path, {}, headers).status_code
            assert status == (200 if role == allowed else 403), (path, caller, status)
    with pytest.raises(ValueError):
        roles.allow("admin")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WORKER_SCOUT_INVOKERS": "other@p.iam.gserviceaccount.com"}, "WORKER_SCOUT_INVOKERS"),
        ({"WORKER_OWNER_EMAILS": SCOUT}, "WORKER_OWNER_EMAILS"),
        ({"WORKER_OWNER_EMAILS": "not-an-email"}, "WORKER_OWNER_EMAILS"),
        ({"ALERT_EMAIL": "me at home"}, "ALERT_EMAIL"),
        ({"ALERT_WEBHOOK_URL": "ntfy.sh/my-topic"}, "ALERT_WEBHOOK_URL"),
    ],
)
def test_role_and_alert_settings_are_checked_at_start(tmp_path: Path, env: dict[str, str], message: str) -> None:
    base = {
        "BACKEND": "local",
        "STATE_DIR": str(tmp_path),
        "WORKER_AUTH_MODE": "google-oidc",
        "WORKER_ALLOWED_INVOKERS": f"{SCOUT},{SCHEDULER}",
    }
    with pytest.raises(ConfigError, match=message) as raised:
        load_settings({**base, **env})
    assert "my-topic" not in str(raised.value) and "me at home" not in str(raised.value)


def test_role_settings_are_read(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "BACKEND": "local",
            "STATE_DIR": str(tmp_path),
            "WORKER_AUTH_MODE": "google-oidc",
            "WORKER_ALLOWED_INVOKERS": f"{SCOUT},{SCHEDULER}",
            "WORKER_SCOUT_INVOKERS": f" {SCOUT.upper()} ",
            "WORKER_OWNER_EMAILS": f"{OWNER}, Second.Owner@Example.com",
            "ALERT_WEBHOOK_URL": "https://ntfy.sh/tesla-offpeak-9f3k2/",
            "ALERT_EMAIL": OWNER,
        }
    )
    assert settings.worker_scout_invokers == (SCOUT,)
    assert settings.worker_owner_emails == (OWNER, "second.owner@example.com")
    assert settings.alert_webhook_url == "https://ntfy.sh/tesla-offpeak-9f3k2/"  # exactly as given
    assert settings.alert_email == OWNER
    # The URL is as good as a password (whoever has it can post to the owner): kept out of logs and repr.
    assert settings.alert_webhook_url in settings.secret_values()
    assert "tesla-offpeak-9f3k2" not in repr(settings)
