"""Two real worker processes on one store: one Tesla refresh between them, and restarts keep the chain."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
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

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "two-workers-shared-secret-0123456789"
VIN = "5YJ3E7EB2NF000001"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def tesla() -> Iterator[tuple[TeslaSim, str]]:
    sim = TeslaSim(SystemClock(), refresh_token="EU_bootstrap", client_id="client")
    sim.add_vehicle(VIN)
    with serve_in_thread(sim) as running:
        yield sim, running.url


def start_worker(state: Path, tesla_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "BACKEND": "local",
        "STATE_DIR": str(state),
        "PORT": str(port),
        "TESLA_VIN": VIN,
        "TESLA_CLIENT_ID": "client",
        "TESLA_REFRESH_TOKEN": "EU_bootstrap",
        "WORKER_API_TOKEN": TOKEN,
        "TESLA_API_BASE_URL": tesla_url,
        "TESLA_AUTH_URL": f"{tesla_url}/oauth2/v3/token",
        "HOME_LATITUDE": "52.2297",
        "HOME_LONGITUDE": "21.0122",
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "worker_service"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("worker did not start")


def get_token(url: str) -> str:
    answer = requests.get(f"{url}/get-token", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_two_worker_processes_refresh_once_and_a_restart_keeps_the_chain(tmp_path: Path, tesla) -> None:  # type: ignore[no-untyped-def]
    sim, tesla_url = tesla
    workers = [start_worker(tmp_path / "state", tesla_url) for _ in range(2)]
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
        workers = [start_worker(tmp_path / "state", tesla_url)]
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
        for process, _ in workers:
            process.kill()
            process.wait(timeout=10)
