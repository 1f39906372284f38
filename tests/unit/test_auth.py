"""Worker authentication (contract section 5) with locally signed ID tokens and shared secrets.

`oidc()` is the authenticator as it runs on Cloud Run (K_SERVICE set) unless told otherwise: there
Cloud Run's front end has checked the token and stripped its signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.clock import ManualClock
from shared.errors import Forbidden, Unauthorized
from shared.settings import load_settings
from tests.support.id_tokens import TokenFactory, forged, strip_signature
from worker_service.auth import (
    CERTS_REFETCH_MIN_INTERVAL_S,
    EVERY_ROLE,
    GCLOUD_CLIENT_ID,
    GoogleOidcAuth,
    SharedSecretAuth,
    bearer_token,
    build_authenticator,
)
from worker_service.auth import OWNER as OWNER_ROLE
from worker_service.auth import SCHEDULER as SCHEDULER_ROLE
from worker_service.auth import SCOUT as SCOUT_ROLE

URL = "https://worker-abc-ew.a.run.app"
SCOUT = "scout@proj.iam.gserviceaccount.com"
SCOUT_ID = "108453627190145523399"
ATTACKER = "123456789-compute@developer.gserviceaccount.com"  # may invoke the service, not call the worker
NOW = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def factory() -> TokenFactory:
    return TokenFactory()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


def oidc(
    factory: TokenFactory, clock: ManualClock, *, on_cloud_run: bool = True, pinned: Mapping[str, str] | None = None
) -> GoogleOidcAuth:
    return GoogleOidcAuth(
        URL, (SCOUT,), clock, certs_fetcher=factory.certs, on_cloud_run=on_cloud_run, pinned_ids=pinned
    )


class CountingCerts:
    """Google's certificate endpoint as a list of answers; the last one repeats. Counts the fetches."""

    def __init__(self, *answers: Mapping[str, str]) -> None:
        self.answers = list(answers)
        self.fetches = 0

    def __call__(self) -> Mapping[str, str]:
        self.fetches += 1
        return self.answers[min(self.fetches, len(self.answers)) - 1]


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


def test_a_stripped_token_is_refused_off_cloud_run_in_either_header(factory: TokenFactory, clock: ManualClock) -> None:
    good = strip_signature(factory.token(audience=URL, email=SCOUT, issued_at=clock.now().timestamp()))
    auth = oidc(factory, clock, on_cloud_run=False)
    with pytest.raises(Unauthorized, match="only behind Cloud Run"):
        auth.authenticate(f"Bearer {good}")
    with pytest.raises(Unauthorized, match="only behind Cloud Run"):
        auth.authenticate(None, f"Bearer {good}")
    # The same token with its signature is verified and accepted anywhere.
    signed = factory.token(audience=URL, email=SCOUT, issued_at=clock.now().timestamp())
    assert auth.authenticate(f"Bearer {signed}").email == SCOUT


def test_with_both_headers_the_identity_comes_from_the_one_cloud_run_verified(
    factory: TokenFactory, clock: ManualClock
) -> None:
    now = clock.now().timestamp()
    attacker = strip_signature(factory.token(audience=URL, email=ATTACKER, issued_at=now))
    claims = {"iss": "https://accounts.google.com", "aud": URL, "email": SCOUT, "email_verified": True}
    impersonation = strip_signature(forged({**claims, "exp": now + 3600, "iat": now}))
    auth = oidc(factory, clock)
    with pytest.raises(Forbidden, match="may not call"):
        auth.authenticate(f"Bearer {impersonation}", f"Bearer {attacker}")
    # The scout's own token in the verified header is accepted, whatever Authorization holds.
    scout = strip_signature(factory.token(audience=URL, email=SCOUT, issued_at=now))
    assert auth.authenticate("Bearer whatever", f"Bearer {scout}").email == SCOUT
    assert auth.authenticate(None, f"Bearer {scout}").email == SCOUT
    # A present but empty verified header is not a reason to fall back to Authorization.
    with pytest.raises(Unauthorized):
        auth.authenticate(f"Bearer {scout}", "")


