"""`python -m simulator --days N --report FILE [--scenario FILE] [--seed N] [--prices SET | --compare] [--soak] ...`.

Runs the month simulation (simulator/month.py) and writes its report (simulator/report.py); prints
the summary table. Exit status 0 whether or not the goals are met (the report says which); 2 on
bad arguments or a scenario that cannot run. `--soak` adds random Tesla faults and a worker crash
a week (simulator/soak.py), prints the soak's figures and exits 1 when one of its rules is broken.
`--compare` runs the same month on every price set (g12w, tge, tge+tauron:G12w, rce,
rce+tauron:G12w) in `--jobs` processes and prints them side by side with issue 15's goals
(simulator/side_by_side.py, simulator/comparison.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from simulator.price_data import PriceDataError
from simulator.scenario import PRICE_SOURCES, ScenarioError, load_scenario


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30, help="days to simulate (default 30)")
    parser.add_argument("--report", type=Path, default=None, help="write the JSON report here")
    parser.add_argument("--scenario", type=Path, default=None, help="scenario YAML (default: the commuter)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the household (default 1)")
    parser.add_argument("--prices", choices=PRICE_SOURCES, default=None, help="override the scenario's price set")
    parser.add_argument("--compare", action="store_true", help="run every price set and print them side by side")
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="--compare: worker processes beside this one (default 2; 0: one after another)",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--soak", action="store_true", help="random Tesla faults and a worker crash a week")
    parser.add_argument("--fault-rate", type=float, default=0.05, help="the soak's fault rate (default 0.05)")
    parser.add_argument(
        "--alert-conditions",
        type=int,
        default=None,
        help="Cloud Monitoring alert conditions to price (default: the price table's, 0 until alerting is deployed)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run, report, print."""
    args = parse_args(argv)
    if args.days < 1:
        print("--days must be at least 1", file=sys.stderr)
        return 2
    from simulator.month import run_simulation
    from simulator.report import build_report, summary_lines
    from simulator.soak import Soak, SoakConfig
    from simulator.soak import summary_lines as soak_lines

    if not 0 <= args.fault_rate <= 1:
        print("--fault-rate must be between 0 and 1", file=sys.stderr)
        return 2
    if args.alert_conditions is not None and args.alert_conditions < 0:
        print("--alert-conditions must be 0 or more", file=sys.stderr)
        return 2
    if args.compare and (args.soak or args.prices):
        print("--compare runs every price set, without --soak or --prices", file=sys.stderr)
        return 2
    if args.compare:
        return _compare(args)
    soak = Soak(SoakConfig(fault_rate=args.fault_rate, seed=args.seed)) if args.soak else None
    try:
        scenario = load_scenario(args.scenario).with_prices(args.prices)
        run = run_simulation(scenario, days=args.days, seed=args.seed, soak=soak)
    except (ScenarioError, PriceDataError) as error:
        print(f"simulator: {error}", file=sys.stderr)
        return 2
    report = build_report(run, alert_conditions=args.alert_conditions)
    if args.report is not None:
        _write(args.report, report)
    if not args.quiet:
        print(f"Simulated {report['days']} days of '{report['scenario']}' (seed {report['seed']}):")
        print("\n".join(summary_lines(report)))
        if run.soak is not None:
            print("\n".join(soak_lines(run.soak)))
        if args.report is not None:
            print(f"report written to {args.report}")
    return 1 if run.soak is not None and not run.soak["passed"] else 0


def _compare(args: argparse.Namespace) -> int:
    """Every price set for the same month, side by side; the merged report has `comparison` and `goals_issue_15`."""
    from simulator import comparison, side_by_side
    from simulator.report import summary_lines

    try:
        scenario = load_scenario(args.scenario)
        sets = side_by_side.ordered_sets(scenario.prices)
        reports = side_by_side.run_sets(
            scenario, days=args.days, seed=args.seed, sets=sets, jobs=args.jobs, alert_conditions=args.alert_conditions
        )
    except (ScenarioError, PriceDataError) as error:
        print(f"simulator: {error}", file=sys.stderr)
        return 2
    at_once = side_by_side.processes(args.jobs, sets)
    report = side_by_side.merged(reports, processes=at_once)
    if args.report is not None:
        _write(args.report, report)
    if not args.quiet:
        print(f"Simulated {report['days']} days of '{report['scenario']}' (seed {report['seed']}), {sets[0]}:")
        print("\n".join(summary_lines(report)))
        print(f"\nThe same month on every price set ({at_once} processes):")
        print("\n".join(comparison.lines(report["comparison"], report["goals_issue_15"])))
        if args.report is not None:
            print(f"report written to {args.report}")
    return 0


def _write(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
