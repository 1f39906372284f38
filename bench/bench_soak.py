"""Prints the soak's figures against its rules (issue 9, item 6): the month with random Tesla faults and crashes.

Run from the repository root: `.venv/bin/python bench/bench_soak.py [--days 30] [--seed 1] [--fault-rate 0.05]`.
The default household (simulator/scenarios/commuter.yaml) is simulated by simulator/month.py with
simulator/soak.py shaking it; exits 1 when a rule is broken.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator.month import run_simulation  # noqa: E402
from simulator.scenario import load_scenario  # noqa: E402
from simulator.soak import Soak, SoakConfig, summary_lines  # noqa: E402


def main() -> int:
    """Soak, print, exit 1 on a broken rule."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    args = parser.parse_args()
    soak = Soak(SoakConfig(fault_rate=args.fault_rate, seed=args.seed))
    run = run_simulation(load_scenario(), days=args.days, seed=args.seed, soak=soak)
    assert run.soak is not None
    print(f"== soak: {args.days} days, seed {args.seed}, wall time {run.wall_seconds:.1f} s")
    print("\n".join(summary_lines(run.soak)))
    return 0 if run.soak["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
