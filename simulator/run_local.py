"""`make run`: the worker (with its embedded scheduler), the scout and the Tesla simulator as real processes.

Everything binds to loopback. The recurring jobs Cloud Scheduler runs in production (the scout
every 15 minutes, the 23:00 daily check, the 00:00 failsafe) are registered in the embedded
scheduler, which fires them at their real times with the worker's shared secret.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import requests

from shared.clock import SystemClock
from shared.ports import HttpJob
from shared.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
SIM_PORT, WORKER_PORT, SCOUT_PORT = 8090, 8080, 8081
# Optional overrides, so tests (and a second checkout) can run the same processes on free ports.
PORT_VARIABLES = ("RUN_SIMULATOR_PORT", "RUN_WORKER_PORT", "RUN_SCOUT_PORT")
VIN = "5YJ3E7EB2NF000001"
HOME = ("52.2297", "21.0122")
BOOTSTRAP = "EU_local_bootstrap_refresh_token"


def local_ports(env: Mapping[str, str] = os.environ) -> tuple[int, int, int]:
    """(simulator, worker, scout) ports: 8090, 8080, 8081 unless RUN_SIMULATOR_PORT etc. name others."""
    defaults = (SIM_PORT, WORKER_PORT, SCOUT_PORT)
    found = []
    for name, default in zip(PORT_VARIABLES, defaults, strict=True):
        text = env.get(name, "").strip()
        if text and (not text.isdigit() or not 0 < int(text) < 65536):
            raise SystemExit(f"run: {name} must be a port number")
        found.append(int(text) if text else default)
    return found[0], found[1], found[2]


def local_env(state_dir: Path, sim_port: int = SIM_PORT, worker_port: int = WORKER_PORT) -> dict[str, str]:
    """The environment every local process shares (contract section 4)."""
    return {
        **os.environ,
        "BACKEND": os.environ.get("BACKEND", "local"),
        "STATE_DIR": str(state_dir),
        "TESLA_VIN": VIN,
        "HOME_LATITUDE": HOME[0],
        "HOME_LONGITUDE": HOME[1],
        "TESLA_CLIENT_ID": "local-client",
        "TESLA_REFRESH_TOKEN": BOOTSTRAP,
        "TESLA_API_BASE_URL": f"http://127.0.0.1:{sim_port}",
        "TESLA_AUTH_URL": f"http://127.0.0.1:{sim_port}/oauth2/v3/token",
        "WORKER_SERVICE_URL": f"http://127.0.0.1:{worker_port}",
        "PYTHONPATH": str(ROOT),
    }


def recurring_jobs(scout_url: str, worker_url: str) -> list[HttpJob]:
    """The three jobs the deploy creates in Cloud Scheduler."""
    return [
        HttpJob("tesla-scout", "*/15 * * * *", "Etc/UTC", scout_url + "/", description="scout tick"),
        HttpJob(
            "tesla-daily-special-charging-check",
            "0 23 * * *",
            "Europe/Warsaw",
            worker_url + "/daily-special-charging-check",
            description="plan special charging",
        ),
        HttpJob(
            "tesla-run-cycle",
            "0 0 * * *",
            "Europe/Warsaw",
            worker_url + "/run-cycle",
            description="nightly failsafe cycle",
        ),
    ]


def wait_ready(url: str, name: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"run: {name} exited with status {process.returncode}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.2)
    raise SystemExit(f"run: {name} did not start at {url}")


def main() -> int:
    """Start the three processes, register the jobs, and wait for Ctrl-C."""
    state_dir = Path(os.environ.get("STATE_DIR", ROOT / ".local-state")).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    # The simulator starts with a fresh token chain each run; so must the local token record.
    with contextlib.suppress(FileNotFoundError):
        (state_dir / "secrets" / "fleet-tokens.json").unlink()
    sim_port, worker_port, scout_port = local_ports()
    env = local_env(state_dir, sim_port, worker_port)
    settings = load_settings(env, component="worker")
    public_key = command_key(settings, state_dir)
    python = sys.executable
    commands = {
        "tesla-simulator": [
            python,
            "-m",
            "simulator.tesla_sim",
            "--port",
            str(sim_port),
            "--vin",
            VIN,
            "--refresh-token",
            BOOTSTRAP,
            "--client-id",
            "local-client",
            "--plugged-in",
            "--app-public-key",
            str(public_key),
        ],
        "worker": [python, "-m", "worker_service"],
        "scout": [
            str(Path(python).parent / "functions-framework"),
            "--source",
            "scout_function/main.py",
            "--target",
            "tesla_scout_main",
            "--host",
            "127.0.0.1",
            "--port",
            str(scout_port),
        ],
    }
    env_by_name = {"worker": {**env, "PORT": str(worker_port)}, "scout": env, "tesla-simulator": env}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    signal.signal(signal.SIGTERM, _interrupt)  # a terminated `make run` stops its children too
    try:
        for name, command in commands.items():
            processes[name] = subprocess.Popen(command, cwd=ROOT, env=env_by_name[name])
        wait_ready(f"http://127.0.0.1:{sim_port}/sim/health", "tesla-simulator", processes["tesla-simulator"])
        wait_ready(f"http://127.0.0.1:{worker_port}/health", "worker", processes["worker"])
        wait_ready(f"http://127.0.0.1:{scout_port}/", "scout", processes["scout"])
        _register_jobs(settings, f"http://127.0.0.1:{scout_port}", f"http://127.0.0.1:{worker_port}")
        _print_help(state_dir, settings, (sim_port, worker_port, scout_port))
        while all(p.poll() is None for p in processes.values()):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for process in processes.values():
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
        for process in processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def command_key(settings: Settings, state_dir: Path) -> Path:
    """The owner's command-signing key (made in STATE_DIR unless TESLA_COMMAND_KEY_FILE names one) and
    its public half, which the simulated account "hosts" so the simulated car knows it (paired)."""
    from shared.tesla.command_key import generate_local_key, local_key_path, public_key_pem

    private = local_key_path(settings)
    if settings.tesla_command_key_file is None and generate_local_key(private):
        print(f"run: made a command-signing key at {private}", flush=True)
    public = state_dir / "tesla-command-key.pub.pem"
    public.write_bytes(public_key_pem(private.read_bytes()))
    return public


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _register_jobs(settings, scout_url: str, worker_url: str) -> None:  # type: ignore[no-untyped-def]
    from shared.adapters.factory import build_embedded_scheduler

    scheduler = build_embedded_scheduler(settings, SystemClock())
    for job in recurring_jobs(scout_url, worker_url):
        scheduler.create(job)


def _print_help(state_dir: Path, settings: Settings, ports: tuple[int, int, int]) -> None:
    sim_port, worker_port, scout_port = ports
    token_file = state_dir / "worker-api-token"
    worker = f"http://127.0.0.1:{worker_port}"
    # The link carries the worker's shared secret: printed here, on the owner's own terminal, only.
    login = f"{worker}/login?token={quote(settings.worker_api_token or '', safe='')}"
    print(
        "\n".join(
            [
                "",
                f"tesla-offpeak is running locally (state in {state_dir}):",
                f"  worker          {worker}   (embedded scheduler inside)",
                f"  scout           http://127.0.0.1:{scout_port}",
                f"  Tesla simulator http://127.0.0.1:{sim_port}   (control: /sim/state, /sim/vehicles/<vin>/...)",
                "",
                "Status page — open this login link once in your browser (it sets a session cookie):",
                f"  {login}",
                "",
                "Try:",
                f"  TOKEN=$(cat {token_file})",
                f"  curl -s {worker}/health",
                f'  curl -s -H "Authorization: Bearer $TOKEN" {worker}/status',
                f'  curl -s -X POST -H "Authorization: Bearer $TOKEN" http://127.0.0.1:{scout_port}/',
                f'  curl -s -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" '
                f'-d \'{{"target_soc": 80, "departure": "<ISO time with offset>"}}\' '
                f"{worker}/special-charging-needs",
                f'  curl -s -X POST -H "Authorization: Bearer $TOKEN" {worker}/daily-special-charging-check',
                f'  curl -s -H "Authorization: Bearer $TOKEN" {worker}/scheduler-jobs',
                "",
                "Ctrl-C stops everything.",
            ]
        ),
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