@pytest.mark.parametrize("on_cloud_run", [True, False])
@pytest.mark.parametrize(
    "verified", [{"email_verified": False}, {"email_verified": "true"}, {"email_verified": None}, "missing"]
)
def test_email_verified_must_be_present_and_true(
    factory: TokenFactory, clock: ManualClock, on_cloud_run: bool, verified: object
) -> None:
    now = clock.now().timestamp()
    extra = {"omit": ("email_verified",)} if verified == "missing" else verified
    assert isinstance(extra, dict)
    token = factory.token(audience=URL, email=SCOUT, issued_at=now, **extra)
    with pytest.raises(Forbidden, match="verified e-mail"):
        oidc(factory, clock, on_cloud_run=on_cloud_run).authenticate(f"Bearer {token}")


def test_an_unknown_key_id_refetches_the_certificates_once(clock: ManualClock) -> None:
    old, new = TokenFactory("old-key"), TokenFactory("new-key")
    certs = CountingCerts(old.certs(), {**old.certs(), **new.certs()})
    auth = GoogleOidcAuth(URL, (SCOUT,), clock, certs_fetcher=certs)
    now = clock.now().timestamp()
    assert auth.authenticate(f"Bearer {old.token(audience=URL, email=SCOUT, issued_at=now)}").email == SCOUT
    assert certs.fetches == 1
    # Google rotated its keys within our cache hour: the new key id is unknown, one refetch finds it.
    assert auth.authenticate(f"Bearer {new.token(audience=URL, email=SCOUT, issued_at=now)}").email == SCOUT
    assert certs.fetches == 2
    for _ in range(3):
        auth.authenticate(f"Bearer {new.token(audience=URL, email=SCOUT, issued_at=now)}")
    assert certs.fetches == 2  # known now: served from the cache


def test_made_up_key_ids_cannot_make_us_hammer_google(factory: TokenFactory, clock: ManualClock) -> None:
    certs = CountingCerts(factory.certs())
    auth = GoogleOidcAuth(URL, (SCOUT,), clock, certs_fetcher=certs)
    now = clock.now().timestamp()

    def attempt(key_id: str) -> None:
        token = TokenFactory(key_id).token(audience=URL, email=SCOUT, issued_at=now)
        with pytest.raises(Unauthorized, match="key id"):
            auth.authenticate(f"Bearer {token}")

    for n in range(20):
        attempt(f"garbage-{n}")
    assert certs.fetches == 2  # the first fetch and one refetch, not one per request
    clock.advance(timedelta(seconds=CERTS_REFETCH_MIN_INTERVAL_S + 1))
    for n in range(20):
        attempt(f"more-garbage-{n}")
    assert certs.fetches == 3
    signed = factory.token(audience=URL, email=SCOUT, issued_at=now)
    assert auth.authenticate(f"Bearer {signed}").email == SCOUT  # the real key still verifies


@pytest.mark.parametrize("on_cloud_run", [True, False])
def test_a_pinned_account_must_carry_its_unique_id(
    factory: TokenFactory, clock: ManualClock, on_cloud_run: bool
) -> None:
    now = clock.now().timestamp()
    auth = oidc(factory, clock, on_cloud_run=on_cloud_run, pinned={SCOUT.upper(): SCOUT_ID})

    def token(**claims: object) -> str:
        signed = factory.token(audience=URL, email=SCOUT, issued_at=now, **claims)  # type: ignore[arg-type]
        return strip_signature(signed) if on_cloud_run else signed

    assert auth.authenticate(f"Bearer {token(sub=SCOUT_ID)}").email == SCOUT
    # The same e-mail with another id: an account deleted and re-created under the old name.
    for claims in ({"sub": "108453627190145523398"}, {"sub": int(SCOUT_ID)}, {"omit": ("sub",)}):
        with pytest.raises(Forbidden, match="not the one"):
            auth.authenticate(f"Bearer {token(**claims)}")


