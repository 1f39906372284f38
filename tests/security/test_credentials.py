"""Every endpoint but /health refuses every kind of bad credential, in both authentication modes.

tests/integration/test_worker_api.py checks a handful of shared-secret headers and a few ID tokens
on /get-token; this walks every served route through the full catalogue, and checks that a refused
call changes nothing and reaches neither Tesla nor the stores. The OIDC catalogue runs as on Cloud
Run (stripped tokens are what its front end forwards); the tests after it cover both headers
(`X-Serverless-Authorization` is the one Cloud Run verified), a stripped token off Cloud Run,
`email_verified`, Google's key rotation and accounts pinned by unique id.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.clock import ManualClock
from shared.settings import load_settings
from tests.support.id_tokens import TokenFactory, forged, strip_signature
from tests.support.worker_app import API_TOKEN, FakeWorld, fake_world, routes
from worker_service.auth import CertsFetcher, GoogleOidcAuth, build_authenticator

URL = "https://tesla-worker-abc123-ew.a.run.app"
SCOUT = "tesla-scout@project.iam.gserviceaccount.com"
SCHEDULER = "tesla-scheduler@project.iam.gserviceaccount.com"
SCHEDULER_ID = "104412345678901234567"
# Anyone else who may invoke the service at Cloud Run's edge: an Editor, the default compute account
# (which runs builds). Cloud Run lets them through; the worker must not.
ATTACKER = "123456789012-compute@developer.gserviceaccount.com"
NOW = datetime.now(UTC)  # google-auth checks a signed token against the real time
LATER = NOW.timestamp() + 3600
FACTORY = TokenFactory()


def segment(raw_json: str) -> str:
    """A JWT segment from JSON text exactly as written (NaN and 1e999 included)."""
    return base64.urlsafe_b64encode(raw_json.encode()).decode().rstrip("=")


def stripped(claims: object) -> str:
    """What Cloud Run would forward: claims with the signature replaced."""
    return f"{segment(json.dumps({'alg': 'RS256', 'kid': 'test-key-1'}))}.{segment(json.dumps(claims))}.SIGNATURE_REMOVED_BY_GOOGLE"


def stripped_raw(raw_claims: str) -> str:
    return f"{segment(json.dumps({'alg': 'RS256'}))}.{segment(raw_claims)}.SIGNATURE_REMOVED_BY_GOOGLE"


def signed(**overrides: object) -> str:
    options: dict[str, object] = {"audience": URL, "email": SCOUT, "issued_at": NOW.timestamp(), **overrides}
    return FACTORY.token(**options)  # type: ignore[arg-type]


GOOD = {"iss": "https://accounts.google.com", "aud": URL, "email": SCOUT, "iat": NOW.timestamp()}
RAW_GOOD = f'"iss": "https://accounts.google.com", "aud": "{URL}", "email": "{SCOUT}"'

# (kind, Authorization header or None, expected status): 401 = no usable credential, 403 = not allowed.
SHARED_SECRET_CASES: list[tuple[str, str | None, int]] = [
    ("truncated_secret", f"Bearer {API_TOKEN[:-1]}", 403),
    ("secret_in_other_case", f"Bearer {API_TOKEN.upper()}", 403),
    ("secret_without_scheme", API_TOKEN, 401),
    ("secret_as_basic", f"Basic {API_TOKEN}", 401),
    ("only_spaces_after_bearer", "Bearer    ", 401),
    ("google_id_token", f"Bearer {signed()}", 403),
    ("non_ascii", "Bearer пароль-0123456789", 403),
    ("very_long", "Bearer " + "x" * 8000, 403),
]

OIDC_CASES: list[tuple[str, str | None, int]] = [
    ("missing", None, 401),
    ("basic_scheme", "Basic dXNlcjpwYXNz", 401),
    ("shared_secret_instead", f"Bearer {API_TOKEN}", 401),
    ("two_segments", "Bearer aaaa.bbbb", 401),
    ("alg_none", f"Bearer {segment(json.dumps({'alg': 'none'}))}.{segment(json.dumps({**GOOD, 'exp': LATER}))}.", 401),
    ("forged_signature", f"Bearer {forged({**GOOD, 'exp': LATER})}", 401),
    (
        "signed_by_another_key",
        f"Bearer {TokenFactory().token(audience=URL, email=SCOUT, issued_at=NOW.timestamp())}",
        401,
    ),
    ("signed_expired", f"Bearer {signed(issued_at=NOW.timestamp() - 7200)}", 401),
    ("stripped_expired", f"Bearer {strip_signature(signed(issued_at=NOW.timestamp() - 7200))}", 401),
    ("signed_not_by_google", f"Bearer {signed(issuer='https://evil.example')}", 401),
    ("stripped_not_by_google", f"Bearer {strip_signature(signed(issuer='https://evil.example'))}", 401),
    ("signed_for_another_service", f"Bearer {signed(audience='https://other-service.a.run.app')}", 403),
    ("stripped_for_another_service", f"Bearer {strip_signature(signed(audience='https://other.a.run.app'))}", 403),
    ("lookalike_audience", f"Bearer {strip_signature(signed(audience=URL + '.evil.example'))}", 403),
    ("signed_by_a_stranger", f"Bearer {signed(email='owner@gmail.com')}", 403),
    ("stripped_stranger", f"Bearer {strip_signature(signed(email='x@evil.iam.gserviceaccount.com'))}", 403),
    ("unverified_email", f"Bearer {strip_signature(signed(email_verified=False))}", 403),
    ("no_email", f"Bearer {stripped({'iss': GOOD['iss'], 'aud': URL, 'exp': LATER})}", 403),
    ("claims_not_json", "Bearer eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.SIGNATURE_REMOVED_BY_GOOGLE", 401),
    ("claims_not_an_object", f"Bearer {stripped([1, 2])}", 401),
    ("exp_missing", f"Bearer {stripped(GOOD)}", 401),
    ("exp_not_a_number", f"Bearer {stripped({**GOOD, 'exp': 'tomorrow'})}", 401),
    ("exp_nan", "Bearer " + stripped_raw("{" + RAW_GOOD + ', "exp": NaN}'), 401),
    ("exp_infinite", "Bearer " + stripped_raw("{" + RAW_GOOD + ', "exp": 1e999}'), 401),
]


def oidc_world(tmp_path: Path, *, on_cloud_run: bool = True, certs: CertsFetcher = FACTORY.certs) -> FakeWorld:
    # Google's certificates are replaced by the test key's; everything else is the production path.
    auth = GoogleOidcAuth(URL, (SCOUT, SCHEDULER), ManualClock(NOW), certs_fetcher=certs, on_cloud_run=on_cloud_run)
    return fake_world(
        tmp_path,
        now=NOW,
        authenticator=auth,
        WORKER_AUTH_MODE="google-oidc",
        WORKER_SERVICE_URL=URL,
        WORKER_ALLOWED_INVOKERS=f"{SCOUT},{SCHEDULER}",
    )


def assert_every_endpoint_refuses(
    world: FakeWorld, header: str | None, expected: int, serverless: str | None = None
) -> None:
    client = world.app.test_client()
    headers = {"Authorization": header} if header is not None else {}
    if serverless is not None:
        headers["X-Serverless-Authorization"] = serverless
    checked = 0
    for method, path, body in routes(world.app):
        if path == "/health":
            continue
        answer = client.open(path, method=method, headers=headers, json=body)
        reply = answer.get_json()
        assert answer.status_code == expected, (method, path, answer.status_code, reply)
        assert reply["status"] == "error" and reply["error"] in ("unauthorized", "forbidden") and reply["message"]
        for sent in (header, serverless):
            credential = (sent or "").split(" ", 1)[-1].strip()
            assert len(credential) < 8 or credential[:40] not in answer.get_data(as_text=True)  # never echoed
        checked += 1
    assert checked >= 14
    assert world.car.calls == [] and world.tesla_tokens.calls == 0
    assert world.store.calls.total() == 0 and world.secrets.calls.total() == 0 and world.scheduler.calls.total() == 0


@pytest.mark.parametrize(("kind", "header", "expected"), SHARED_SECRET_CASES, ids=[c[0] for c in SHARED_SECRET_CASES])
def test_shared_secret_mode_refuses_bad_credentials_on_every_endpoint(
    tmp_path: Path, kind: str, header: str | None, expected: int
) -> None:
    assert_every_endpoint_refuses(fake_world(tmp_path), header, expected)


@pytest.mark.parametrize(("kind", "header", "expected"), OIDC_CASES, ids=[c[0] for c in OIDC_CASES])
def test_google_oidc_mode_refuses_bad_credentials_on_every_endpoint(
    tmp_path: Path, kind: str, header: str | None, expected: int
) -> None:
    assert_every_endpoint_refuses(oidc_world(tmp_path), header, expected)


def test_google_oidc_mode_lets_both_service_accounts_in_signed_or_stripped(tmp_path: Path) -> None:
    world = oidc_world(tmp_path)
    client = world.app.test_client()
    for email in (SCOUT, SCHEDULER):
        token = signed(email=email, audience=URL + "/send-special-schedule")  # Cloud Scheduler's audience
        for credential in (token, strip_signature(token)):
            answer = client.get("/special-charging-needs", headers={"Authorization": f"Bearer {credential}"})
            assert answer.status_code == 200, (email, answer.get_json())


def test_health_needs_no_credential_and_says_nothing_secret(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    answer = world.app.test_client().get("/health", headers={"Authorization": "Bearer wrong"})
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert API_TOKEN not in text and "EU_refresh" not in text and "52.2297" not in text


def assert_every_endpoint_admits(world: FakeWorld, headers: Mapping[str, str]) -> None:
    """Authentication lets the call through on every route: whatever the handler answers, it is not 401/403."""
    client = world.app.test_client()
    checked = 0
    for method, path, body in routes(world.app):
        if path == "/health":
            continue
        answer = client.open(path, method=method, headers=dict(headers), json=body)
        assert answer.status_code not in (401, 403) and answer.status_code < 500, (method, path, answer.get_json())
        checked += 1
    assert checked >= 14


def bearer(token: str) -> str:
    return f"Bearer {token}"


def impersonation(email: str = SCHEDULER) -> str:
    """A made-up token naming an allowed account, signature stripped as if Cloud Run had checked it."""
    claims: dict[str, Any] = {**GOOD, "email": email, "email_verified": True, "sub": SCHEDULER_ID, "exp": LATER}
    return strip_signature(forged(claims))


# (kind, Authorization, X-Serverless-Authorization): an invoker Cloud Run let through with its own token
# in the header it checked, and an allowed account's name in the header nobody checked.
BOTH_HEADER_ATTACKS: list[tuple[str, str, str]] = [
    ("forged_scheduler_behind_stripped_attacker", impersonation(), strip_signature(signed(email=ATTACKER))),
    ("forged_scheduler_behind_signed_attacker", impersonation(), signed(email=ATTACKER)),
    ("forged_scout_behind_stripped_attacker", impersonation(SCOUT), strip_signature(signed(email=ATTACKER))),
    # A real, replayed scheduler token in Authorization still does not speak for the verified caller.
    (
        "real_scheduler_behind_attacker",
        strip_signature(signed(email=SCHEDULER)),
        strip_signature(signed(email=ATTACKER)),
    ),
]


@pytest.mark.parametrize(
    ("kind", "authorization", "serverless"), BOTH_HEADER_ATTACKS, ids=[c[0] for c in BOTH_HEADER_ATTACKS]
)
def test_the_identity_comes_from_the_header_cloud_run_verified(
    tmp_path: Path, kind: str, authorization: str, serverless: str
) -> None:
    assert_every_endpoint_refuses(oidc_world(tmp_path), bearer(authorization), 403, serverless=bearer(serverless))


@pytest.mark.parametrize("on_cloud_run", [True, False], ids=["on_cloud_run", "elsewhere"])
def test_real_tokens_pass_on_every_endpoint(tmp_path: Path, on_cloud_run: bool) -> None:
    world = oidc_world(tmp_path, on_cloud_run=on_cloud_run)
    # Signed and intact: verified against the (injected) Google certificates wherever we run.
    assert_every_endpoint_admits(world, {"Authorization": bearer(signed(email=SCHEDULER))})
    assert_every_endpoint_admits(
        world, {"Authorization": "Bearer junk", "X-Serverless-Authorization": bearer(signed(email=SCOUT))}
    )


def test_on_cloud_run_the_verified_header_is_trusted_stripped(tmp_path: Path) -> None:
    verified = bearer(strip_signature(signed(email=SCHEDULER)))
    world = oidc_world(tmp_path)
    assert_every_endpoint_admits(
        world, {"Authorization": bearer(impersonation(ATTACKER)), "X-Serverless-Authorization": verified}
    )
    assert_every_endpoint_admits(world, {"Authorization": verified})


@pytest.mark.parametrize("header", ["Authorization", "X-Serverless-Authorization"])
def test_a_stripped_token_is_refused_off_cloud_run(tmp_path: Path, header: str) -> None:
    world = oidc_world(tmp_path, on_cloud_run=False)
    token = bearer(strip_signature(signed(email=SCHEDULER)))
    if header == "Authorization":
        assert_every_endpoint_refuses(world, token, 401)
    else:
        assert_every_endpoint_refuses(world, None, 401, serverless=token)


@pytest.mark.parametrize("on_cloud_run", [True, False], ids=["on_cloud_run", "elsewhere"])
@pytest.mark.parametrize("claims", [{"email_verified": False}, {"omit": ("email_verified",)}], ids=["false", "missing"])
def test_an_unverified_email_is_refused_on_every_endpoint(
    tmp_path: Path, on_cloud_run: bool, claims: dict[str, Any]
) -> None:
    token = signed(email=SCHEDULER, **claims)
    world = oidc_world(tmp_path, on_cloud_run=on_cloud_run)
    assert_every_endpoint_refuses(world, bearer(strip_signature(token) if on_cloud_run else token), 403)


class CountingCerts:
    """Google's certificate endpoint: an answer without our key first (before a rotation), then with it."""

    def __init__(self, *answers: Mapping[str, str]) -> None:
        self.answers = list(answers)
        self.fetches = 0

    def __call__(self) -> Mapping[str, str]:
        self.fetches += 1
        return self.answers[min(self.fetches, len(self.answers)) - 1]


