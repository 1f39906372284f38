"""Prints the scout's cold import time (a fresh interpreter importing scout_function/main.py) and its warm tick time.

Run from the repository root: `.venv/bin/python bench/bench_scout.py`. The cold figure is what a
Cloud Functions cold start pays before the first tick, on this machine's full core (a 256 MiB
function gets 0.167 vCPU: roughly six times longer there). The warm tick is one in-process call
through functions-framework against the Tesla simulator with the car asleep (one free state call,
the Firestore reads), so it shows the code's own cost, not network latency.
"""

from __future__ import annotations

import logging
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLD_RUNS = 7
WARM_TICKS = 300
IMPORT_SCOUT = (
    "import time, importlib.util as u; t = time.perf_counter(); "
    "s = u.spec_from_file_location('main', 'scout_function/main.py'); m = u.module_from_spec(s); "
    "s.loader.exec_module(m); print(time.perf_counter() - t)"
)


def cold_import() -> tuple[float, float]:
    """Median seconds to import the scout module, and to start the interpreter and import it."""
    imports, processes = [], []
    for _ in range(COLD_RUNS):
        began = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", IMPORT_SCOUT], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        processes.append(time.perf_counter() - began)
        imports.append(float(out.strip()))
    return statistics.median(imports), statistics.median(processes)


def warm_ticks() -> list[float]:
    """Seconds per tick, the car asleep at home, 15 virtual minutes apart."""
    from shared.log import configure_logging
    from shared.scout import runtime
    from simulator.harness import build_system

    configure_logging(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        start = datetime(2026, 2, 2, 1, 0, tzinfo=ZoneInfo("Europe/Warsaw"))
        system = build_system(Path(folder) / "state", start, vehicle={"asleep": True, "battery_level": 80})
        try:
            for _ in range(3):  # first detection, token bootstrap, then steady state
                system.scout_tick()
                system.clock.advance(timedelta(minutes=15))
            times = []
            for _ in range(WARM_TICKS):
                began = time.perf_counter()
                answer = system.scout_tick()
                times.append(time.perf_counter() - began)
                assert answer["_http_status"] == 200, answer
                system.clock.advance(timedelta(minutes=15))
        finally:
            runtime.use_deps(None)
    return times


def main() -> None:
    """Print the figures."""
    imports, process = cold_import()
    print(f"scout cold import (scout_function/main.py): {imports * 1000:.0f} ms median of {COLD_RUNS}")
    print(f"scout cold process (interpreter start + import): {process * 1000:.0f} ms median")
    ticks = sorted(warm_ticks())
    p95 = ticks[int(0.95 * (len(ticks) - 1))]
    print(
        f"scout warm tick (car asleep, in-process): median {statistics.median(ticks) * 1000:.2f} ms, "
        f"p95 {p95 * 1000:.2f} ms, max {ticks[-1] * 1000:.2f} ms over {len(ticks)} ticks"
    )
    print(
        "note: on Cloud Functions the first tick also imports the Firestore and Secret Manager clients "
        "(~0.5 s of CPU) and every call waits for the network; see simulator/data/gcp_prices.yaml"
    )


if __name__ == "__main__":
    main()
