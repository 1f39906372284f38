"""The refresh-token chain survives a crash between Tesla's answer and the secret-store write.

Design assumption (SECURITY.md, unconfirmed in FACTS): Tesla's previous refresh token keeps working
until the new pair is first used. The worker stores the new pair before anything uses it, so a
crash in between costs one access token and the stored old refresh token still refreshes. Under
the strict reading (the old token dies at once) the chain breaks; then the worker must say so once
and not hammer Tesla.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.adapters.local.file_secret_store import FileSecretStore
from shared.adapters.local.sqlite_store import SqliteDocumentStore
from shared.clock import ManualClock
from shared.domain.token_record import TokenRecord
from shared.errors import StoreUnavailable
from shared.ports import DocumentStore, SecretStore
from shared.tesla.oauth import TokenGrant, refresh_tokens
from simulator.tesla_sim import SimConfig, SimError, TeslaSim, create_app, serve_in_thread
from simulator.wsgi_transport import session_for
from tests.fakes.stores import InMemoryDocumentStore, InMemorySecretStore
from worker_service.services.token_service import ReauthRequired, TokenService

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
SECRET = "fleet-tokens"
HOST = "tesla.sim"
AUTH_URL = f"http://{HOST}/oauth2/v3/token"


class Crash(BaseException):
    """The process dying at this line (not an error anyone could catch and handle)."""


@dataclass
class Chain:
    """A Tesla simulator reached in-process, and every grant its token endpoint handed out."""

    sim: TeslaSim
    clock: ManualClock
    http: requests.Session
    grants: list[TokenGrant] = field(default_factory=list)

    def refresher(self, refresh_token: str) -> TokenGrant:
        grant = refresh_tokens(AUTH_URL, "app", refresh_token, session=self.http, clock=self.clock)
        self.grants.append(grant)
        return grant

    def service(self, secrets: SecretStore, store: DocumentStore) -> TokenService:
        """A worker's token service (a new one is a restarted process: nothing kept in memory)."""
        return TokenService(
            secrets=secrets,
            store=store,
            clock=self.clock,
            refresher=self.refresher,
            secret_name=SECRET,
            bootstrap_refresh_token="rt-0",
        )

    def works(self, access_token: str) -> bool:
        try:
            self.sim.authenticate(access_token)
        except SimError:
            return False
        return True


def make_chain(*, grace: bool = True) -> Chain:
    clock = ManualClock(START)
    sim = TeslaSim(clock, refresh_token="rt-0", client_id="app", config=SimConfig(refresh_grace=grace))
    return Chain(sim, clock, session_for({HOST: create_app(sim)}))


def stored(secrets: SecretStore) -> TokenRecord:
    payload = secrets.access_latest(SECRET)
    assert payload is not None
    return TokenRecord.from_json(payload)


def crash_while_storing(chain: Chain) -> tuple[InMemorySecretStore, InMemoryDocumentStore]:
    """Bootstrap the record, then die inside the write of the first refreshed record."""
    secrets, store = InMemorySecretStore(), InMemoryDocumentStore()
    tokens = chain.service(secrets, store)
    tokens.read_record()  # the bootstrap record holding rt-0
    secrets.fail_next("add_version", Crash())
    with pytest.raises(Crash):
        tokens.get_access_token()
    assert chain.sim.counters()["token_refreshes"] == 1  # Tesla answered; the answer is lost
    assert stored(secrets).refresh_token == "rt-0" and stored(secrets).access_token is None
    return secrets, store


def test_a_crash_between_tesla_answer_and_store_costs_one_access_token_not_the_chain() -> None:
    chain = make_chain()
    secrets, store = crash_while_storing(chain)
    chain.clock.advance(timedelta(minutes=2))  # the restarted worker, after the refresh rate window
    token = chain.service(secrets, store).get_access_token()
    counters = chain.sim.counters()
    assert counters["token_refreshes"] == 2 and counters["rejected_refreshes"] == 0
    lost, kept = chain.grants
    assert token == kept.access_token and chain.works(token)
    assert not chain.works(lost.access_token)  # at most one access token lost
    assert stored(secrets).refresh_token == kept.refresh_token
    assert chain.sim.account.usable_refresh_tokens() == {kept.refresh_token}  # one chain, and we hold it
    assert chain.refresher(stored(secrets).refresh_token).access_token  # and it still refreshes


