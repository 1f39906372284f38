"""Who may call the worker (contract section 5): Google ID tokens, a shared secret, or nobody checked.

Cloud Run IAM verifies a Google ID token at the edge and then replaces its signature with
`SIGNATURE_REMOVED_BY_GOOGLE`. When a request carries `X-Serverless-Authorization`, Cloud Run
verifies that header and passes `Authorization` through unchecked, so the identity is taken from
the header Cloud Run verified. A stripped token is trusted only on Cloud Run (`K_SERVICE` set);
anywhere else every token's signature is verified with google-auth against Google's certificates.

Each caller gets roles (`scout`, `scheduler`, `owner`); `worker_service/roles.py` says which roles
each endpoint admits. Owners (WORKER_OWNER_EMAILS) may call with their own `gcloud auth login`
identity, whose ID token is addressed to gcloud's OAuth client rather than to our URL.
"""

from __future__ import annotations

import base64
import hmac
import json
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.clock import Clock
from shared.errors import Forbidden, Unauthorized
from shared.settings import Settings

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
STRIPPED_SIGNATURE = "SIGNATURE_REMOVED_BY_GOOGLE"
CLOCK_SKEW_S = 60
CERTS_TTL_S = 3600
# Google publishes a new key before signing with it, so a token naming a key id we have not seen
# means our copy is stale: refetch, but at most this often, so made-up key ids cannot make every
# request a call to Google.
CERTS_REFETCH_MIN_INTERVAL_S = 60
# `gcloud auth print-identity-token` for a user account puts gcloud's own OAuth client id in `aud`;
# Cloud Run accepts such a token from a user holding roles/run.invoker (FACTS, "Auth between services").
GCLOUD_CLIENT_ID = "32555940559.apps.googleusercontent.com"
SERVICE_ACCOUNT_DOMAIN = "gserviceaccount.com"

SCOUT, SCHEDULER, OWNER = "scout", "scheduler", "owner"
EVERY_ROLE = frozenset({SCOUT, SCHEDULER, OWNER})


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: how it proved itself, its e-mail (ID tokens) and the roles it holds."""

    mode: str
    email: str | None = None
    roles: frozenset[str] = frozenset()

    @property
    def identity(self) -> str:
        """Who this is, for logs: the e-mail, or the local credential it used."""
        if self.email:
            return self.email
        return "local owner (shared secret)" if self.mode == "shared-secret" else f"local ({self.mode})"


def is_service_account(email: str) -> bool:
    """Whether the e-mail names a Google service account (they all live under gserviceaccount.com)."""
    domain = email.lower().rpartition("@")[2]
    return domain == SERVICE_ACCOUNT_DOMAIN or domain.endswith("." + SERVICE_ACCOUNT_DOMAIN)


def bearer_token(authorization: str | None) -> str:
    """The credential of an `Authorization: Bearer ...` header, or Unauthorized."""
    if not authorization:
        raise Unauthorized("Authentication required: send Authorization: Bearer <token>")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or any(c.isspace() for c in token):
        raise Unauthorized("Malformed Authorization header: expected Bearer <token>")
    return token


class SharedSecretAuth:
    """Bearer $WORKER_API_TOKEN, compared in constant time."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def authenticate(self, authorization: str | None, serverless_authorization: str | None = None) -> Caller:
        """The caller of a request with these headers (only `Authorization` carries the secret)."""
        token = bearer_token(authorization)
        if not hmac.compare_digest(token.encode(), self._secret):
            raise Forbidden("The credential is not allowed to call this service")
        # Locally one secret is the scout's, the scheduler's and the owner's key alike.
        return Caller(mode="shared-secret", roles=EVERY_ROLE)


class NoAuth:
    """Local development only (BACKEND=local on loopback): every caller is accepted."""

    def authenticate(self, authorization: str | None, serverless_authorization: str | None = None) -> Caller:
        """Everyone."""
        return Caller(mode="none", roles=EVERY_ROLE)


CertsFetcher = Callable[[], Mapping[str, str]]


