"""Worker authentication (contract section 5) with locally signed ID tokens and shared secrets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import ManualClock
from shared.errors import Forbidden, Unauthorized
from tests.support.id_tokens import TokenFactory, forged, strip_signature
from worker_service.auth import GoogleOidcAuth, SharedSecretAuth, bearer_token

URL = "https://worker-abc-ew.a.run.app"
SCOUT = "scout@proj.iam.gserviceaccount.com"
NOW = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def factory() -> TokenFactory:
    return TokenFactory()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


def oidc(factory: TokenFactory, clock: ManualClock) -> GoogleOidcAuth:
    return GoogleOidcAuth(URL, (SCOUT,), clock, certs_fetcher=factory.certs)


def test_a_signed_token_for_our_url_from_an_allowed_account_passes(factory: TokenFactory, clock: ManualClock) -> None:
    token = factory.token(audience=URL, email=SCOUT, issued_at=clock.now().timestamp())
    caller = oidc(factory, clock).authenticate(f"Bearer {token}")
    assert caller.email == SCOUT and caller.mode == "google-oidc"


def test_scheduler_style_audience_with_a_path_passes(factory: TokenFactory, clock: ManualClock) -> None:
    token = factory.token(audience=URL + "/run-cycle", email=SCOUT, issued_at=clock.now().timestamp())
    assert oidc(factory, clock).authenticate(f"Bearer {token}").email == SCOUT


def test_a_token_stripped_by_cloud_run_is_checked_by_its_claims(factory: TokenFactory, clock: ManualClock) -> None:
    good = strip_signature(factory.token(audience=URL, email=SCOUT, issued_at=clock.now().timestamp()))
    assert oidc(factory, clock).authenticate(f"Bearer {good}").email == SCOUT
    expired = strip_signature(factory.token(audience=URL, email=SCOUT, issued_at=clock.now().timestamp() - 7200))
    with pytest.raises(Unauthorized, match="expired"):
        oidc(factory, clock).authenticate(f"Bearer {expired}")


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("wrong_audience", Forbidden),
        ("other_lookalike_host", Forbidden),
        ("not_allowed_email", Forbidden),
        ("expired", Unauthorized),
        ("not_google", Unauthorized),
        ("forged_signature", Unauthorized),
        ("other_key", Unauthorized),
    ],
)
def test_bad_id_tokens_are_refused(
    factory: TokenFactory, clock: ManualClock, kind: str, error: type[Exception]
) -> None:
    now = clock.now().timestamp()
    tokens = {
        "wrong_audience": lambda: factory.token(audience="https://other.run.app", email=SCOUT, issued_at=now),
        "other_lookalike_host": lambda: factory.token(audience=URL + ".evil.com", email=SCOUT, issued_at=now),
        "not_allowed_email": lambda: factory.token(audience=URL, email="x@evil.iam.gserviceaccount.com", issued_at=now),
        "expired": lambda: factory.token(audience=URL, email=SCOUT, issued_at=now - 7200),
        "not_google": lambda: factory.token(audience=URL, email=SCOUT, issued_at=now, issuer="https://evil.example"),
        "forged_signature": lambda: forged(
            {"iss": "https://accounts.google.com", "aud": URL, "email": SCOUT, "exp": now + 3600, "iat": now}
        ),
        "other_key": lambda: TokenFactory().token(audience=URL, email=SCOUT, issued_at=now),
    }
    with pytest.raises(error):
        oidc(factory, clock).authenticate(f"Bearer {tokens[kind]()}")


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer a b", "Bearer not-a-jwt"])
def test_missing_or_malformed_headers_are_unauthorized(
    factory: TokenFactory, clock: ManualClock, header: str | None
) -> None:
    with pytest.raises(Unauthorized):
        oidc(factory, clock).authenticate(header)


def test_expiry_follows_the_injected_clock_for_stripped_tokens(factory: TokenFactory) -> None:
    clock = ManualClock(NOW)
    token = strip_signature(factory.token(audience=URL, email=SCOUT, issued_at=NOW.timestamp(), lifetime_s=600))
    auth = oidc(factory, clock)
    assert auth.authenticate(f"Bearer {token}").email == SCOUT
    clock.advance(timedelta(minutes=12))
    with pytest.raises(Unauthorized):
        auth.authenticate(f"Bearer {token}")


def test_shared_secret_compares_exactly() -> None:
    auth = SharedSecretAuth("s" * 32)
    assert auth.authenticate("Bearer " + "s" * 32).mode == "shared-secret"
    with pytest.raises(Forbidden):
        auth.authenticate("Bearer " + "s" * 31)
    with pytest.raises(Unauthorized):
        auth.authenticate(None)


def test_bearer_token_never_echoes_the_credential() -> None:
    with pytest.raises(Unauthorized) as raised:
        bearer_token("Token secretvalue123")
    assert "secretvalue123" not in str(raised.value)