def test_secret_manager_down_after_tesla_answered_is_a_503_and_the_next_refresh_still_works() -> None:
    chain = make_chain()
    secrets, store = InMemorySecretStore(), InMemoryDocumentStore()
    tokens = chain.service(secrets, store)
    tokens.read_record()
    secrets.fail_next("add_version", StoreUnavailable("Secret Manager unavailable"), times=4)
    with pytest.raises(StoreUnavailable) as raised:
        tokens.get_access_token()
    assert raised.value.status == 503
    assert stored(secrets).refresh_token == "rt-0"
    chain.clock.advance(timedelta(minutes=2))
    assert chain.works(tokens.get_access_token())
    assert chain.sim.counters()["rejected_refreshes"] == 0


def test_under_the_strict_reading_a_lost_answer_breaks_the_chain_once_and_loudly() -> None:
    chain = make_chain(grace=False)
    secrets, store = crash_while_storing(chain)
    restarted = chain.service(secrets, store)
    for minutes in (2, 10, 30):
        chain.clock.advance(timedelta(minutes=minutes))
        with pytest.raises(ReauthRequired):
            restarted.get_access_token()
    assert chain.sim.counters()["rejected_refreshes"] == 1  # asked once, then no retry storm
    assert restarted.cached_status()["state"] == "degraded"


CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from shared.adapters.local.file_secret_store import FileSecretStore
    from shared.adapters.local.sqlite_store import SqliteDocumentStore
    from shared.clock import SystemClock
    from shared.tesla.oauth import refresh_tokens
    from worker_service.services.token_service import TokenService

    state, auth_url = Path(sys.argv[1]), sys.argv[2]

    class DiesWhileStoring(FileSecretStore):
        def add_version(self, name, payload):
            if b'"access_token": null' not in payload:
                os._exit(9)  # killed: no finally, no lease release, nothing flushed
            return super().add_version(name, payload)

    TokenService(
        secrets=DiesWhileStoring(state / "secrets"),
        store=SqliteDocumentStore(state / "documents.sqlite3"),
        clock=SystemClock(),
        refresher=lambda token: refresh_tokens(auth_url, "app", token),
        secret_name="fleet-tokens",
        bootstrap_refresh_token="rt-0",
    ).get_access_token()
    """
)


@pytest.fixture
def served_sim() -> Iterator[tuple[TeslaSim, str]]:
    from shared.clock import SystemClock

    sim = TeslaSim(SystemClock(), refresh_token="rt-0", client_id="app")
    with serve_in_thread(sim) as running:
        yield sim, running.auth_url


def test_a_worker_process_killed_after_tesla_answered_leaves_a_chain_the_next_process_can_use(
    tmp_path: Path, served_sim: tuple[TeslaSim, str]
) -> None:
    sim, auth_url = served_sim
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), auth_url],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 9, child.stderr.decode()[-2000:]
    assert sim.counters()["token_refreshes"] == 1
    secrets = FileSecretStore(tmp_path / "secrets")
    assert stored(secrets).refresh_token == "rt-0"  # the old token is what the store still holds

    # The next process starts after the dead one's lease (60 s) ran out; its clock says so.
    clock = ManualClock(datetime.now(UTC) + timedelta(minutes=2))
    grants: list[Any] = []

    def refresher(token: str) -> TokenGrant:
        grants.append(refresh_tokens(auth_url, "app", token))
        return grants[-1]  # type: ignore[no-any-return]

    tokens = TokenService(
        secrets=secrets,
        store=SqliteDocumentStore(tmp_path / "documents.sqlite3"),
        clock=clock,
        refresher=refresher,
        secret_name=SECRET,
        bootstrap_refresh_token="rt-0",
    )
    token = tokens.get_access_token()
    assert sim.counters()["token_refreshes"] == 2 and sim.counters()["rejected_refreshes"] == 0
    assert token == grants[0].access_token and stored(secrets).refresh_token == grants[0].refresh_token
    sim.authenticate(token)
    assert sim.account.usable_refresh_tokens() == {grants[0].refresh_token}
