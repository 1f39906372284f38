"""`python -m simulator.demo --days N --out DIR` (what `make demo` runs): one night told step by step, then the month.

The first night of the default household — it asks for 90 % by 06:00 the next morning, so the
special-charging session and both of its one-shot jobs appear — is printed as a timeline; then
the summary of all N days, the same month on every price set side by side with issue 15's goals
(the other sets run in `--jobs` processes meanwhile; `--prices SET` runs that set alone),
`DIR/report.json` and the chart `DIR/night.png`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from simulator.price_data import PriceDataError
from simulator.scenario import PRICE_SOURCES, Scenario, ScenarioError, SpecialNeed, load_scenario

NIGHT_FROM, NIGHT_TO = time(16, 0), time(8, 0)  # day 0 afternoon to day 1 morning, local time


def with_first_night_need(scenario: Scenario) -> Scenario:
    """The scenario with an early departure on day 1 (added when it has none), so the night shows a session."""
    if any(need.day == 1 for need in scenario.special_needs):
        return scenario
    need = SpecialNeed(day=1, departure=time(6, 0), target_soc=90)
    return replace(scenario, special_needs=(need, *scenario.special_needs))


def main(argv: list[str] | None = None) -> int:
    """Run the month, print the night and the summary, write the report and the chart."""
    parser = argparse.ArgumentParser(prog="python -m simulator.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30, help="days to simulate (at least 2: the night needs them)")
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="folder for report.json and night.png")
    parser.add_argument("--scenario", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--prices", choices=PRICE_SOURCES, default=None, help="this price set alone (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for the other price sets (default 2)")
    args = parser.parse_args(argv)
    days = max(2, args.days)

    from simulator import comparison, side_by_side
    from simulator.chart import night_chart
    from simulator.month import SimulationRun, run_simulation
    from simulator.report import build_report, summary_lines
    from simulator.timeline import NightTimeline

    try:
        scenario = with_first_night_need(load_scenario(args.scenario).with_prices(args.prices))
    except ScenarioError as error:
        print(f"simulator.demo: {error}", file=sys.stderr)
        return 2
    zone = scenario.timezone
    night = NightTimeline(
        datetime.combine(scenario.start, NIGHT_FROM, tzinfo=zone),
        datetime.combine(scenario.start + timedelta(days=1), NIGHT_TO, tzinfo=zone),
    )
    sets = [scenario.prices] if args.prices else side_by_side.ordered_sets(scenario.prices)
    watched: list[SimulationRun] = []

    def watch(own: Scenario) -> dict[str, Any]:
        run = run_simulation(own, days=days, seed=args.seed, observer=night)
        watched.append(run)
        return build_report(run)

    print(
        f"Simulating {days} days of '{scenario.name}' from {scenario.start} on a virtual clock (seed {args.seed})"
        + (f", on {len(sets)} price sets…" if len(sets) > 1 else "…")
    )
    try:
        reports = side_by_side.run_sets(scenario, days=days, seed=args.seed, sets=sets, jobs=args.jobs, first=watch)
    except PriceDataError as error:
        print(f"simulator.demo: {error}", file=sys.stderr)
        return 2
    run = watched[0]
    night.finish(run)
    report = (
        side_by_side.merged(reports, processes=side_by_side.processes(args.jobs, sets))
        if len(sets) > 1
        else reports[sets[0]]
    )

    start = night.start.strftime("%a %d %b %Y %H:%M")
    print(f"\nThe first night, step by step ({start} to {night.end.strftime('%a %H:%M')}, {zone.key}):\n")
    print("\n".join(night.lines(run)))
    print(f"\nThe month ({days} days):\n")
    print("\n".join(summary_lines(report)))
    if len(sets) > 1:
        print(f"\nThe same month on every price set ({report['comparison']['processes']} processes):\n")
        print("\n".join(comparison.lines(report["comparison"], report["goals_issue_15"])))

    args.out.mkdir(parents=True, exist_ok=True)
    report_path = args.out / "report.json"
    report_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    chart_path = night_chart(run, night, args.out / "night.png")
    print(f"\nWrote {report_path} and {chart_path}.")
    if not report["goals"]["all_met"]:
        missed = [
            name
            for name, goal in report["goals"].items()
            if isinstance(goal, dict) and goal.get("applies", True) and not goal["met"]
        ]
        print(f"Goals missed: {', '.join(missed)} — see `goals` in the report.")
    if not report["goals_issue_15"]["all_met"]:
        print(f"Issue 15 goals missed: {', '.join(report['goals_issue_15']['missed'])} — see `goals_issue_15`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
