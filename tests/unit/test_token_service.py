"""The worker's token service: one refresh at a time, stored before use, old versions destroyed."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import ManualClock, SystemClock
from shared.domain.token_record import TokenRecord
from shared.errors import RateLimited, StoreUnavailable
from tests.fakes.stores import InMemoryDocumentStore, InMemorySecretStore
from tests.fakes.token_endpoint import FakeTokenEndpoint
from worker_service.services.token_service import ReauthRequired, TokenService

NOW = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
SECRET = "fleet-tokens"


def service(clock, *, secrets=None, store=None, endpoint=None, bootstrap="EU_refresh_0") -> TokenService:  # type: ignore[no-untyped-def]
    return TokenService(
        secrets=secrets or InMemorySecretStore(),
        store=store or InMemoryDocumentStore(),
        clock=clock,
        refresher=endpoint or FakeTokenEndpoint(),
        secret_name=SECRET,
        bootstrap_refresh_token=bootstrap,
    )


def stored_record(secrets: InMemorySecretStore) -> TokenRecord:
    payload = secrets.access_latest(SECRET)
    assert payload is not None
    return TokenRecord.from_json(payload)


def test_bootstrap_then_first_refresh_is_stored_before_the_token_is_returned() -> None:
    clock, secrets, endpoint = ManualClock(NOW), InMemorySecretStore(), FakeTokenEndpoint()
    tokens = service(clock, secrets=secrets, endpoint=endpoint)
    token = tokens.get_access_token()
    record = stored_record(secrets)
    assert token == record.access_token and record.refresh_token == "EU_refresh_1"
    assert record.expires_at == NOW + timedelta(hours=8)
    assert endpoint.calls == 1


def test_a_fresh_token_is_served_without_refreshing_and_refreshed_under_five_minutes() -> None:
    clock, endpoint = ManualClock(NOW), FakeTokenEndpoint()
    tokens = service(clock, endpoint=endpoint)
    first = tokens.get_access_token()
    clock.advance(timedelta(hours=7, minutes=54))
    assert tokens.get_access_token() == first and endpoint.calls == 1
    clock.advance(timedelta(minutes=2))  # 4 minutes left
    assert tokens.get_access_token() != first and endpoint.calls == 2


def test_versions_older_than_the_last_two_are_destroyed() -> None:
    clock, secrets = ManualClock(NOW), InMemorySecretStore()
    tokens = service(clock, secrets=secrets)
    for _ in range(5):
        clock.advance(timedelta(minutes=2))
        tokens.refresh(reason="test", rate_limited=False)
    assert len(secrets.list_enabled_versions(SECRET)) == 2
    assert stored_record(secrets).refresh_token == "EU_refresh_5"


def test_eight_concurrent_callers_on_an_expiring_token_cause_one_refresh() -> None:
    secrets, store, endpoint = InMemorySecretStore(), InMemoryDocumentStore(), FakeTokenEndpoint(delay_s=0.2)
    clock = SystemClock()
    tokens = service(clock, secrets=secrets, store=store, endpoint=endpoint)
    results: list[str] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            results.append(tokens.get_access_token())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert endpoint.calls == 1 and endpoint.rejected == 0
    assert len(set(results)) == 1 and results[0] == stored_record(secrets).access_token


def test_two_services_on_one_store_share_the_lease_and_refresh_once() -> None:
    secrets, store, endpoint = InMemorySecretStore(), InMemoryDocumentStore(), FakeTokenEndpoint(delay_s=0.2)
    a = service(SystemClock(), secrets=secrets, store=store, endpoint=endpoint)
    b = service(SystemClock(), secrets=secrets, store=store, endpoint=endpoint)
    out: list[str] = []
    threads = [threading.Thread(target=lambda s=s: out.append(s.get_access_token())) for s in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert endpoint.calls == 1 and len(set(out)) == 1


def test_rotation_survives_a_restart() -> None:
    clock, secrets, store, endpoint = (
        ManualClock(NOW),
        InMemorySecretStore(),
        InMemoryDocumentStore(),
        FakeTokenEndpoint(),
    )
    service(clock, secrets=secrets, store=store, endpoint=endpoint).get_access_token()
    clock.advance(timedelta(hours=9))
    restarted = service(clock, secrets=secrets, store=store, endpoint=endpoint, bootstrap="EU_refresh_0")
    restarted.get_access_token()  # must use the stored EU_refresh_1, not the dead bootstrap token
    assert endpoint.rejected == 0 and stored_record(secrets).refresh_token == "EU_refresh_2"


def test_explicit_refreshes_are_rate_limited_for_sixty_seconds_across_instances() -> None:
    clock, secrets, store = ManualClock(NOW), InMemorySecretStore(), InMemoryDocumentStore()
    endpoint = FakeTokenEndpoint()
    service(clock, secrets=secrets, store=store, endpoint=endpoint).refresh(reason="a")
    other_instance = service(clock, secrets=secrets, store=store, endpoint=endpoint)
    clock.advance(timedelta(seconds=30))
    with pytest.raises(RateLimited) as raised:
        other_instance.refresh(reason="b")
    assert raised.value.retry_after == pytest.approx(30)
    clock.advance(timedelta(seconds=31))
    assert other_instance.refresh(reason="c").refreshed
    assert endpoint.calls == 2


def test_a_rejected_refresh_token_degrades_health_once_without_a_retry_storm(caplog: pytest.LogCaptureFixture) -> None:
    clock, store = ManualClock(NOW), InMemoryDocumentStore()
    endpoint = FakeTokenEndpoint(first_refresh_token="EU_other")
    tokens = service(clock, store=store, endpoint=endpoint)
    with pytest.raises(ReauthRequired):
        tokens.get_access_token()
    assert tokens.cached_status()["state"] == "degraded"
    assert "re-authorise" in tokens.cached_status()["reason"]
    for _ in range(5):
        clock.advance(timedelta(minutes=5))
        with pytest.raises(ReauthRequired):
            tokens.get_access_token()
    assert endpoint.calls == 1
    # a restarted instance learns the state from the store, still without calling Tesla
    restarted = service(clock, store=store, endpoint=endpoint)
    with pytest.raises(ReauthRequired):
        restarted.get_access_token()
    assert endpoint.calls == 1 and restarted.cached_status()["state"] == "degraded"


def test_when_storing_fails_the_new_access_token_is_never_handed_out() -> None:
    clock, secrets = ManualClock(NOW), InMemorySecretStore()
    tokens = service(clock, secrets=secrets)
    tokens.get_access_token()
    clock.advance(timedelta(hours=8))
    secrets.fail_next("add_version", StoreUnavailable("down"), times=10)
    with pytest.raises(StoreUnavailable):
        tokens.get_access_token()
    assert stored_record(secrets).refresh_token == "EU_refresh_1"  # old record intact


def test_a_forced_refresh_after_a_401_uses_a_newer_token_someone_else_stored() -> None:
    clock, secrets, store, endpoint = (
        ManualClock(NOW),
        InMemorySecretStore(),
        InMemoryDocumentStore(),
        FakeTokenEndpoint(),
    )
    a = service(clock, secrets=secrets, store=store, endpoint=endpoint)
    stale = a.get_access_token()
    clock.advance(timedelta(minutes=2))
    fresh = a.refresh(reason="elsewhere", rate_limited=False).record.access_token
    assert a.get_access_token(force_refresh=True, stale_token=stale) == fresh
    assert endpoint.calls == 2
