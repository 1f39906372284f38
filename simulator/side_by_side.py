"""The same month on every price set (issue 15): one report per set, run in parallel processes, merged into one.

Each set is a separate simulation of the same household, seed and days from the scenario's start:
the runs share nothing, so they go to a pool of processes (the 30-day month is about half a
minute of CPU per set). The merged report is the first set's, with `comparison` and
`goals_issue_15` over all sets and the other sets' reports under `price_set_reports`.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import timedelta
from typing import Any

from simulator import comparison, price_data
from simulator.costs import load_price_table
from simulator.month import run_simulation, simulation_end, simulation_start
from simulator.report import build_report
from simulator.scenario import PRICE_SOURCES, Scenario

Report = dict[str, Any]


def check_coverage(scenario: Scenario, sets: Sequence[str], days: int) -> None:
    """PriceDataError naming the first set whose prices do not cover the month (before any process starts)."""
    start, end = simulation_start(scenario), simulation_end(scenario, days) + timedelta(days=2)
    for name in sets:
        price_data.prices_for(name, start, end, scenario.timezone)


def run_sets(
    scenario: Scenario,
    *,
    days: int,
    seed: int,
    sets: Sequence[str] = PRICE_SOURCES,
    jobs: int = 2,
    first: Callable[[Scenario], Report] | None = None,
    alert_conditions: int | None = None,
) -> dict[str, Report]:
    """The month's report on each price set, in `sets` order.

    sets[0] runs in this process (through `first` when given: the demo watches it), the others in
    `jobs` worker processes meanwhile (0: one after another, here).
    """
    check_coverage(scenario, sets, days)
    rest = list(sets[1:])
    pool = None
    futures: dict[str, Future[Report]] = {}
    if jobs > 0 and rest:
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(rest)), mp_context=_context())
        futures = {name: pool.submit(one_set, scenario, name, days, seed, alert_conditions) for name in rest}
    try:
        own = scenario.with_prices(sets[0])
        reports = {sets[0]: first(own) if first is not None else one_set(own, sets[0], days, seed, alert_conditions)}
        for name in rest:
            reports[name] = (
                futures[name].result() if pool is not None else one_set(scenario, name, days, seed, alert_conditions)
            )
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return reports


def _context() -> multiprocessing.context.BaseContext:
    """fork where there is one: the workers start at once with the modules loaded (spawn re-imports for seconds).

    The pool forks before this process runs any simulation (ProcessPoolExecutor starts all its
    fork workers at the first submit, before its own thread), so nothing half-done is copied.
    """
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def one_set(scenario: Scenario, name: str, days: int, seed: int, alert_conditions: int | None = None) -> Report:
    """The month on one price set, as its report (a plain dict: it crosses the process boundary)."""
    run = run_simulation(scenario.with_prices(name), days=days, seed=seed)
    return build_report(run, alert_conditions=alert_conditions)


def merged(reports: Mapping[str, Report], *, processes: int = 1) -> Report:
    """The first set's report with `comparison` and `goals_issue_15` over every set, the others' reports attached."""
    ordered = [_contended(report, processes) for report in reports.values()]
    report = dict(ordered[0])
    report["comparison"] = comparison.section(ordered, processes=processes)
    report["goals_issue_15"] = comparison.judge(ordered, load_price_table()["goals_issue_15"])
    report["price_set_reports"] = {
        other["prices"]["source"]: {k: v for k, v in other.items() if k not in ("comparison", "goals_issue_15")}
        for other in ordered[1:]
    }
    return report


def _contended(report: Report, processes: int) -> Report:
    """The report with its wall times marked as measured beside other simulations, the run-time goal not judged."""
    if processes <= 1:
        return report
    goals = {**report["goals"]}
    goals["month_runtime"] = {
        **goals["month_runtime"],
        "applies": False,
        "not_judged": f"{processes} simulations ran at once: judge the run time on a month run alone "
        "(python -m simulator --days 30)",
    }
    goals["all_met"] = all(g["met"] for k, g in goals.items() if k != "all_met" and g.get("applies", True))
    return {**report, "goals": goals, "timing": {**report["timing"], "simulations_at_once": processes}}


def processes(jobs: int, sets: Sequence[str]) -> int:
    """How many simulations run at once for `jobs` worker processes (this process runs one too)."""
    return 1 + min(max(0, jobs), len(sets) - 1)


def ordered_sets(first: str) -> list[str]:
    """Every price set, the scenario's own first (the one the demo tells the night of)."""
    return [first, *(name for name in PRICE_SOURCES if name != first)]
