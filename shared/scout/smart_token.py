"""The scout's Tesla access token: read what the worker stored, never refresh it here.

The record is read from the secret store through a small cache file in the function's /tmp
(0600, with its expiry). When under five minutes remain the scout asks the worker's
/refresh-tokens (at most once a minute), clears the cache and reads again. Two refreshers would
break the single-use refresh-token chain, so the scout never calls Tesla's token endpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from shared.clock import Clock
from shared.domain.token_record import REFRESH_MARGIN, TokenRecord
from shared.errors import UpstreamError
from shared.log import get_logger, register_secrets
from shared.ports import SecretStore
from shared.scout.worker_client import WorkerClient, WorkerUnavailable

log = get_logger("SCOUT")
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "tesla-offpeak-token-cache.json"
REFRESH_REQUEST_INTERVAL = timedelta(seconds=60)
REFRESH_TIMEOUT_S = 45.0


class TokenUnavailable(UpstreamError):
    """No usable access token this tick; the scout logs it and tries again next tick."""

    status = 503
    code = "token_unavailable"


class SmartToken:
    """Access tokens for the scout: cache → secret store → ask the worker to refresh."""

    def __init__(
        self,
        *,
        secrets: SecretStore,
        secret_name: str,
        worker: WorkerClient,
        clock: Clock,
        cache_path: Path = DEFAULT_CACHE,
    ) -> None:
        self._secrets = secrets
        self._secret_name = secret_name
        self._worker = worker
        self._clock = clock
        self._cache = cache_path
        self.worker_refresh_calls = 0

    def get_access_token(self, force_refresh: bool = False, *, stale_token: str | None = None) -> str:
        """A token with at least five minutes left; `force_refresh` (after a 401) asks the worker first.

        When the store already holds a token other than `stale_token` (the one Tesla refused), the
        worker refreshed meanwhile: that one is used without asking for another refresh.
        """
        if force_refresh and stale_token:
            self.clear_cache()
            record = self._read_record()
            fresher = record is not None and record.access_token and record.access_token != stale_token
            if record is not None and fresher and not record.needs_refresh(self._clock.now()):
                self._write_cache(record)
                assert record.access_token is not None
                return record.access_token
        if not force_refresh:
            cached = self._read_cache()
            if cached:
                return cached
            record = self._read_record()
            if record and not record.needs_refresh(self._clock.now()) and record.access_token:
                self._write_cache(record)
                return record.access_token
        self._ask_worker_to_refresh("access token rejected" if force_refresh else "access token expiring")
        self.clear_cache()
        record = self._read_record()
        if record and not record.needs_refresh(self._clock.now()) and record.access_token:
            self._write_cache(record)
            return record.access_token
        raise TokenUnavailable("No valid Tesla access token yet; the worker has not refreshed it")

    def _read_record(self) -> TokenRecord | None:
        try:
            payload = self._secrets.access_latest(self._secret_name)
        except UpstreamError as error:
            raise TokenUnavailable(f"the token store could not be read: {error.code}") from None
        if payload is None:
            return None
        try:
            record = TokenRecord.from_json(payload)
        except ValueError as error:
            raise TokenUnavailable(str(error)) from None
        register_secrets([record.access_token])
        return record

    def _ask_worker_to_refresh(self, reason: str) -> None:
        marker = self._cache.with_suffix(".refresh-requested")
        now = self._clock.now()
        last = _read_time(marker)
        if last is not None and now - last < REFRESH_REQUEST_INTERVAL:
            log.info("a refresh was requested under a minute ago; not asking the worker again")
            return
        _write_private(marker, now.isoformat())
        self.worker_refresh_calls += 1
        try:
            answer = self._worker.post("/refresh-tokens", {"reason": f"scout: {reason}"}, timeout_s=REFRESH_TIMEOUT_S)
        except WorkerUnavailable as error:
            log.warning(f"could not ask the worker to refresh tokens: {error.message}")
            return
        if answer.status == 429:
            log.info("the worker refreshed tokens within the last minute (rate limit); reading the store again")
        elif answer.status >= 400:
            log.warning(f"the worker could not refresh tokens (HTTP {answer.status})")

    def _read_cache(self) -> str | None:
        try:
            data = json.loads(self._cache.read_text())
            expires = datetime.fromisoformat(data["expires_at"])
            token = data["access_token"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(token, str) or expires.tzinfo is None or expires - self._clock.now() < REFRESH_MARGIN:
            return None
        register_secrets([token])
        return token

    def _write_cache(self, record: TokenRecord) -> None:
        payload = json.dumps({"access_token": record.access_token, "expires_at": record.expires_at.isoformat()})
        try:
            _write_private(self._cache, payload)
        except OSError as error:
            log.warning(f"token cache not written: {type(error).__name__}")

    def clear_cache(self) -> None:
        """Forget the cached token (after a refresh)."""
        with contextlib.suppress(FileNotFoundError):
            self._cache.unlink()


def _write_private(path: Path, text: str) -> None:
    """Write atomically with mode 0600 (the cache holds a live access token)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", text=True)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _read_time(path: Path) -> datetime | None:
    try:
        value = datetime.fromisoformat(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return value if value.tzinfo else None
