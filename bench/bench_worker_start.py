"""Prints the worker's cold start: a fresh interpreter importing worker_service and calling create_app().

Run from the repository root: `.venv/bin/python bench/bench_worker_start.py`. Measured with the
local backend (no cloud clients); the Google clients the GCP backend imports on first use are
timed separately, since on Cloud Run they are part of the first request's cost.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
START_WORKER = """
import json, time
t0 = time.perf_counter()
from worker_service.app import create_app
t1 = time.perf_counter()
create_app()
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "create_app": t2 - t1}))
"""
IMPORT_CLIENTS = """
import time
t = time.perf_counter()
import google.cloud.firestore, google.cloud.secretmanager, google.cloud.scheduler_v1
print(time.perf_counter() - t)
"""


def worker_env(state_dir: str) -> dict[str, str]:
    """A minimal local configuration (contract section 4); no secret is real."""
    return {
        **os.environ,
        "BACKEND": "local",
        "STATE_DIR": state_dir,
        "TESLA_VIN": "5YJ3E7EB2NF000001",
        "TESLA_CLIENT_ID": "bench",
        "TESLA_REFRESH_TOKEN": "bench-refresh-token",
        "HOME_LATITUDE": "52.2297",
        "HOME_LONGITUDE": "21.0122",
        "WORKER_AUTH_MODE": "shared-secret",
        "WORKER_API_TOKEN": "bench-worker-token-0123456789abcdef",
    }


def run(code: str, env: dict[str, str]) -> tuple[str, float]:
    """Run code in a fresh interpreter; its output and the process's wall time."""
    began = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip(), time.perf_counter() - began


def main() -> None:
    """Print the figures."""
    imports, apps, processes, clients = [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        env = worker_env(folder)
        for _ in range(RUNS):
            out, seconds = run(START_WORKER, env)
            figures = json.loads(out)
            imports.append(figures["import"])
            apps.append(figures["create_app"])
            processes.append(seconds)
        for _ in range(3):
            out, _ = run(IMPORT_CLIENTS, env)
            clients.append(float(out))
    print(f"worker import (worker_service.app): {statistics.median(imports) * 1000:.0f} ms median of {RUNS}")
    print(f"worker create_app() (local backend): {statistics.median(apps) * 1000:.0f} ms median")
    print(f"worker cold process (interpreter + import + create_app): {statistics.median(processes) * 1000:.0f} ms")
    print(
        f"Google clients the GCP backend adds on first use (firestore, secret manager, scheduler): "
        f"{statistics.median(clients) * 1000:.0f} ms median of 3"
    )


if __name__ == "__main__":
    main()
