"""The scout's smart token: cache in /tmp, the worker refreshes, never the scout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.clock import ManualClock
from shared.domain.token_record import TokenRecord
from shared.scout.smart_token import SmartToken, TokenUnavailable
from shared.scout.worker_client import WorkerAnswer, WorkerUnavailable
from tests.fakes.stores import InMemorySecretStore

NOW = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
SECRET = "fleet-tokens"


class FakeWorker:
    """Stands in for the worker's /refresh-tokens: stores a new record, or fails as told."""

    def __init__(self, secrets: InMemorySecretStore, clock: ManualClock) -> None:
        self.secrets, self.clock = secrets, clock
        self.calls: list[tuple[str, dict[str, Any] | None]] = []
        self.mode = "refresh"
        self.issued = 0

    def post(self, path: str, body: dict[str, Any] | None = None, *, timeout_s: float = 45.0) -> WorkerAnswer:
        self.calls.append((path, body))
        assert timeout_s == 45.0
        if self.mode == "down":
            raise WorkerUnavailable("worker unreachable at /refresh-tokens: ConnectionError")
        if self.mode == "rate_limited":
            return WorkerAnswer(429, {"success": False, "message": "Rate limit"})
        self.issued += 1
        store(self.secrets, f"eyJfresh{self.issued}.eyJx.sig", self.clock.now() + timedelta(hours=8))
        return WorkerAnswer(200, {"success": True})


def store(secrets: InMemorySecretStore, access: str, expires: datetime) -> None:
    secrets.add_version(SECRET, TokenRecord(access, "EU_refresh", expires, NOW).to_json())


@pytest.fixture
def parts(tmp_path: Path) -> tuple[SmartToken, InMemorySecretStore, FakeWorker, ManualClock, Path]:
    clock, secrets = ManualClock(NOW), InMemorySecretStore()
    worker = FakeWorker(secrets, clock)
    cache = tmp_path / "tmp" / "token-cache.json"
    smart = SmartToken(secrets=secrets, secret_name=SECRET, worker=worker, clock=clock, cache_path=cache)  # type: ignore[arg-type]
    return smart, secrets, worker, clock, cache


def test_a_valid_record_is_read_once_then_served_from_a_private_cache(parts) -> None:  # type: ignore[no-untyped-def]
    smart, secrets, worker, clock, cache = parts
    store(secrets, "eyJstored.eyJx.sig", NOW + timedelta(hours=2))
    assert smart.get_access_token() == "eyJstored.eyJx.sig"
    assert cache.stat().st_mode & 0o777 == 0o600
    accesses = secrets.accesses
    clock.advance(timedelta(minutes=30))
    assert smart.get_access_token() == "eyJstored.eyJx.sig"
    assert secrets.accesses == accesses and worker.calls == []


def test_an_expiring_token_makes_the_worker_refresh_and_the_cache_is_cleared(parts) -> None:  # type: ignore[no-untyped-def]
    smart, secrets, worker, clock, cache = parts
    store(secrets, "eyJold.eyJx.sig", NOW + timedelta(minutes=20))
    assert smart.get_access_token() == "eyJold.eyJx.sig"
    clock.advance(timedelta(minutes=16))  # four minutes left: under the margin
    assert smart.get_access_token() == "eyJfresh1.eyJx.sig"
    assert [path for path, _ in worker.calls] == ["/refresh-tokens"]
    assert "eyJfresh1" in cache.read_text()


def test_worker_unreachable_ends_the_tick_gracefully_and_asks_at_most_once_a_minute(parts) -> None:  # type: ignore[no-untyped-def]
    smart, secrets, worker, clock, _ = parts
    store(secrets, "eyJold.eyJx.sig", NOW + timedelta(minutes=2))
    worker.mode = "down"
    with pytest.raises(TokenUnavailable):
        smart.get_access_token()
    clock.advance(timedelta(seconds=30))
    with pytest.raises(TokenUnavailable):
        smart.get_access_token()
    assert len(worker.calls) == 1  # no retry storm
    clock.advance(timedelta(seconds=31))
    worker.mode = "refresh"
    assert smart.get_access_token() == "eyJfresh1.eyJx.sig"
    assert len(worker.calls) == 2


def test_rate_limited_worker_means_read_the_store_again(parts) -> None:  # type: ignore[no-untyped-def]
    smart, secrets, worker, _, _ = parts
    store(secrets, "eyJold.eyJx.sig", NOW + timedelta(minutes=2))
    worker.mode = "rate_limited"
    store(secrets, "eyJbyother.eyJx.sig", NOW + timedelta(hours=8))  # someone refreshed meanwhile
    smart.clear_cache()
    assert smart.get_access_token() == "eyJbyother.eyJx.sig"


def test_a_forced_refresh_after_401_skips_the_cache(parts) -> None:  # type: ignore[no-untyped-def]
    smart, secrets, worker, _, _ = parts
    store(secrets, "eyJstored.eyJx.sig", NOW + timedelta(hours=2))
    smart.get_access_token()
    assert smart.get_access_token(force_refresh=True) == "eyJfresh1.eyJx.sig"
    assert len(worker.calls) == 1


def test_the_scout_code_never_calls_the_token_endpoint() -> None:
    root = Path(__file__).resolve().parents[2]
    scout_sources = [*root.joinpath("shared", "scout").glob("*.py"), root / "scout_function" / "main.py"]
    for source in scout_sources:
        text = source.read_text()
        assert "refresh_tokens(" not in text and "oauth2/v3/token" not in text, source
