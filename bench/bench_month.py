"""Prints the month's figures against the goals: cost goals per price set, then issue 15's side by side.

Run from the repository root: `.venv/bin/python bench/bench_month.py [--days 30] [--seed 1] [--prices SET ...]
[--jobs 2]`. Each run is the default household (simulator/scenarios/commuter.yaml) simulated by
simulator/month.py on one price set (g12w, tge, tge+tauron:G12w, rce, rce+tauron:G12w; all by
default, the scenario's own first, the others in `--jobs` processes meanwhile); the figures are the
report's (simulator/report.py, simulator/comparison.py). A missed goal prints MISSED with why; it
never fails the bench. While sets run side by side the run-time goal is not judged (their wall
times slow each other down): `--jobs 0` runs them one after another, and judges it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator import comparison, side_by_side  # noqa: E402
from simulator.scenario import PRICE_SOURCES, load_scenario  # noqa: E402


def main() -> None:
    """Simulate and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--prices", nargs="+", choices=PRICE_SOURCES, default=None, help="default: every set")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes beside this one (0: one by one)")
    args = parser.parse_args()
    scenario = load_scenario()
    sets = args.prices or side_by_side.ordered_sets(scenario.prices)
    reports = side_by_side.run_sets(scenario, days=args.days, seed=args.seed, sets=sets, jobs=args.jobs)
    processes = side_by_side.processes(args.jobs, sets)
    merged = side_by_side.merged(reports, processes=processes)
    for report in [merged, *merged["price_set_reports"].values()]:
        _print_costs(report, args.days, args.seed)
    print(f"\n== issue 15: the same month on {len(sets)} price set(s)")
    print("\n".join(comparison.lines(merged["comparison"], merged["goals_issue_15"])))


def _print_costs(report: dict[str, Any], days: int, seed: int) -> None:
    goals, gcp, energy = report["goals"], report["gcp_cost_usd"], report["energy_cost"]
    print(f"== {days} days, {report['prices']['description']}, seed {seed}")
    print(f"   simulation wall time        {report['timing']['wall_seconds']:.1f} s  ({_goal(goals['month_runtime'])})")
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
            f"     {name:<17} list ${cost['list_price']:.4f}   after free tier ${cost['after_free_tier']:.4f}" + assumed
        )
    saving = energy["saving_vs_arrival"]
    print(
        f"   energy {report['energy_kwh']:.1f} kWh: planned {energy['planned']:.2f} PLN, on arrival "
        f"{energy['charge_on_arrival']:.2f}, fixed 22:00 window {energy['fixed_offpeak_window']:.2f}, cheapest "
        f"possible {energy['cheapest_possible']:.2f}; saving vs arrival {saving * 100:.1f} %"
        + (f" ({_goal(goals['energy_saving_vs_arrival'])})" if goals["energy_saving_vs_arrival"]["applies"] else "")
    )
    run_time = report["run_time"]
    print(
        f"   scout: {run_time['scout']['invocations']} calls, {run_time['scout']['wall_ms_mean']} ms mean in-process, "
        f"{run_time['scout']['billed_seconds']} s billed; worker: {run_time['worker']['invocations']} calls, "
        f"{run_time['worker']['wall_ms_mean']} ms mean, {run_time['worker']['billed_seconds']} s billed"
    )


def _goal(goal: dict[str, object]) -> str:
    if goal.get("applies", True) is False:
        return f"goal {goal['target']}: not judged — {goal.get('not_judged', 'does not apply here')}"
    why = f" — {goal['why']}" if goal.get("why") else ""  # a missed GCP goal says which items and why
    return f"goal {goal['target']}: {'MET' if goal['met'] else 'MISSED' + why}"


if __name__ == "__main__":
    main()
