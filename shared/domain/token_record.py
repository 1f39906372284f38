"""The Tesla token record kept in the secret store, and when it needs a refresh (pure)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

REFRESH_MARGIN = timedelta(minutes=5)
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TokenRecord:
    """What the worker stores after every refresh: the pair and when the access token dies."""

    access_token: str | None
    refresh_token: str
    expires_at: datetime
    updated_at: datetime

    def remaining(self, now: datetime) -> timedelta:
        """Time left on the access token (negative when expired or absent)."""
        if not self.access_token:
            return NEVER - now
        return self.expires_at - now

    def needs_refresh(self, now: datetime) -> bool:
        """True when under five minutes remain (contract section 3)."""
        return self.remaining(now) < REFRESH_MARGIN

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_at": self.expires_at.isoformat(),
                "updated_at": self.updated_at.isoformat(),
            }
        ).encode()

    @classmethod
    def from_json(cls, payload: bytes) -> TokenRecord:
        """Parse a stored record; ValueError (without the payload) when it is not one."""
        try:
            data = json.loads(payload)
            expires = datetime.fromisoformat(data.get("expires_at") or NEVER.isoformat())
            updated = datetime.fromisoformat(data.get("updated_at") or NEVER.isoformat())
            refresh = data["refresh_token"]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ValueError("the token record is not valid JSON with a refresh_token") from None
        if not isinstance(refresh, str) or not refresh:
            raise ValueError("the token record has no refresh_token")
        if expires.tzinfo is None or updated.tzinfo is None:
            raise ValueError("the token record's times lack an offset")
        access = data.get("access_token")
        return cls(access if isinstance(access, str) and access else None, refresh, expires, updated)

    @classmethod
    def bootstrap(cls, refresh_token: str, now: datetime) -> TokenRecord:
        """A record holding only the owner's first refresh token (the access token comes with the first refresh)."""
        return cls(None, refresh_token, NEVER, now)


def fingerprint(token: str) -> str:
    """A short, non-reversible name for a token, safe to store and log."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]
