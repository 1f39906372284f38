"""`python -m simulator.tesla_sim` as its own process: one line with its URL, the Fleet API and /sim over HTTP."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from shared.clock import SystemClock
from shared.tesla.errors import VehicleAsleep
from shared.tesla.fleet_client import FleetClient
from shared.tesla.oauth import refresh_tokens

ROOT = Path(__file__).resolve().parents[2]
VIN = "5YJ3E7EB2NF000001"


class StaticTokens:
    def __init__(self, token: str) -> None:
        self.token = token

    def get_access_token(self, force_refresh: bool = False, *, stale_token: str | None = None) -> str:
        return self.token


@pytest.fixture
def sim_url() -> Iterator[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator.tesla_sim",
            "--port",
            "0",
            "--vin",
            VIN,
            "--refresh-token",
            "rt-standalone",
            "--awake",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, f"no URL in the first line: {line!r}"
        yield match.group(0)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_standalone_simulator_serves_tokens_the_api_and_its_controls(sim_url: str) -> None:
    grant = refresh_tokens(f"{sim_url}/oauth2/v3/token", "any-client", "rt-standalone")
    client = FleetClient(sim_url, StaticTokens(grant.access_token), clock=SystemClock(), max_retries=0)
    assert client.vehicle_state(VIN) == "online"
    assert client.vehicle_data(VIN)["charge_state"]["battery_level"] == 50
    requests.post(f"{sim_url}/sim/vehicles/{VIN}/sleep", json={}, timeout=5).raise_for_status()
    with pytest.raises(VehicleAsleep):
        client.vehicle_data(VIN)
    counters = requests.get(f"{sim_url}/sim/counters", timeout=5).json()
    assert (counters["data"], counters["state_calls"], counters["token_refreshes"]) == (2, 1, 1)
