"""refresh_tokens against the simulator's token endpoint: rotation, rejection, and never retrying a spent token."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from shared.clock import ManualClock
from shared.tesla.errors import TeslaAuthError, TeslaRateLimited, TeslaUnavailable, TokenRejected
from shared.tesla.oauth import refresh_tokens
from simulator.tesla_sim import RunningSim, TeslaSim, serve_in_thread

START = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
TOKEN_PATH = "/oauth2/v3/token"


@pytest.fixture
def running() -> Iterator[RunningSim]:
    sim = TeslaSim(ManualClock(START), refresh_token="rt-initial", client_id="the-app")
    with serve_in_thread(sim) as served:
        yield served


class CountingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.posts: list[dict[str, Any]] = []

    def post(self, url: str | bytes, data: Any = None, json: Any = None, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.posts.append(dict(data or {}))
        return super().post(url, data=data, json=json, **kwargs)


def test_each_refresh_returns_a_new_pair_and_the_old_refresh_token_is_dead(running: RunningSim) -> None:
    grant = refresh_tokens(running.auth_url, "the-app", "rt-initial")
    assert grant.expires_in == 28800 and grant.refresh_token != "rt-initial" and grant.access_token
    assert "rt-" not in repr(grant) and grant.access_token not in repr(grant)
    # The new pair's first use kills the old refresh token (before it, a retry would still work).
    bearer = {"Authorization": f"Bearer {grant.access_token}"}
    assert requests.get(f"{running.url}/api/1/vehicles", headers=bearer, timeout=5).status_code == 200
    with pytest.raises(TokenRejected) as rejected:
        refresh_tokens(running.auth_url, "the-app", "rt-initial")
    assert "rt-initial" not in str(rejected.value) and "invalid_grant" in str(rejected.value)
    assert refresh_tokens(running.auth_url, "the-app", grant.refresh_token).refresh_token != grant.refresh_token


def test_the_form_carries_grant_type_client_id_refresh_token_and_the_secret_when_given(running: RunningSim) -> None:
    session = CountingSession()
    refresh_tokens(running.auth_url, "the-app", "rt-initial", client_secret="s3cret-value", session=session)
    [form] = session.posts
    assert form == {
        "grant_type": "refresh_token",
        "client_id": "the-app",
        "refresh_token": "rt-initial",
        "client_secret": "s3cret-value",
    }


def test_a_revoked_grant_means_the_owner_must_authorise_again(running: RunningSim) -> None:
    running.sim.revoke_refresh_tokens()
    with pytest.raises(TokenRejected):
        refresh_tokens(running.auth_url, "the-app", "rt-initial")


def test_a_wrong_client_id_is_an_auth_error_but_not_a_rejected_grant(running: RunningSim) -> None:
    with pytest.raises(TeslaAuthError) as refused:
        refresh_tokens(running.auth_url, "someone-else", "rt-initial")
    assert not isinstance(refused.value, TokenRejected)
    assert running.sim.account.live_refresh_tokens() == 1


def test_a_5xx_from_the_token_endpoint_is_not_retried(running: RunningSim) -> None:
    fault = running.sim.faults.add(TOKEN_PATH, status=503, count=None)
    with pytest.raises(TeslaUnavailable):
        refresh_tokens(running.auth_url, "the-app", "rt-initial")
    assert fault.hits == 1


def test_a_429_from_the_token_endpoint_carries_retry_after(running: RunningSim) -> None:
    running.sim.faults.add(TOKEN_PATH, status=429, retry_after=120)
    with pytest.raises(TeslaRateLimited) as limited:
        refresh_tokens(running.auth_url, "the-app", "rt-initial")
    assert limited.value.retry_after == 120


def test_a_read_timeout_is_not_retried_because_the_token_may_be_spent(running: RunningSim) -> None:
    running.sim.account.grace = False  # the strictest reading of FACTS: the old token dies with the refresh
    fault = running.sim.faults.add(TOKEN_PATH, delay_s=0.6, count=None)
    with pytest.raises(TeslaUnavailable, match="may be spent"):
        refresh_tokens(running.auth_url, "the-app", "rt-initial", timeout=(2, 0.15))
    assert fault.hits == 1
    deadline = time.monotonic() + 5
    while running.sim.counters()["token_refreshes"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    # The server did process it: the old token is gone, which is exactly why a retry would be wrong.
    assert running.sim.counters()["token_refreshes"] == 1
    with pytest.raises(TokenRejected):
        refresh_tokens(running.auth_url, "the-app", "rt-initial")


def test_connection_failures_are_retried_because_nothing_reached_the_server() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    clock = ManualClock(START)
    session = CountingSession()
    with pytest.raises(TeslaUnavailable, match="not used"):
        refresh_tokens(
            f"http://127.0.0.1:{closed_port}/oauth2/v3/token",
            "the-app",
            "rt-initial",
            session=session,
            connect_attempts=3,
            clock=clock,
        )
    assert len(session.posts) == 3
    assert clock.now() > START  # backed off on the injected clock
