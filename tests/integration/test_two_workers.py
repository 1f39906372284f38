"""Two real worker processes on one store: one Tesla refresh between them, and restarts keep the chain."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from shared.adapters.local.file_secret_store import FileSecretStore
from shared.clock import SystemClock
from shared.domain.token_record import TokenRecord
from shared.tesla.oauth import refresh_tokens
from simulator.tesla_sim import TeslaSim, serve_in_thread
from tests.support.worker_processes import VIN, start_workers, stop_workers

TOKEN = "two-workers-shared-secret-0123456789"


@pytest.fixture
def tesla() -> Iterator[tuple[TeslaSim, str]]:
    sim = TeslaSim(SystemClock(), refresh_token="EU_bootstrap", client_id="client")
    sim.add_vehicle(VIN)
    with serve_in_thread(sim) as running:
        yield sim, running.url


def get_token(url: str) -> str:
    answer = requests.get(f"{url}/get-token", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_two_worker_processes_refresh_once_and_a_restart_keeps_the_chain(tmp_path: Path, tesla) -> None:  # type: ignore[no-untyped-def]
    sim, tesla_url = tesla
    workers = start_workers(tmp_path / "state", tesla_url, 2, token=TOKEN)
    try:
        urls = [url for _, url in workers] * 8
        with ThreadPoolExecutor(max_workers=16) as pool:
            tokens = list(pool.map(get_token, urls))
        assert len(set(tokens)) == 1
        assert sim.counters()["token_refreshes"] == 1 and sim.counters()["rejected_refreshes"] == 0
        # the rotated refresh token survives a restart of both processes
        for process, _ in workers:
            process.terminate()
            process.wait(timeout=10)
        workers = start_workers(tmp_path / "state", tesla_url, 1, token=TOKEN)
        assert get_token(workers[0][1]) == tokens[0]  # read back, not refreshed again
        limited = requests.post(
            f"{workers[0][1]}/refresh-tokens", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
        )
        assert limited.status_code == 429  # the 60 s limit lives in the store: it survived the restart
        payload = FileSecretStore(tmp_path / "state" / "secrets").access_latest("fleet-tokens")
        assert payload is not None
        stored = TokenRecord.from_json(payload)
        grant = refresh_tokens(f"{tesla_url}/oauth2/v3/token", "client", stored.refresh_token)
        assert grant.refresh_token  # the stored refresh token is the live link of the chain
        assert sim.counters()["token_refreshes"] == 2 and sim.counters()["rejected_refreshes"] == 0
    finally:
        stop_workers(workers)
