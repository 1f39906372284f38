"""The worker is the only place that refreshes Tesla tokens.

Refresh tokens are single-use: a second refresh with the same token, or losing the new one,
locks the owner out. So one refresh runs at a time across threads, processes and Cloud Run
instances (a lease in the document store), the new pair is stored as a new secret version before
its access token is used, and whoever waited re-reads the record instead of refreshing again.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.clock import Clock
from shared.domain.token_record import TokenRecord, fingerprint
from shared.errors import ConfigError, RateLimited, StoreUnavailable, UpstreamError
from shared.log import get_logger, register_secrets
from shared.ports import DocumentStore, SecretStore
from shared.tesla.errors import TokenRejected

log = get_logger("TOKENS")

LOCKS = "locks"
LEASE_ID = "tesla-token-refresh"
RATE_ID = "tesla-token-refresh-rate"
STATUS_COLLECTION = "status"
STATUS_ID = "tokens"
LEASE_SECONDS = 60
RATE_LIMIT_SECONDS = 60
WAIT_POLL_SECONDS = 0.25
KEEP_VERSIONS = 2
STORE_ATTEMPTS = 4
REAUTH_HELP = "the owner must re-authorise: see README section 'Re-authorising Tesla access'"


class Grant(Protocol):
    access_token: str
    refresh_token: str
    expires_in: int


Refresher = Callable[[str], Grant]


class ReauthRequired(UpstreamError):
    """Tesla rejected the stored refresh token; nothing works until the owner re-authorises."""

    status = 503
    code = "reauthorisation_required"


@dataclass(frozen=True)
class RefreshOutcome:
    """What a refresh request led to."""

    record: TokenRecord
    refreshed: bool


class TokenService:
    """Reads, refreshes and stores the Tesla token record."""

    def __init__(
        self,
        *,
        secrets: SecretStore,
        store: DocumentStore,
        clock: Clock,
        refresher: Refresher,
        secret_name: str,
        bootstrap_refresh_token: str | None,
    ) -> None:
        self._secrets = secrets
        self._store = store
        self._clock = clock
        self._refresher = refresher
        self._secret_name = secret_name
        self._bootstrap = bootstrap_refresh_token
        self._local = threading.Lock()
        self._health: dict[str, Any] = {"state": "ok"}
        # Wired by the container to raise the reauthorisation_required event; given the dead token's fingerprint.
        self.on_rejected: Callable[[str], None] | None = None

    # -- reading ---------------------------------------------------------------------------

    def read_record(self) -> TokenRecord | None:
        """The stored record, bootstrapping it from TESLA_REFRESH_TOKEN when the store is empty."""
        payload = self._secrets.access_latest(self._secret_name)
        if payload is None:
            if not self._bootstrap:
                return None
            record = TokenRecord.bootstrap(self._bootstrap, self._clock.now())
            self._secrets.add_version(self._secret_name, record.to_json())
            log.info("token record bootstrapped from TESLA_REFRESH_TOKEN")
            return record
        try:
            record = TokenRecord.from_json(payload)
        except ValueError as error:
            raise ConfigError(f"{self._secret_name}: {error}") from None
        register_secrets([record.access_token, record.refresh_token])
        return record

    def _require_record(self) -> TokenRecord:
        record = self.read_record()
        if record is None:
            raise ConfigError("TESLA_REFRESH_TOKEN is required: the token store is empty")
        return record

    def get_access_token(self, force_refresh: bool = False, *, stale_token: str | None = None) -> str:
        """A valid access token, refreshing first when under five minutes remain.

        `force_refresh` is what a 401 from Tesla asks for; `stale_token` is the token that failed,
        so a refresh someone else already made is used instead of refreshing twice.
        """
        record = self._require_record()
        fresh = not record.needs_refresh(self._clock.now())
        if fresh and not force_refresh and record.access_token:
            return record.access_token
        if force_refresh and stale_token and record.access_token and record.access_token != stale_token and fresh:
            return record.access_token
        outcome = self.refresh(
            reason="401 from Tesla" if force_refresh else "expiring",
            force=force_refresh,
            stale_token=stale_token,
            rate_limited=False,
        )
        assert outcome.record.access_token is not None
        return outcome.record.access_token

    def cached_status(self) -> dict[str, Any]:
        """The token chain's health as this process last saw it, for /health (no store or Tesla call)."""
        return dict(self._health)

    # -- refreshing ------------------------------------------------------------------------

    def refresh(
        self,
        *,
        reason: str,
        force: bool = True,
        stale_token: str | None = None,
        rate_limited: bool = True,
    ) -> RefreshOutcome:
        """Refresh once across every process; waiters get the holder's result.

        With `rate_limited` (the /refresh-tokens endpoint) a second attempt within 60 s is refused
        with RateLimited; the limit lives in the store so it spans restarts and instances.
        """
        with self._local:
            owner = uuid.uuid4().hex
            deadline = self._clock.now() + timedelta(seconds=LEASE_SECONDS + 5)
            while not self._acquire_lease(owner):
                if self._clock.now() > deadline:
                    raise StoreUnavailable("Another token refresh is still running; try again shortly")
                self._clock.sleep(WAIT_POLL_SECONDS)
                record = self._require_record()
                if not record.needs_refresh(self._clock.now()) and (
                    stale_token is None or record.access_token != stale_token
                ):
                    return RefreshOutcome(record, refreshed=False)
            try:
                return self._refresh_holding_lease(reason, force, stale_token, rate_limited)
            finally:
                self._release_lease(owner)

    def _refresh_holding_lease(
        self, reason: str, force: bool, stale_token: str | None, rate_limited: bool
    ) -> RefreshOutcome:
        record = self._require_record()
        now = self._clock.now()
        someone_else_refreshed = stale_token is not None and record.access_token not in (None, stale_token)
        if not record.needs_refresh(now) and (not force or someone_else_refreshed):
            return RefreshOutcome(record, refreshed=False)
        self._check_not_rejected(record)
        self._claim_attempt(now, enforce=rate_limited)
        log.info(
            "refreshing Tesla tokens", fields={"reason": reason, "refresh_token_id": fingerprint(record.refresh_token)}
        )
        try:
            grant = self._refresher(record.refresh_token)
        except TokenRejected:
            self._mark_rejected(record)
            raise ReauthRequired(f"Tesla rejected the refresh token; {REAUTH_HELP}") from None
        register_secrets([grant.access_token, grant.refresh_token])
        now = self._clock.now()
        new_record = TokenRecord(
            grant.access_token, grant.refresh_token, now + timedelta(seconds=grant.expires_in), now
        )
        # Stored before anything uses the access token: while the new pair is unused the old
        # refresh token still works (design assumption, unconfirmed: SECURITY.md), so a crash here
        # costs one access token, not the chain.
        self._store_record(new_record)
        self._store.delete(STATUS_COLLECTION, STATUS_ID)
        self._health = {"state": "ok"}
        self._destroy_old_versions()
        log.info("Tesla tokens refreshed and stored", fields={"expires_at": new_record.expires_at.isoformat()})
        return RefreshOutcome(new_record, refreshed=True)

    def _store_record(self, record: TokenRecord) -> None:
        last_error: Exception | None = None
        for attempt in range(STORE_ATTEMPTS):
            try:
                self._secrets.add_version(self._secret_name, record.to_json())
                return
            except StoreUnavailable as error:
                last_error = error
                log.warning("storing the new token record failed; retrying", fields={"attempt": attempt + 1})
                self._clock.sleep(0.5 * 2**attempt)
        log.error("the new token record could not be stored; the old refresh token stays in use")
        raise StoreUnavailable("The refreshed tokens could not be stored") from last_error

    def _destroy_old_versions(self) -> None:
        """Each enabled version is billed (FACTS): keep the newest two, destroy the rest."""
        try:
            for version in self._secrets.list_enabled_versions(self._secret_name)[KEEP_VERSIONS:]:
                self._secrets.destroy_version(self._secret_name, version)
        except StoreUnavailable:
            log.warning("destroying old token versions failed; the next refresh tries again")

    # -- leases, the rate limit and the rejected-token state ---------------------------------

    def _acquire_lease(self, owner: str) -> bool:
        now = self._clock.now()
        until = (now + timedelta(seconds=LEASE_SECONDS)).isoformat()

        def take(current: dict[str, Any] | None) -> dict[str, Any] | None:
            if current and current.get("owner") != owner and _parse(current.get("until")) > now:
                return None
            return {"owner": owner, "until": until}

        stored = self._store.update(LOCKS, LEASE_ID, take)
        return bool(stored and stored.get("owner") == owner)

    def _release_lease(self, owner: str) -> None:
        def release(current: dict[str, Any] | None) -> dict[str, Any] | None:
            if current and current.get("owner") == owner:
                return {"owner": None, "until": self._clock.now().isoformat()}
            return None

        try:
            self._store.update(LOCKS, LEASE_ID, release)
        except StoreUnavailable:
            log.warning("releasing the refresh lease failed; it expires by itself")

    def _claim_attempt(self, now: datetime, *, enforce: bool) -> None:
        """Record this refresh attempt; refuse it when another happened within 60 s."""
        refused: list[float] = []

        def claim(current: dict[str, Any] | None) -> dict[str, Any] | None:
            refused.clear()
            last = _parse(current.get("last_attempt_at")) if current else None
            if last is not None and (now - last).total_seconds() < RATE_LIMIT_SECONDS:
                refused.append(RATE_LIMIT_SECONDS - (now - last).total_seconds())
                return None
            return {"last_attempt_at": now.isoformat()}

        self._store.update(LOCKS, RATE_ID, claim)
        if refused:
            if enforce:
                raise RateLimited("Rate limit: one token refresh per 60 seconds", retry_after=refused[0])
            raise UpstreamError("A token refresh was attempted less than 60 s ago; try again shortly", status=503)

    def _check_not_rejected(self, record: TokenRecord) -> None:
        status = self._store.get(STATUS_COLLECTION, STATUS_ID) or {}
        if status.get("state") == "reauth_required" and status.get("refresh_token_id") == fingerprint(
            record.refresh_token
        ):
            # Same dead token as before: asking Tesla again would only add to the storm.
            self._health = {"state": "degraded", "reason": status.get("reason", REAUTH_HELP)}
            raise ReauthRequired(f"Tesla rejected the stored refresh token; {REAUTH_HELP}")

    def _mark_rejected(self, record: TokenRecord) -> None:
        log.error(f"Tesla rejected the refresh token (invalid_grant); {REAUTH_HELP}")
        self._health = {"state": "degraded", "reason": f"Tesla rejected the refresh token; {REAUTH_HELP}"}
        self._store.set(
            STATUS_COLLECTION,
            STATUS_ID,
            {
                "state": "reauth_required",
                "reason": f"Tesla rejected the refresh token; {REAUTH_HELP}",
                "refresh_token_id": fingerprint(record.refresh_token),
                "since": self._clock.now().isoformat(),
            },
        )
        if self.on_rejected is not None:
            self.on_rejected(fingerprint(record.refresh_token))


def _parse(value: Any) -> datetime:
    from shared.domain.token_record import NEVER

    if not isinstance(value, str):
        return NEVER
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return NEVER
    return parsed if parsed.tzinfo else NEVER
