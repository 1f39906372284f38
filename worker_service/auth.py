"""Who may call the worker (contract section 5): Google ID tokens, a shared secret, or nobody checked.

Cloud Run IAM verifies a Google ID token at the edge and then replaces its signature with
`SIGNATURE_REMOVED_BY_GOOGLE`; then only the decoded claims can be checked. A token that arrives
intact (another host, a local run) is verified with google-auth against Google's certificates.
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


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: how it proved itself and, for ID tokens, its e-mail."""

    mode: str
    email: str | None = None


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

    def authenticate(self, authorization: str | None) -> Caller:
        token = bearer_token(authorization)
        if not hmac.compare_digest(token.encode(), self._secret):
            raise Forbidden("The credential is not allowed to call this service")
        return Caller(mode="shared-secret")


class NoAuth:
    """Local development only (BACKEND=local on loopback): every caller is accepted."""

    def authenticate(self, authorization: str | None) -> Caller:
        return Caller(mode="none")


CertsFetcher = Callable[[], Mapping[str, str]]


class GoogleOidcAuth:
    """A Google-signed ID token for our URL from one of the allowed service accounts."""

    def __init__(
        self,
        audience: str,
        allowed_emails: tuple[str, ...],
        clock: Clock,
        certs_fetcher: CertsFetcher | None = None,
    ) -> None:
        self._audience = audience.rstrip("/")
        self._allowed = {e.lower() for e in allowed_emails}
        self._clock = clock
        self._fetch_certs = certs_fetcher or _google_certs
        self._certs: Mapping[str, str] | None = None
        self._certs_at = 0.0
        self._lock = threading.Lock()

    def authenticate(self, authorization: str | None) -> Caller:
        token = bearer_token(authorization)
        parts = token.split(".")
        if len(parts) != 3:
            raise Unauthorized("The bearer token is not a JWT")
        if parts[2] == STRIPPED_SIGNATURE:
            claims = _decode_claims(parts[1])
        else:
            claims = self._verify_signature(token)
        return self._check_claims(claims)

    def _verify_signature(self, token: str) -> Mapping[str, Any]:
        from google.auth import exceptions, jwt  # imported lazily: only intact tokens need it

        try:
            return jwt.decode(token, certs=self._cached_certs(), verify=True, clock_skew_in_seconds=CLOCK_SKEW_S)
        except (exceptions.GoogleAuthError, ValueError) as error:
            raise Unauthorized(f"The ID token failed verification: {_reason(error)}") from None

    def _cached_certs(self) -> Mapping[str, str]:
        with self._lock:
            now = self._clock.now().timestamp()
            if self._certs is None or now - self._certs_at > CERTS_TTL_S:
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
        if audience != self._audience and not audience.startswith(self._audience + "/"):
            raise Forbidden("The ID token is addressed to another service")
        email = str(claims.get("email", "")).lower()
        if not email or claims.get("email_verified") is False:
            raise Forbidden("The ID token carries no verified e-mail")
        if email not in self._allowed:
            raise Forbidden("This service account may not call the worker")
        return Caller(mode="google-oidc", email=email)


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
    for word in ("expired", "audience", "signature", "Token used too early", "Could not verify"):
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
    return GoogleOidcAuth(settings.worker_service_url, settings.worker_allowed_invokers, clock, certs_fetcher)
