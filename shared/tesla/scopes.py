"""Which OAuth scopes the Tesla access token carries, so no call is made that Tesla must refuse.

Tesla's access tokens are JWTs whose `scp` claim lists the granted scopes (FACTS); the claim is
read without verifying the signature — Tesla verifies it, we only avoid asking for what the token
cannot get. An opaque token tells nothing: then a 403 "missing scopes" answer teaches us, and the
lesson is kept (in the document store) for a day, so a token without `vehicle_location` costs one
billed 403 a day instead of one per call. Without `vehicle_location`, `vehicle_data` answers 403
for `location_data` (home-assistant/core issue 154536): we then ask for `charge_state` only.
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import datetime, timedelta
from typing import Any

from shared.clock import Clock
from shared.log import get_logger
from shared.ports import DocumentStore

log = get_logger("TESLA")

LOCATION_SCOPE = "vehicle_location"
REQUIRED_SCOPES = (
    "openid",
    "offline_access",
    "vehicle_device_data",
    LOCATION_SCOPE,
    "vehicle_cmds",
    "vehicle_charging_cmds",
)
ACCOUNT = "tesla_account"
SCOPES_DOC = "scopes"
LEARNED_FOR = timedelta(hours=24)


def token_scopes(access_token: str) -> frozenset[str] | None:
    """The scopes in a JWT access token's `scp` claim; None for an opaque token or one without the claim."""
    parts = access_token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(claims, dict):
        return None
    scp: Any = claims.get("scp")
    if isinstance(scp, str):
        scp = scp.split()
    if not isinstance(scp, list) or not all(isinstance(s, str) for s in scp):
        return None
    return frozenset(scp)


def scope_remedy(scope: str) -> str:
    """What the owner does about a missing scope."""
    return (
        f"authorise the app again with the `{scope}` scope (scopes: {' '.join(REQUIRED_SCOPES)}) "
        "and store the new refresh token (deploy/README.md, 'Tesla tokens')"
    )


class ScopeMemory:
    """Scopes a 403 showed to be missing, remembered for a day in the store (and in this process)."""

    def __init__(self, store: DocumentStore | None, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._missing: dict[str, datetime] | None = None

    def missing(self) -> frozenset[str]:
        """Scopes learned to be missing within the last day."""
        now = self._clock.now()
        with self._lock:
            if self._missing is None:
                self._missing = self._load()
            return frozenset(s for s, at in self._missing.items() if now - at < LEARNED_FOR)

    def learn_missing(self, scope: str) -> bool:
        """Remember that the token lacks `scope`; True when this is news (the caller logs it once)."""
        now = self._clock.now()
        news = scope not in self.missing()
        with self._lock:
            assert self._missing is not None
            self._missing[scope] = now
            if self._store is not None:
                self._store.set(ACCOUNT, SCOPES_DOC, {"missing": {s: t.isoformat() for s, t in self._missing.items()}})
        return news

    def forget(self, scope: str) -> None:
        """The scope worked after all (the owner re-authorised): stop avoiding it."""
        if scope not in self.missing():
            return
        with self._lock:
            assert self._missing is not None
            self._missing.pop(scope, None)
            if self._store is not None:
                self._store.set(ACCOUNT, SCOPES_DOC, {"missing": {s: t.isoformat() for s, t in self._missing.items()}})

    def _load(self) -> dict[str, datetime]:
        if self._store is None:
            return {}
        doc = self._store.get(ACCOUNT, SCOPES_DOC) or {}
        learned: dict[str, datetime] = {}
        for scope, at in (doc.get("missing") or {}).items():
            try:
                learned[str(scope)] = datetime.fromisoformat(str(at))
            except ValueError:
                continue
        return learned
