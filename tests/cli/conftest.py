"""tests/cli: a real local worker (with the Tesla simulator) and the command line run as its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.clock import SystemClock
from simulator.tesla_sim import SimConfig, TeslaSim, serve_in_thread
from tests.support.worker_processes import HOME, VIN, command_key_pem, start_workers, stop_workers

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "cli-tests-shared-secret-0123456789"
# Variables of the developer's shell that would steer the command line elsewhere.
SCRUBBED = (
    "STATE_DIR",
    "WORKER_API_TOKEN",
    "TIMEZONE",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "WORKER_SERVICE_NAME",
)


@dataclass(frozen=True)
class LocalWorker:
    url: str
    state: Path
    sim: TeslaSim


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWorker]:
    """`python -m worker_service` on a free port, its car awake at home at 40 %, and its token where `make run` keeps it."""
    state = tmp_path_factory.mktemp("cli") / "state"
    sim = TeslaSim(SystemClock(), refresh_token="EU_bootstrap", client_id="client", config=SimConfig(idle_sleep_s=3600))
    sim.add_vehicle(
        VIN, asleep=False, battery_level=40, charge_limit=80, plugged_in=True, latitude=HOME[0], longitude=HOME[1]
    )
    sim.register_app_key(command_key_pem(state))  # the car needs signed commands, as `make run` sets it up
    with serve_in_thread(sim) as running:
        workers = start_workers(state, running.url, 1, token=TOKEN)
        (state / "worker-api-token").write_text(TOKEN + "\n")
        try:
            yield LocalWorker(workers[0][1], state, sim)
        finally:
            stop_workers(workers)


@pytest.fixture
def fake_gcloud(tmp_path: Path) -> Path:
    """A directory holding an executable `gcloud` that runs tests/cli/fake_gcloud.py."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    script = bin_dir / "gcloud"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from tests.cli.fake_gcloud import main\nsys.exit(main(sys.argv[1:]))\n"
    )
    script.chmod(0o755)
    return bin_dir


def cli_env(**extra: str) -> dict[str, str]:
    """The test process's environment without the variables that pick a worker, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env["PYTHONPATH"] = str(ROOT)
    env["OFFPEAK_DEPLOY_CONFIG"] = "/nonexistent/config.env"  # never the developer's deploy/config.env
    env.update(extra)
    return env


def cli(*args: str, env: Mapping[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m offpeak_cli ARGS` as the owner would run it."""
    return subprocess.run(
        [sys.executable, "-m", "offpeak_cli", *args],
        env=dict(env),
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The single stderr line of a failed command (and nothing on stdout)."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tesla-offpeak: ")
    return lines[0]
