"""Real `python -m worker_service` processes on one STATE_DIR, against a Tesla simulator on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
VIN = "5YJ3E7EB2NF000001"
HOME = (52.2297, 21.0122)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command_key_pem(state: Path) -> bytes:
    """The public half of the workers' command key (made in `state` as `make run` makes it), for the simulator."""
    from shared.tesla.command_key import LOCAL_KEY_NAME, generate_local_key, public_key_pem

    generate_local_key(state / LOCAL_KEY_NAME)
    return public_key_pem((state / LOCAL_KEY_NAME).read_bytes())


def start_workers(state: Path, tesla_url: str, count: int, *, token: str) -> list[tuple[subprocess.Popen[bytes], str]]:
    """Start `count` workers sharing `state`; returns (process, base URL) once each answers /health."""
    started = []
    for _ in range(count):
        port = free_port()
        env = {
            **os.environ,
            "BACKEND": "local",
            "STATE_DIR": str(state),
            "PORT": str(port),
            "TESLA_VIN": VIN,
            "TESLA_CLIENT_ID": "client",
            "TESLA_REFRESH_TOKEN": "EU_bootstrap",
            "WORKER_API_TOKEN": token,
            "TESLA_API_BASE_URL": tesla_url,
            "TESLA_AUTH_URL": f"{tesla_url}/oauth2/v3/token",
            "HOME_LATITUDE": str(HOME[0]),
            "HOME_LONGITUDE": str(HOME[1]),
            "WORKER_SERVICE_URL": f"http://127.0.0.1:{port}",
            "PYTHONPATH": str(ROOT),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "worker_service"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append((process, f"http://127.0.0.1:{port}"))
    deadline = time.monotonic() + 30
    for process, url in started:
        while True:
            try:
                if requests.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                stop_workers(started)
                raise AssertionError("worker did not start")
            time.sleep(0.1)
    return started


def stop_workers(workers: list[tuple[subprocess.Popen[bytes], str]]) -> None:
    """Kill the processes and reap them."""
    for process, _ in workers:
        process.kill()
        process.wait(timeout=10)