def test_the_settings_decide_cloud_run_trust_and_pins(
    factory: TokenFactory, clock: ManualClock, tmp_path: Path
) -> None:
    env = {
        "STATE_DIR": str(tmp_path),
        "BACKEND": "local",
        "WORKER_AUTH_MODE": "google-oidc",
        "WORKER_SERVICE_URL": URL,
        "WORKER_ALLOWED_INVOKERS": SCOUT,
        "WORKER_ALLOWED_INVOKER_IDS": f"{SCOUT}={SCOUT_ID}",
    }
    now = clock.now().timestamp()
    stripped = strip_signature(factory.token(audience=URL, email=SCOUT, issued_at=now, sub=SCOUT_ID))
    wrong_id = strip_signature(factory.token(audience=URL, email=SCOUT, issued_at=now, sub="1"))
    elsewhere = build_authenticator(load_settings(env), clock, factory.certs)
    with pytest.raises(Unauthorized):
        elsewhere.authenticate(f"Bearer {stripped}")
    on_cloud_run = build_authenticator(load_settings({**env, "K_SERVICE": "tesla-worker"}), clock, factory.certs)
    assert on_cloud_run.authenticate(f"Bearer {stripped}").email == SCOUT
    with pytest.raises(Forbidden):
        on_cloud_run.authenticate(f"Bearer {wrong_id}")


OWNER = "jan.kowalski@gmail.com"
SCHEDULER = "scheduler@proj.iam.gserviceaccount.com"


def with_roles(factory: TokenFactory, clock: ManualClock, *, on_cloud_run: bool = True) -> GoogleOidcAuth:
    return GoogleOidcAuth(
        URL,
        (SCOUT, SCHEDULER),
        clock,
        certs_fetcher=factory.certs,
        on_cloud_run=on_cloud_run,
        scout_emails=(SCOUT,),
        owner_emails=(OWNER,),
    )


def test_each_identity_gets_its_role(factory: TokenFactory, clock: ManualClock) -> None:
    now = clock.now().timestamp()
    auth = with_roles(factory, clock)

    def roles_of(email: str, audience: str = URL) -> frozenset[str]:
        token = strip_signature(factory.token(audience=audience, email=email, issued_at=now))
        return auth.authenticate(None, f"Bearer {token}").roles

    assert roles_of(SCOUT) == {SCOUT_ROLE}
    assert roles_of(SCHEDULER, URL + "/run-cycle") == {SCHEDULER_ROLE}
    assert roles_of(OWNER, GCLOUD_CLIENT_ID) == {OWNER_ROLE}
    assert roles_of(OWNER.upper(), GCLOUD_CLIENT_ID) == {OWNER_ROLE}
    assert roles_of(OWNER) == {OWNER_ROLE}  # an owner's token for our URL: still only the owner
    # Before WORKER_SCOUT_INVOKERS existed every allowed account could call everything; it still can.
    legacy = GoogleOidcAuth(URL, (SCOUT, SCHEDULER), clock, certs_fetcher=factory.certs, on_cloud_run=True)
    scheduler = strip_signature(factory.token(audience=URL, email=SCHEDULER, issued_at=now))
    assert legacy.authenticate(f"Bearer {scheduler}").roles == EVERY_ROLE


@pytest.mark.parametrize(
    ("email", "match"),
    [
        (SCOUT, "service account"),
        (SCHEDULER, "service account"),
        ("123456789012-compute@developer.gserviceaccount.com", "service account"),
        ("proj@appspot.gserviceaccount.com", "service account"),
        ("somebody@gmail.com", "not one of the worker's owners"),
    ],
)
def test_gclouds_audience_is_only_for_owner_persons(
    factory: TokenFactory, clock: ManualClock, email: str, match: str
) -> None:
    token = strip_signature(factory.token(audience=GCLOUD_CLIENT_ID, email=email, issued_at=clock.now().timestamp()))
    with pytest.raises(Forbidden, match=match):
        with_roles(factory, clock).authenticate(f"Bearer {token}")


def test_an_owner_token_for_gclouds_audience_off_cloud_run_must_verify(
    factory: TokenFactory, clock: ManualClock
) -> None:
    now = clock.now().timestamp()
    signed = factory.token(audience=GCLOUD_CLIENT_ID, email=OWNER, issued_at=now)
    auth = with_roles(factory, clock, on_cloud_run=False)
    with pytest.raises(Unauthorized, match="only behind Cloud Run"):
        auth.authenticate(f"Bearer {strip_signature(signed)}")
    assert auth.authenticate(f"Bearer {signed}").roles == {OWNER_ROLE}
    claims = {"iss": "https://accounts.google.com", "aud": GCLOUD_CLIENT_ID, "email": OWNER, "email_verified": True}
    with pytest.raises(Unauthorized):
        auth.authenticate(f"Bearer {forged({**claims, 'exp': now + 3600, 'iat': now})}")
