"""Prints the month's cost figures against the goals, on the G12w tariff and on the real TGE series.

Run from the repository root: `.venv/bin/python bench/bench_month.py [--days 30] [--prices g12w tge]`.
Each run is the default household (simulator/scenarios/commuter.yaml) simulated by
simulator/month.py; the figures are the report's (simulator/report.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator.month import run_simulation  # noqa: E402
from simulator.report import build_report  # noqa: E402
from simulator.scenario import PRICE_SOURCES, load_scenario  # noqa: E402


def main() -> None:
    """Simulate and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--prices", nargs="+", choices=PRICE_SOURCES, default=["g12w", "tge"])
    args = parser.parse_args()
    for prices in args.prices:
        report = build_report(run_simulation(load_scenario().with_prices(prices), days=args.days, seed=args.seed))
        goals, gcp, energy = report["goals"], report["gcp_cost_usd"], report["energy_cost"]
        print(f"== {args.days} days, {report['prices']['description']}, seed {args.seed}")
        print(
            f"   simulation wall time        {report['timing']['wall_seconds']:.1f} s  ({_goal(goals['month_runtime'])})"
        )
        billable = report["tesla_billable"]
        print(
            f"   Fleet API per car-month     ${goals['tesla_fleet_api']['value']:.2f}  ({_goal(goals['tesla_fleet_api'])})"
            f"  data {billable['data']}, commands {billable['commands']}, wakes {billable['wakes']}"
        )
        print(f"   GCP list price per month    ${gcp['list_price']:.3f}  ({_goal(goals['gcp_list_price'])})")
        print(f"   GCP after free tiers        ${gcp['after_free_tier']:.3f}  ({_goal(goals['gcp_after_free_tier'])})")
        for name, cost in gcp["breakdown"].items():
            assumed = "  (assumed, not simulated)" if cost.get("basis") == "assumed" else ""
            print(
                f"     {name:<17} list ${cost['list_price']:.4f}   after free tier ${cost['after_free_tier']:.4f}"
                + assumed
            )
        saving = energy["saving_vs_arrival"]
        print(
            f"   energy {report['energy_kwh']:.1f} kWh: planned {energy['planned']:.2f} PLN, on arrival "
            f"{energy['charge_on_arrival']:.2f}, fixed 22:00 window {energy['fixed_offpeak_window']:.2f}; "
            f"saving vs arrival {saving * 100:.1f} %"
            + (f" ({_goal(goals['energy_saving_vs_arrival'])})" if goals["energy_saving_vs_arrival"]["applies"] else "")
        )
        run_time = report["run_time"]
        print(
            f"   scout: {run_time['scout']['invocations']} calls, {run_time['scout']['wall_ms_mean']} ms mean in-process, "
            f"{run_time['scout']['billed_seconds']} s billed; worker: {run_time['worker']['invocations']} calls, "
            f"{run_time['worker']['wall_ms_mean']} ms mean, {run_time['worker']['billed_seconds']} s billed"
        )


def _goal(goal: dict[str, object]) -> str:
    why = f" — {goal['why']}" if goal.get("why") else ""  # a missed GCP goal says which items and why
    return f"goal {goal['target']}: {'met' if goal['met'] else 'MISSED' + why}"


if __name__ == "__main__":
    main()
