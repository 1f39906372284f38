"""Prints what each MAX_WINDOWS buys in the month: the energy saved against the extra billed commands.

Run from the repository root: `.venv/bin/python bench/bench_windows.py [--windows 1 2 3] [--days 30]
[--seed 1] [--jobs 4]`. Each line is the default household (simulator/scenarios/commuter.yaml) on one
price set with MAX_WINDOWS=k: the planned energy cost (PLN, at the price the planner optimised) and
the Tesla Fleet API cost (USD per car-month; each window is one add_charge_schedule command, and
the home schedule sends only what changed). The net is the energy saved against k = 1 minus the
extra Fleet API cost at USD_PLN (an assumption, below), before Tesla's monthly $10 discount, which
covers a single car's whole Fleet API bill. It prints figures and a suggestion; it judges nothing.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator import side_by_side  # noqa: E402
from simulator.scenario import load_scenario  # noqa: E402

USD_PLN = 3.65  # assumed PLN per USD (NBP mid rate order of magnitude in 2025-2026); only scales the net


def main() -> None:
    """Simulate every price set for each window limit and print the trade-off."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--windows", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    scenario = load_scenario()
    sets = side_by_side.ordered_sets(scenario.prices)
    figures: dict[int, dict[str, tuple[float, float]]] = {}
    for k in args.windows:
        limited = replace(scenario, env={**scenario.env, "MAX_WINDOWS": str(k)})
        reports = side_by_side.run_sets(limited, days=args.days, seed=args.seed, sets=sets, jobs=args.jobs)
        figures[k] = {
            name: (float(r["issue_15"]["planned"]), float(r["goals"]["tesla_fleet_api"]["value"]))
            for name, r in reports.items()
        }
    base = args.windows[0]
    print(
        f"{args.days} days of '{scenario.name}' (seed {args.seed}); net = PLN saved vs MAX_WINDOWS={base} "
        f"minus the extra Fleet API at {USD_PLN} PLN/USD"
    )
    print(
        f"  {'price set':<17}{'k':>3}{'planned PLN':>13}{'Fleet $/car':>13}{'saved PLN':>11}{'extra $':>9}{'net PLN':>9}"
    )
    best: dict[str, int] = {}
    for name in sets:
        planned0, fleet0 = figures[base][name]
        nets = {}
        for k in args.windows:
            planned, fleet = figures[k][name]
            saved, extra = planned0 - planned, fleet - fleet0
            nets[k] = saved - extra * USD_PLN
            print(f"  {name:<17}{k:>3}{planned:>13.2f}{fleet:>13.2f}{saved:>11.2f}{extra:>9.3f}{nets[k]:>9.2f}")
        best[name] = max(args.windows, key=lambda k: (round(nets[k], 2), -k))  # the fewest windows on a tie
    print("  best net per set: " + ", ".join(f"{name} k={k}" for name, k in best.items()))


if __name__ == "__main__":
    main()
