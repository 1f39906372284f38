"""The owner's browser on the status page: the login cookie, CSRF tokens, the same-origin check, flash messages.

A browser cannot send `Authorization: Bearer`, so in `shared-secret` mode the owner opens
`/login?token=<WORKER_API_TOKEN>` once and gets a cookie holding an HMAC-signed session (never the
token itself). On GCP the identity is the one Cloud Run verified: `gcloud run services proxy` adds
the owner's ID token to every request it forwards. Both credentials are ambient — a page on another
site could make the browser send them — so every form carries a CSRF token bound to the caller and
must come from the page's own origin.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from shared.ports import DocumentStore
from shared.settings import Settings

LOGIN_COOKIE = "offpeak_owner"
FLASH_COOKIE = "offpeak_flash"
LOGIN_LIFETIME = timedelta(hours=12)  # a day's use, not a standing credential
CSRF_LIFETIME = timedelta(hours=24)  # a page left open overnight still submits
FLASH_LIFETIME = timedelta(minutes=2)
CLOCK_SKEW = timedelta(minutes=5)
SECRET_COLLECTION, SECRET_ID = "owner_page", "csrf_secret"
LOOPBACK_NAMES = ("localhost",)


class Headers(Protocol):
    """What is read from request headers (a dict in tests, werkzeug's Headers in the app)."""

    def get(self, key: str, /) -> str | None: ...


def _mac(key: bytes, *parts: str) -> str:
    digest = hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# -- the login cookie (shared-secret mode) ------------------------------------------------------


def cookie_key(settings: Settings) -> bytes | None:
    """The login cookie's signing key, derived from WORKER_API_TOKEN (so rotating the token logs everyone out)."""
    if settings.worker_auth_mode != "shared-secret" or not settings.worker_api_token:
        return None
    return hmac.new(settings.worker_api_token.encode(), b"tesla-offpeak owner cookie v1", hashlib.sha256).digest()


def login_token_matches(given: str, settings: Settings) -> bool:
    """The login link's token is WORKER_API_TOKEN (constant-time; always False outside shared-secret mode)."""
    if settings.worker_auth_mode != "shared-secret" or not settings.worker_api_token:
        return False
    return _equal(given, settings.worker_api_token)


def new_login_cookie(key: bytes, now: datetime) -> str:
    """A fresh cookie value: a random session id, when it was issued, and their HMAC."""
    session_id = secrets.token_urlsafe(16)
    issued = str(int(now.timestamp()))
    return f"{session_id}.{issued}.{_mac(key, 'login', session_id, issued)}"


def login_session(value: str | None, key: bytes | None, now: datetime) -> str | None:
    """The session id of a valid, unexpired login cookie; None for anything else."""
    if not value or key is None or len(value) > 200:
        return None
    parts = value.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    session_id, issued, mac = parts
    if not _equal(mac, _mac(key, "login", session_id, issued)):
        return None
    age = now.timestamp() - int(issued)
    if age > LOGIN_LIFETIME.total_seconds() or age < -CLOCK_SKEW.total_seconds():
        return None
    return session_id


def cookie_caller_session(cookies: Mapping[str, str], settings: Settings, now: datetime) -> str | None:
    """The owner's browser session when the request carries a valid login cookie (shared-secret mode only).

    This is the check app.py's authentication hook should make before asking for a bearer header.
    """
    return login_session(cookies.get(LOGIN_COOKIE), cookie_key(settings), now)


# -- CSRF tokens and flash messages (every mode) --------------------------------------------------


def page_secret(store: DocumentStore, cache: dict[str, Any]) -> bytes:
    """The random key of CSRF tokens and flash messages, kept in the store so every instance agrees."""
    held = cache.get("owner_page_secret")
    if isinstance(held, bytes):
        return held
    fresh = secrets.token_hex(32)
    stored = store.update(SECRET_COLLECTION, SECRET_ID, lambda cur: None if cur else {"secret": fresh}) or {}
    if not stored:  # another instance wrote it first: use theirs
        stored = store.get(SECRET_COLLECTION, SECRET_ID) or {"secret": fresh}
    key = bytes.fromhex(str(stored["secret"]))
    cache["owner_page_secret"] = key
    return key


def csrf_token(key: bytes, identity: str, now: datetime) -> str:
    """A form token for this caller, valid for a day."""
    issued = str(int(now.timestamp()))
    return f"{issued}.{_mac(key, 'csrf', identity, issued)}"


def csrf_token_valid(token: str | None, key: bytes, identity: str, now: datetime) -> bool:
    """The token was made for this caller by this service, less than a day ago."""
    if not token or len(token) > 200 or "." not in token:
        return False
    issued, mac = token.split(".", 1)
    if not issued.isdigit() or not _equal(mac, _mac(key, "csrf", identity, issued)):
        return False
    age = now.timestamp() - int(issued)
    return -CLOCK_SKEW.total_seconds() <= age <= CSRF_LIFETIME.total_seconds()


def flash_value(key: bytes, kind: str, text: str, now: datetime) -> str:
    """A signed cookie value carrying one message to the next page view (Post/Redirect/Get)."""
    payload = base64.urlsafe_b64encode(json.dumps([kind, text[:300], int(now.timestamp())]).encode()).decode()
    return f"{payload}.{_mac(key, 'flash', payload)}"


def read_flash(value: str | None, key: bytes, now: datetime) -> tuple[str, str] | None:
    """(kind, text) of a signed, recent flash cookie; None otherwise."""
    if not value or "." not in value or len(value) > 2000:
        return None
    payload, mac = value.rsplit(".", 1)
    if not _equal(mac, _mac(key, "flash", payload)):
        return None
    try:
        kind, text, issued = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (ValueError, TypeError):
        return None
    if not isinstance(issued, int) or now.timestamp() - issued > FLASH_LIFETIME.total_seconds():
        return None
    return (str(kind), str(text))


# -- where a form was sent from ----------------------------------------------------------------


def from_browser(headers: Headers, cookies: Mapping[str, str]) -> bool:
    """Whether a request shows a browser's marks: browsers send Origin on every POST, and Sec-Fetch-* too.

    A request without them (curl, the owner's command line) authenticated itself with a header a
    browser cannot be made to send to another site, so it needs no CSRF token.
    """
    marks = ("Origin", "Referer", "Sec-Fetch-Site", "Sec-Fetch-Mode")
    return any(headers.get(name) for name in marks) or LOGIN_COOKIE in cookies


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def same_origin(headers: Headers, host: str) -> bool:
    """The form was posted from the page's own origin (Origin, else Referer, against the Host header).

    Through `gcloud run services proxy` the browser is on http://localhost:PORT while the proxy sets
    Host to the service's run.app name (cloud-run-proxy's director): a loopback origin in front of a
    service that is not on loopback is that proxy, on the owner's own machine.
    """
    if (headers.get("Sec-Fetch-Site") or "").lower() == "cross-site":
        return False
    origin = headers.get("Origin") or ""
    if not origin:
        referer = urlsplit(headers.get("Referer") or "")
        origin = f"{referer.scheme}://{referer.netloc}" if referer.scheme and referer.netloc else ""
    if not origin or origin == "null":
        return False
    parsed = urlsplit(origin)
    if not parsed.netloc:
        return False
    if parsed.netloc.lower() == host.lower():
        return True
    request_host = urlsplit(f"//{host}").hostname
    return _is_loopback(parsed.hostname) and not _is_loopback(request_host)
