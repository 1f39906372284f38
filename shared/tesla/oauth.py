"""The one token-endpoint call: trade a refresh token for a new access + refresh token pair.

Tesla refresh tokens are single-use (FACTS, Tesla Fleet API): the answer carries the only refresh
token that works from now on. So a request that may have reached the server is never retried —
a read timeout after sending may already have consumed the old token — only failures to connect.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import requests
import urllib3

from shared.clock import Clock, SystemClock
from shared.http_json import json_object
from shared.log import get_logger
from shared.tesla.errors import TeslaAuthError, TeslaError, TeslaRateLimited, TeslaUnavailable, TokenRejected
from shared.tesla.retry_after import parse_retry_after

log = get_logger("TOKENS")

# Token-endpoint error codes that mean the grant is dead: only the owner can authorise again.
REAUTHORISE_ERRORS = frozenset({"invalid_grant", "login_required"})


@dataclass(frozen=True)
class TokenGrant:
    """What a refresh returns; the tokens are hidden from repr so they never reach a log line."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int


def refresh_tokens(
    auth_url: str,
    client_id: str,
    refresh_token: str,
    *,
    client_secret: str | None = None,
    session: requests.Session | None = None,
    timeout: float | tuple[float, float] = (5, 30),
    connect_attempts: int = 3,
    clock: Clock | None = None,
) -> TokenGrant:
    """POST grant_type=refresh_token (contract section 8); retries only attempts that never connected."""
    form = {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": refresh_token}
    if client_secret:
        form["client_secret"] = client_secret
    http = session or requests.Session()
    sleeper = clock or SystemClock()
    for attempt in range(1, max(1, connect_attempts) + 1):
        try:
            response = http.post(auth_url, data=form, timeout=timeout, headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            if _never_reached_server(exc) and attempt < connect_attempts:
                log.warning("token endpoint unreachable, retrying", fields={"attempt": attempt})
                sleeper.sleep(min(2.0**attempt, 10.0))
                continue
            raise _transport_error(exc) from None
        log.info("token refresh answered", fields={"status": response.status_code, "attempt": attempt})
        return _grant_from(response)
    raise TeslaUnavailable("token endpoint unreachable")  # pragma: no cover - the loop always returns or raises


def _never_reached_server(exc: requests.RequestException) -> bool:
    """True only when no byte of the request can have reached Tesla (DNS, refused, connect timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError)


def _transport_error(exc: requests.RequestException) -> TeslaUnavailable:
    if _never_reached_server(exc):
        return TeslaUnavailable("token endpoint unreachable; the refresh token was not used")
    # The request may have been processed: the old refresh token may now be spent.
    return TeslaUnavailable(f"token refresh got no answer ({type(exc).__name__}); the refresh token may be spent")


def _grant_from(response: requests.Response) -> TokenGrant:
    body = json_object(response)
    status = response.status_code
    if status == 200:
        access, refresh, expires = body.get("access_token"), body.get("refresh_token"), body.get("expires_in")
        if not isinstance(access, str) or not isinstance(refresh, str) or not access or not refresh:
            raise TeslaError("token response lacks access_token or refresh_token", tesla_status=status)
        try:
            return TokenGrant(access, refresh, int(expires if expires is not None else 28800))
        except (TypeError, ValueError):
            raise TeslaError("token response has a malformed expires_in", tesla_status=status) from None
    error = str(body.get("error") or "")
    if error in REAUTHORISE_ERRORS:
        raise TokenRejected(
            f"Tesla rejected the refresh token ({error}): the owner must authorise again", tesla_status=status
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), None)
        raise TeslaRateLimited("token endpoint rate limited", retry_after=retry_after)
    if status >= 500:
        raise TeslaUnavailable(f"token endpoint answered {status}", tesla_status=status)
    if status in (400, 401, 403):
        raise TeslaAuthError(f"token endpoint refused the request ({error or status})", tesla_status=status)
    raise TeslaError(f"token endpoint answered {status}", tesla_status=status)
