"""The cost tables of README.md and deploy/README.md, rendered from a month report (never typed by hand).

`python -m simulator.cost_table REPORT [--tge TGE_REPORT] [--format readme|deploy|comparison] [--update FILE]`
prints the markdown, or with `--update` replaces what stands between the file's
`<!-- COSTS: BEGIN ... -->` and `<!-- COSTS: END -->` lines. REPORT is the JSON of
`python -m simulator --days 30 --report REPORT`; TGE_REPORT, the same with `--prices tge`, adds
the README's line on real day-ahead prices. `--format comparison` prints the energy side by side
of a `python -m simulator --days 30 --compare --report REPORT` (every price set, issue 15).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simulator.comparison import signed_pct
from simulator.costs import SERVICE_LABELS, load_price_table

BEGIN = re.compile(r"^<!-- COSTS: BEGIN.*?-->\n", re.MULTILINE | re.DOTALL)
END = "<!-- COSTS: END -->"


def money(value: float, digits: int = 2) -> str:
    """$0.58; amounts that round to zero but are not zero read `< $0.01`."""
    if 0 < value < 0.5 * 10**-digits:
        return f"< ${10**-digits:.{digits}f}"
    return f"${value:.{digits}f}"


def items(report: Mapping[str, Any], field: str, digits: int = 2) -> str:
    """The services behind a GCP total, dearest first, zero ones left out; assumed ones say so."""
    breakdown = report["gcp_cost_usd"]["breakdown"]
    parts = []
    for name, cost in sorted(breakdown.items(), key=lambda item: -item[1][field]):
        if cost[field] <= 0:
            continue
        label = SERVICE_LABELS.get(name, name)
        parts.append(f"{label} {money(cost[field], digits)}" + (" (assumed)" if cost.get("basis") == "assumed" else ""))
    return ", ".join(parts) if parts else "nothing"


def goal_text(goal: Mapping[str, Any], shown: str) -> str:
    """The goal column: the target, and when it is missed, plainly so and why."""
    if goal.get("met", True):
        return shown
    return f"{shown} — **missed**" + (f": {goal['why']}" if goal.get("why") else "")


def assumed_line(report: Mapping[str, Any]) -> str:
    """Images, builds and alerting: list price and after the free tier, with the usage they assume."""
    breakdown = report["gcp_cost_usd"]["breakdown"]
    parts = []
    for name in report["gcp_cost_usd"].get("assumed", {}).get("services", []):
        cost = breakdown[name]
        usage = cost["usage_per_month"]
        what = {
            "artifact_registry": f"{usage.get('stored_gib', 0):.2f} GiB of images",
            "cloud_build": f"{usage.get('build_minutes', 0):g} build-minutes",
            "cloud_monitoring": _conditions(usage.get("alert_conditions", 0)),
        }.get(name, "")
        parts.append(
            f"{SERVICE_LABELS.get(name, name)} ({what}) {money(cost['list_price'], 3)}, "
            f"{money(cost['after_free_tier'], 3)} after the free tier"
        )
    return "; ".join(parts)


def with_alerting(report: Mapping[str, Any], table: Mapping[str, Any] | None = None) -> str | None:
    """What one alert condition (the owner's alert e-mail) would do to the GCP totals and goals; None if already priced."""
    gcp, goals = report["gcp_cost_usd"], report["goals"]
    if gcp["breakdown"].get("cloud_monitoring", {}).get("list_price", 0) > 0:
        return None
    price = float((table or load_price_table())["cloud_monitoring"]["per_condition_month"])
    after, listed = gcp["after_free_tier"] + price, gcp["list_price"] + price
    missed = [
        f"{_target(goals[key])} {'after the free tier' if key == 'gcp_after_free_tier' else 'at list price'}"
        for key, value in (("gcp_after_free_tier", after), ("gcp_list_price", listed))
        if value > float(str(goals[key]["target"]).split()[-1])
    ]
    verdict = f"would miss {' and '.join(missed)}" if missed else "would still meet both GCP goals"
    return (
        f"with the owner's alert e-mail (1 alert condition, {money(price)} a month, no free tier): "
        f"{money(after, 3)} after the free tier, {money(listed)} at list price — {verdict}"
    )


def readme_table(report: Mapping[str, Any], tge: Mapping[str, Any] | None = None) -> str:
    """README.md's table under "Costs"."""
    goals, gcp, billable = report["goals"], report["gcp_cost_usd"], report["tesla_billable"]
    energy = report["energy_cost"]
    tesla = goals["tesla_fleet_api"]
    rows = [
        "| | per month | goal |",
        "|---|---|---|",
        f"| Tesla Fleet API ({billable['data']} data, {billable['commands']} commands, {billable['wakes']} wakes) "
        f"| {money(tesla['value'])} per car (before Tesla's $10 discount) | {goal_text(tesla, '≤ $1')} |",
        f"| Google Cloud after the free tiers | {money(gcp['after_free_tier'], 3)} "
        f"({items(report, 'after_free_tier', 3)}) "
        f"| {goal_text(goals['gcp_after_free_tier'], _target(goals['gcp_after_free_tier']))} |",
        f"| Google Cloud at list price | {money(gcp['list_price'])} ({items(report, 'list_price')}) "
        f"| {goal_text(goals['gcp_list_price'], _target(goals['gcp_list_price']))} |",
        f"| … of which images, builds and alerting (assumed, not simulated) | {assumed_line(report)} | |",
    ]
    alerting = with_alerting(report)
    if alerting:
        rows.append(f"| … {alerting.split(': ', 1)[0]} | {alerting.split(': ', 1)[1]} | |")
    saving = goals["energy_saving_vs_arrival"]
    if saving["applies"]:
        best = energy["best_possible_saving_vs_arrival"]
        rows.append(
            f"| energy, {_tariff(report)} | {energy['planned']:.0f} PLN vs "
            f"{energy['charge_on_arrival']:.0f} PLN charging on arrival: **{_pct(energy['saving_vs_arrival'])} less** "
            f"(the tariff allows at most {_pct(best)} for this household) | {goal_text(saving, '≥ 30 %')} |"
        )
    if tge is not None:
        rows.append(
            "| energy, real TGE day-ahead prices (`--prices tge`) | "
            f"{_pct(tge['energy_cost']['saving_vs_arrival'])} less than charging on arrival | |"
        )
    return "\n".join(rows) + "\n"


def deploy_table(report: Mapping[str, Any]) -> str:
    """deploy/README.md's table under "Expected monthly costs", with the paragraph that says where it comes from."""
    gcp, billable, goals = report["gcp_cost_usd"], report["tesla_billable"], report["goals"]
    rows = [
        "| item | per month |",
        "|---|---|",
        f"| Google Cloud, list price (no free tier) | {money(gcp['list_price'])} — {items(report, 'list_price')} |",
        "| Google Cloud, after the free tier (project alone on its billing account) | "
        f"{money(gcp['after_free_tier'], 3)} — {items(report, 'after_free_tier', 3)} |",
        f"| … of which images, builds and alerting (assumed, not simulated) | {assumed_line(report)} |",
        f"| Tesla Fleet API (data {billable['data']}, commands {billable['commands']}, wakes {billable['wakes']}), "
        f"before Tesla's $10 monthly discount | {money(goals['tesla_fleet_api']['value'])} per car |",
    ]
    names = {"gcp_after_free_tier": "Google Cloud after the free tier", "gcp_list_price": "Google Cloud at list price"}
    missed = [
        f"{label} ({_target(goals[key])}): {goals[key].get('why', 'missed')}"
        for key, label in names.items()
        if not goals[key]["met"]
    ]
    notes = [
        "",
        f"Figures of a simulated commuter month ({_tariff(report)}, seed {report['seed']}), "
        f"measured by `python -m simulator --days {report['days']}` and rendered by `python -m simulator.cost_table`; "
        "Cloud Run time is modelled from in-process run time plus assumed latencies, and image storage, builds "
        "and alert conditions are assumptions (see `simulator/data/gcp_prices.yaml`). Your car's habits change "
        "the Tesla figure most.",
    ]
    if missed:
        notes.append("")
        notes.append("Goals missed: " + "; ".join(missed) + ".")
    alerting = with_alerting(report)
    if alerting:
        notes.append("")
        notes.append(alerting[0].upper() + alerting[1:] + ".")
    return "\n".join(rows + notes) + "\n"


def comparison_table(report: Mapping[str, Any]) -> str:
    """The month on every price set, side by side (the report's `comparison`), and the issue-15 goals it missed."""
    comparison, goals = report["comparison"], report["goals_issue_15"]
    rows = [
        "| prices | planned | on arrival | fixed 22:00 | cheapest possible | saving captured | planned vs cheapest "
        "| beats fixed | kWh outside a planned window | Fleet API per car |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in comparison["price_sets"]:
        over = row["planned_over_cheapest"]
        rows.append(
            f"| `{row['price_set']}` | {row['planned']:.2f} | {row['charge_on_arrival']:.2f} | "
            f"{row['fixed_window']:.2f} | {row['cheapest_possible']:.2f} | {_pct(row['saving_captured'], 1)} | "
            f"{signed_pct(over)} | {'yes' if row['beats_fixed_window'] else 'no'} | "
            f"{row['outside_window_kwh']:.2f} | {money(row['fleet_api_usd_per_car_month'])} |"
        )
    notes = [
        "",
        f"PLN for {comparison['days']} days of the {comparison['scenario']} household from {comparison['start'][:10]} "
        f"(seed {comparison['seed']}), each set at the price the planner optimised; saving captured = "
        "(on arrival − planned) / (on arrival − cheapest possible).",
    ]
    missed = goals["missed"]
    notes += [
        "",
        "Issue 15 goals: " + ("all met." if not missed else f"missed {len(missed)}: " + "; ".join(missed) + "."),
    ]
    return "\n".join(rows + notes) + "\n"


def update_block(text: str, block: str) -> str:
    """`text` with what stands between its COSTS markers replaced by `block`."""
    begin = BEGIN.search(text)
    end = text.find(END, begin.end() if begin else 0)
    if begin is None or end < 0:
        raise ValueError("no <!-- COSTS: BEGIN ... --> / <!-- COSTS: END --> pair in the file")
    return text[: begin.end()] + "\n" + block + "\n" + text[end:]


def _conditions(count: float) -> str:
    return f"{count:g} alert condition" + ("" if count == 1 else "s")


def _tariff(report: Mapping[str, Any]) -> str:
    source = str(report["prices"]["source"])
    return {"g12w": "G12w"}.get(source, source.upper())


def _target(goal: Mapping[str, Any]) -> str:
    return "≤ $" + str(goal["target"]).split()[-1]


def _pct(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f} %"


def main(argv: list[str] | None = None) -> int:
    """Render, print or update."""
    parser = argparse.ArgumentParser(prog="python -m simulator.cost_table", description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="the month's report (python -m simulator --report FILE)")
    parser.add_argument("--tge", type=Path, default=None, help="the same month on --prices tge (README only)")
    parser.add_argument("--format", choices=("readme", "deploy", "comparison"), default="readme")
    parser.add_argument("--update", type=Path, default=None, help="replace the COSTS block of this file")
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text(encoding="utf-8"))
    tge = json.loads(args.tge.read_text(encoding="utf-8")) if args.tge else None
    if args.format == "comparison":
        block = comparison_table(report)
    else:
        block = readme_table(report, tge) if args.format == "readme" else deploy_table(report)
    if args.update is None:
        print(block, end="")
        return 0
    try:
        args.update.write_text(update_block(args.update.read_text(encoding="utf-8"), block), encoding="utf-8")
    except ValueError as error:
        print(f"{args.update}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