def test_an_unknown_key_id_is_fetched_once_then_every_endpoint_verifies(tmp_path: Path) -> None:
    certs = CountingCerts(TokenFactory("retired-key").certs(), FACTORY.certs())
    world = oidc_world(tmp_path, on_cloud_run=False, certs=certs)
    assert_every_endpoint_admits(world, {"Authorization": bearer(signed(email=SCHEDULER))})
    assert certs.fetches == 2  # the first fetch, one refetch for the new key id, then the cache


def test_made_up_key_ids_are_refused_without_a_fetch_each(tmp_path: Path) -> None:
    certs = CountingCerts(FACTORY.certs())
    world = oidc_world(tmp_path, on_cloud_run=False, certs=certs)
    token = TokenFactory("made-up-key").token(audience=URL, email=SCHEDULER, issued_at=NOW.timestamp())
    assert_every_endpoint_refuses(world, bearer(token), 401)
    assert certs.fetches == 2  # one refetch for the unknown id, rate-limited after that


def pinned_world(tmp_path: Path, *, on_cloud_run: bool) -> FakeWorld:
    """The authenticator built from the settings, as in production, with the scheduler account pinned."""
    env = {
        "WORKER_AUTH_MODE": "google-oidc",
        "WORKER_SERVICE_URL": URL,
        "WORKER_ALLOWED_INVOKERS": f"{SCOUT},{SCHEDULER}",
        "WORKER_ALLOWED_INVOKER_IDS": f"{SCHEDULER}={SCHEDULER_ID}",
        **({"K_SERVICE": "tesla-worker"} if on_cloud_run else {}),
    }
    settings = load_settings({"BACKEND": "local", "STATE_DIR": str(tmp_path), **env}, component="worker")
    auth = build_authenticator(settings, ManualClock(NOW), FACTORY.certs)
    return fake_world(tmp_path, now=NOW, authenticator=auth, **env)


@pytest.mark.parametrize("on_cloud_run", [True, False], ids=["on_cloud_run", "elsewhere"])
def test_a_pinned_account_with_another_unique_id_is_refused(tmp_path: Path, on_cloud_run: bool) -> None:
    world = pinned_world(tmp_path, on_cloud_run=on_cloud_run)

    def token(sub: str) -> str:
        raw = signed(email=SCHEDULER, sub=sub)
        return bearer(strip_signature(raw) if on_cloud_run else raw)

    # The e-mail of a deleted and re-created account: same name, new unique id.
    assert_every_endpoint_refuses(world, token("109999999999999999999"), 403)
    assert_every_endpoint_admits(world, {"Authorization": token(SCHEDULER_ID)})
    assert_every_endpoint_admits(world, {"Authorization": bearer(signed(email=SCOUT, sub="1"))})  # not pinned