class GoogleOidcAuth:
    """A Google-signed ID token for our URL from an allowed service account, or from an owner.

    `scout_emails` are the service accounts that may reach the token endpoints; every other allowed
    account is a scheduler. Left None, every allowed account holds every role (the behaviour before
    roles existed). Owners hold the owner role only, never the scout's.
    """

    def __init__(
        self,
        audience: str,
        allowed_emails: tuple[str, ...],
        clock: Clock,
        certs_fetcher: CertsFetcher | None = None,
        *,
        on_cloud_run: bool = False,
        pinned_ids: Mapping[str, str] | None = None,
        scout_emails: tuple[str, ...] | None = None,
        owner_emails: tuple[str, ...] = (),
    ) -> None:
        self._audience = audience.rstrip("/")
        self._allowed = {e.lower() for e in allowed_emails}
        self._scouts = None if scout_emails is None else {e.lower() for e in scout_emails}
        self._owners = {e.lower() for e in owner_emails}
        self._clock = clock
        self._fetch_certs = certs_fetcher or _google_certs
        # Only Cloud Run's front end strips signatures after checking them; elsewhere a stripped
        # token is just claims anyone could have written.
        self._on_cloud_run = on_cloud_run
        self._pinned = {e.lower(): i for e, i in (pinned_ids or {}).items()}
        self._certs: Mapping[str, str] | None = None
        self._certs_at = 0.0
        self._refetched_at: float | None = None
        self._lock = threading.Lock()

    def authenticate(self, authorization: str | None, serverless_authorization: str | None = None) -> Caller:
        """The caller, from `X-Serverless-Authorization` when present (Cloud Run verified it), else `Authorization`."""
        # With both headers, Cloud Run checked only X-Serverless-Authorization and passed
        # Authorization through untouched: anyone allowed to invoke could put anything there.
        header = serverless_authorization if serverless_authorization is not None else authorization
        token = bearer_token(header)
        parts = token.split(".")
        if len(parts) != 3:
            raise Unauthorized("The bearer token is not a JWT")
        if parts[2] == STRIPPED_SIGNATURE:
            if not self._on_cloud_run:
                raise Unauthorized("A token without its signature is accepted only behind Cloud Run")
            claims = _decode_claims(parts[1])
        else:
            claims = self._verify_signature(token)
        return self._check_claims(claims)

    def _verify_signature(self, token: str) -> Mapping[str, Any]:
        from google.auth import exceptions, jwt  # imported lazily: only intact tokens need it

        try:
            key_id = jwt.decode_header(token).get("kid")
        except (exceptions.GoogleAuthError, ValueError, AttributeError):
            raise Unauthorized("The ID token's header cannot be decoded") from None
        certs = self._cached_certs()
        if isinstance(key_id, str) and key_id not in certs:
            certs = self._refetch_for(key_id)
        try:
            return jwt.decode(token, certs=certs, verify=True, clock_skew_in_seconds=CLOCK_SKEW_S)
        except (exceptions.GoogleAuthError, ValueError) as error:
            raise Unauthorized(f"The ID token failed verification: {_reason(error)}") from None

    def _cached_certs(self) -> Mapping[str, str]:
        with self._lock:
            now = self._clock.now().timestamp()
            if self._certs is None or now - self._certs_at > CERTS_TTL_S:
                self._certs = self._fetch_certs()
                self._certs_at = now
            return self._certs

    def _refetch_for(self, key_id: str) -> Mapping[str, str]:
        with self._lock:
            assert self._certs is not None  # _cached_certs ran first
            now = self._clock.now().timestamp()
            recently = self._refetched_at is not None and now - self._refetched_at < CERTS_REFETCH_MIN_INTERVAL_S
            # Another thread may have refetched while this one waited for the lock.
            if key_id in self._certs or recently:
                return self._certs
            # Counted before fetching: a failing fetch must not be retried by every request either.
            self._refetched_at = now
            self._certs = self._fetch_certs()
            self._certs_at = now
            return self._certs

    def _check_claims(self, claims: Mapping[str, Any]) -> Caller:
        now = self._clock.now().timestamp()
        exp = claims.get("exp")
        # NaN or infinity would never compare as expired: a token carrying one lives forever.
        if (
            isinstance(exp, bool)
            or not isinstance(exp, int | float)
            or not math.isfinite(exp)
            or exp + CLOCK_SKEW_S < now
        ):
            raise Unauthorized("The ID token has expired")
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise Unauthorized("The ID token was not issued by Google")
        audience = str(claims.get("aud", "")).rstrip("/")
        # Cloud Scheduler puts the full target URL in `aud` unless told otherwise; both are ours.
        ours = audience == self._audience or audience.startswith(self._audience + "/")
        if not ours and audience != GCLOUD_CLIENT_ID:
            raise Forbidden("The ID token is addressed to another service")
        email = str(claims.get("email", "")).lower()
        # Google sets email_verified true on service-account and Google-account tokens alike.
        if not email or claims.get("email_verified") is not True:
            raise Forbidden("The ID token carries no verified e-mail")
        if not ours:
            return self._gcloud_user(email)
        if email in self._owners:
            return Caller(mode="google-oidc", email=email, roles=frozenset({OWNER}))
        if email not in self._allowed:
            raise Forbidden("This service account may not call the worker")
        pinned = self._pinned.get(email)
        # A deleted account's e-mail can be re-created by a project editor; its unique id cannot.
        if pinned is not None and claims.get("sub") != pinned:
            raise Forbidden("This service account is not the one the worker was deployed for")
        if self._scouts is None:
            return Caller(mode="google-oidc", email=email, roles=EVERY_ROLE)
        role = SCOUT if email in self._scouts else SCHEDULER
        return Caller(mode="google-oidc", email=email, roles=frozenset({role}))

    def _gcloud_user(self, email: str) -> Caller:
        """A token gcloud minted for its logged-in account: good for an owner's person, nobody else.

        Any Google account can get such a token, so the audience proves nothing about us; what counts
        is that Cloud Run (or Google's signature) vouches for the e-mail and that the e-mail is an owner.
        Service accounts address their tokens to our URL: one using gcloud's client id is refused, so a
        scout or scheduler token can never come in through this door.
        """
        if is_service_account(email):
            raise Forbidden("A service account must present an ID token addressed to the worker's URL")
        if email not in self._owners:
            raise Forbidden("This Google account is not one of the worker's owners (WORKER_OWNER_EMAILS)")
        return Caller(mode="google-oidc", email=email, roles=frozenset({OWNER}))


