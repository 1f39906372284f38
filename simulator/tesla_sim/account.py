"""The Tesla account's OAuth side: single-use rotating refresh tokens and expiring access tokens.

As FACTS (Tesla Fleet API) says: each refresh returns a new access token and a new refresh token
and kills the old refresh token; using a spent or unknown one answers invalid_grant.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta


class TokenRefused(Exception):
    """The token endpoint's OAuth error answer."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description


class Account:
    """Issued tokens of one Tesla account (one Fleet API app)."""

    def __init__(self, initial_refresh_token: str, *, client_id: str | None = None, access_ttl_s: int = 28800) -> None:
        self.client_id = client_id
        self.access_ttl_s = access_ttl_s
        self._refresh_tokens: set[str] = {initial_refresh_token}
        self._access_tokens: dict[str, datetime] = {}
        self.refreshes = 0
        self.rejected_refreshes = 0

    def refresh(self, grant_type: str, client_id: str, refresh_token: str, now: datetime) -> dict[str, object]:
        """Trade a live refresh token for a new pair; the old refresh token dies."""
        if grant_type != "refresh_token":
            raise TokenRefused(400, "unsupported_grant_type", "only grant_type=refresh_token is simulated")
        if not client_id or (self.client_id is not None and client_id != self.client_id):
            raise TokenRefused(401, "invalid_client", "unknown client_id")
        if refresh_token not in self._refresh_tokens:
            self.rejected_refreshes += 1
            raise TokenRefused(401, "invalid_grant", "The refresh_token is invalid, expired or already used")
        self._refresh_tokens.discard(refresh_token)
        new_refresh = self.issue_refresh_token()
        access = "sim-at." + secrets.token_urlsafe(32)
        self._access_tokens[access] = now + timedelta(seconds=self.access_ttl_s)
        self.refreshes += 1
        return {
            "access_token": access,
            "refresh_token": new_refresh,
            "id_token": "sim-id." + secrets.token_urlsafe(16),
            "expires_in": self.access_ttl_s,
            "token_type": "Bearer",
        }

    def issue_refresh_token(self) -> str:
        """A new live refresh token (as when the owner authorises the app again)."""
        token = "sim-rt." + secrets.token_urlsafe(32)
        self._refresh_tokens.add(token)
        return token

    def access_problem(self, token: str | None, now: datetime) -> str | None:
        """None when the access token is valid now, else why not (Tesla-like error text)."""
        if not token or token not in self._access_tokens:
            return "invalid bearer token"
        if self._access_tokens[token] <= now:
            return "token expired (401)"
        return None

    def expire_access_tokens(self) -> None:
        """Make every issued access token expired (to test refresh-on-401)."""
        self._access_tokens = dict.fromkeys(self._access_tokens, datetime.min.replace(tzinfo=UTC))

    def revoke_refresh_tokens(self) -> None:
        """Kill every refresh token (the owner revoked the app): refreshes answer invalid_grant."""
        self._refresh_tokens.clear()

    def live_refresh_tokens(self) -> int:
        """How many refresh tokens would work now (1 in a healthy single chain)."""
        return len(self._refresh_tokens)
