"""The Tesla account's OAuth side: single-use rotating refresh tokens and expiring access tokens.

As FACTS (Tesla Fleet API) says: each refresh returns a new access token and a new refresh token
and kills the old refresh token; using a spent or unknown one answers invalid_grant.

When the old one dies is modelled as the design assumes (SECURITY.md, "The refresh-token chain";
*unconfirmed* in FACTS): the previous refresh token stays usable until the new pair is first used
(an API call with the new access token, or a refresh with the new refresh token). Using it again
before that supersedes the unused pair, whose tokens then die: two refreshes from one token still
leave only one working chain, and a refresher that crashed before storing the answer loses one
access token, not the chain. `grace=False` models the strictest reading: the old token dies at once.

Tesla's 2024-02-01 notice says a refresh also invalidates the access tokens issued before it
(*unconfirmed* in FACTS): `refresh_kills_access_tokens=True` models that reading. Access tokens are
JWTs carrying the granted scopes by default (access_tokens.py), or opaque strings.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from simulator.tesla_sim.access_tokens import TOKEN_FORMATS, new_access_token
from simulator.tesla_sim.scopes import DEFAULT_SCOPES


class TokenRefused(Exception):
    """The token endpoint's OAuth error answer."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description


@dataclass(frozen=True)
class _Issued:
    """A pair handed out for `parent`, not used yet (while it is unused, `parent` still works)."""

    parent: str
    access_token: str
    refresh_token: str


@dataclass(frozen=True)
class _Access:
    """An issued access token: until when it works and which scopes it carries."""

    expires_at: datetime
    scopes: frozenset[str]


class Account:
    """Issued tokens of one Tesla account (one Fleet API app)."""

    def __init__(
        self,
        initial_refresh_token: str,
        *,
        client_id: str | None = None,
        access_ttl_s: int = 28800,
        grace: bool = True,
        access_format: str = "jwt",
        scopes: Iterable[str] = DEFAULT_SCOPES,
        refresh_kills_access_tokens: bool = False,
        region: str = "eu",
    ) -> None:
        if access_format not in TOKEN_FORMATS:
            raise ValueError(f"access_format must be one of {', '.join(TOKEN_FORMATS)}")
        self.client_id = client_id
        self.access_ttl_s = access_ttl_s
        self.grace = grace
        self.access_format = access_format
        self.scopes: tuple[str, ...] = tuple(scopes)
        self.refresh_kills_access_tokens = refresh_kills_access_tokens
        self.region = region
        self.subject = str(uuid.uuid4())
        self._secret = secrets.token_bytes(32)
        self._refresh_tokens: set[str] = {initial_refresh_token}
        self._access_tokens: dict[str, _Access] = {}
        self._unused: dict[str, _Issued] = {}  # parent refresh token -> the pair issued for it
        self._issued_by_token: dict[str, _Issued] = {}  # new access or refresh token -> its pair
        self.refreshes = 0
        self.rejected_refreshes = 0
        self.superseded_pairs = 0

    def refresh(self, grant_type: str, client_id: str, refresh_token: str, now: datetime) -> dict[str, object]:
        """Trade a live refresh token for a new pair; the old refresh token dies (at once or on first use)."""
        if grant_type != "refresh_token":
            raise TokenRefused(400, "unsupported_grant_type", "only grant_type=refresh_token is simulated")
        if not client_id or (self.client_id is not None and client_id != self.client_id):
            raise TokenRefused(401, "invalid_client", "unknown client_id")
        if refresh_token not in self._refresh_tokens:
            self.rejected_refreshes += 1
            raise TokenRefused(401, "invalid_grant", "The refresh_token is invalid, expired or already used")
        self._first_use(refresh_token)
        self._supersede(refresh_token)
        if self.refresh_kills_access_tokens:
            self._access_tokens.clear()  # the 2024-02-01 notice's reading: older access tokens die now
        new_refresh = self.issue_refresh_token()
        expires_at = now + timedelta(seconds=self.access_ttl_s)
        access = new_access_token(
            self.access_format,
            secret=self._secret,
            subject=self.subject,
            client_id=client_id,
            scopes=self.scopes,
            region=self.region,
            now=now,
            expires_at=expires_at,
        )
        self._access_tokens[access] = _Access(expires_at, frozenset(self.scopes))
        if self.grace:
            issued = _Issued(refresh_token, access, new_refresh)
            self._unused[refresh_token] = issued
            self._issued_by_token[access] = self._issued_by_token[new_refresh] = issued
        else:
            self._refresh_tokens.discard(refresh_token)
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
        if self._access_tokens[token].expires_at <= now:
            return "token expired (401)"
        self._first_use(token)
        return None

    def scopes_of(self, token: str | None) -> frozenset[str]:
        """The scopes an issued access token carries (none for an unknown one)."""
        access = self._access_tokens.get(token or "")
        return access.scopes if access is not None else frozenset()

    def expire_access_tokens(self) -> None:
        """Make every issued access token expired (to test refresh-on-401)."""
        dead = datetime.min.replace(tzinfo=UTC)
        self._access_tokens = {token: replace(a, expires_at=dead) for token, a in self._access_tokens.items()}

    def revoke_refresh_tokens(self) -> None:
        """Kill every refresh token (the owner revoked the app): refreshes answer invalid_grant."""
        self._refresh_tokens.clear()
        self._unused.clear()
        self._issued_by_token.clear()

    def live_refresh_tokens(self) -> int:
        """How many refresh chains would work now (1 in a healthy single chain).

        A token still usable only because its successor is unused belongs to that successor's chain.
        """
        return len(self._refresh_tokens - set(self._unused))

    def usable_refresh_tokens(self) -> set[str]:
        """Every refresh token a refresh would accept now, grace-period parents included."""
        return set(self._refresh_tokens)

    def _first_use(self, token: str) -> None:
        """The pair `token` belongs to is used for the first time: its parent refresh token dies now."""
        issued = self._issued_by_token.get(token)
        if issued is None:
            return
        self._issued_by_token.pop(issued.access_token, None)
        self._issued_by_token.pop(issued.refresh_token, None)
        if self._unused.get(issued.parent) == issued:
            del self._unused[issued.parent]
            self._refresh_tokens.discard(issued.parent)

    def _supersede(self, parent: str) -> None:
        """`parent` is refreshed again before its last pair was used: that pair dies (two refreshes, one chain)."""
        issued = self._unused.pop(parent, None)
        if issued is None:
            return
        self._access_tokens.pop(issued.access_token, None)
        self._refresh_tokens.discard(issued.refresh_token)
        self._issued_by_token.pop(issued.access_token, None)
        self._issued_by_token.pop(issued.refresh_token, None)
        self.superseded_pairs += 1