def _decode_claims(segment: str) -> Mapping[str, Any]:
    try:
        padded = segment + "=" * (-len(segment) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise Unauthorized("The ID token's claims cannot be decoded") from None
    if not isinstance(claims, dict):
        raise Unauthorized("The ID token's claims are not an object")
    return claims


def _reason(error: Exception) -> str:
    text = str(error).split("\n", 1)[0]
    # google-auth messages can quote the token's claims; keep only the kind of failure.
    for word in ("expired", "audience", "signature", "Token used too early", "Could not verify", "key id"):
        if word.lower() in text.lower():
            return word
    return "invalid token"


def _google_certs() -> Mapping[str, str]:
    import google.auth.transport.requests

    request = google.auth.transport.requests.Request()
    response = request(url=GOOGLE_CERTS_URL, method="GET", timeout=10)
    if response.status != 200:
        raise Unauthorized("Google's signing certificates are unavailable; try again")
    certs = json.loads(response.data.decode())
    return certs if isinstance(certs, dict) else {}


Authenticator = SharedSecretAuth | NoAuth | GoogleOidcAuth


def build_authenticator(settings: Settings, clock: Clock, certs_fetcher: CertsFetcher | None = None) -> Authenticator:
    """The authenticator the settings ask for."""
    if settings.worker_auth_mode == "none":
        return NoAuth()
    if settings.worker_auth_mode == "shared-secret":
        assert settings.worker_api_token is not None  # load_settings guarantees it
        return SharedSecretAuth(settings.worker_api_token)
    return GoogleOidcAuth(
        settings.worker_service_url,
        settings.worker_allowed_invokers,
        clock,
        certs_fetcher,
        on_cloud_run=settings.on_cloud_run,
        pinned_ids=settings.worker_allowed_invoker_ids,
        scout_emails=settings.worker_scout_invokers or None,
        owner_emails=settings.worker_owner_emails,
    )
