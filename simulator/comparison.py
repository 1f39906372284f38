"""Issue 15's measures: the plan against charging on arrival, a fixed window and the cheapest possible, per price set.

`measures` turns one run's energy figures into the issue's figures (the report's `issue_15`);
`row` picks one price set's line of the side-by-side comparison from its report; `judge` holds the
rows against the issue's goals (simulator/data/gcp_prices.yaml, `goals_issue_15`) and says, for a
missed goal, by how much and what in the run caused it. Pure: reports in, dicts and lines out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time, tzinfo
from typing import Any

from simulator.energy import AT_PLUG_IN, EnergyFigures, PlugSession, PriceCurve, Segment, clip, segments_cost
from simulator.price_data import price_set

CATEGORY = {"vehicle_data": "data", "fleet_status": "data", "wake_up": "wakes"}  # anything else is a command
DAY_AHEAD = ("tge", "rce")


def captured(planned: float, arrival: float, cheapest: float) -> float | None:
    """The share of the possible saving the plan captured, (arrival − planned) / (arrival − cheapest); None if none."""
    possible = arrival - cheapest
    return (arrival - planned) / possible if possible > 1e-9 else None


def over_cheapest(planned: float, cheapest: float) -> float | None:
    """planned / cheapest − 1; 0 when nothing was charged, None when only free energy could have been."""
    if cheapest > 1e-9:
        return planned / cheapest - 1
    return 0.0 if planned <= 1e-9 else None


def measures(
    name: str,
    figures: EnergyFigures,
    outside: Sequence[Segment],
    prices: PriceCurve,
    *,
    before_first_arrival_kwh: float,
    first_home_arrival: datetime | None,
    best_under_rules: Sequence[float],
    best_by_ready_by: Sequence[float],
    ready_by: time,
    max_windows: int,
    timezone: tzinfo,
) -> dict[str, Any]:
    """One run's issue-15 figures: the four costs, the ratios, the charging outside windows, and what explains a gap.

    `best_under_rules` and `best_by_ready_by` are per plug-in session, in the order of `figures.per_session`.
    """
    planned, arrival = figures.planned_cost, figures.arrival_cost
    fixed, cheapest = figures.fixed_window_cost, figures.cheapest_possible_cost
    plug_ins = [PlugSession(s.start, s.end) for s in figures.per_session]
    at_plug_in = [seg for seg in outside if any(began_at_plug_in(seg[0], p) for p in plug_ins)]
    touched = [s for s in figures.per_session if any(a < s.end and b > s.start for a, b, _ in outside)]
    excess_touched = sum(s.planned_cost - s.cheapest_cost for s in touched)
    best, best_any = sum(best_under_rules), sum(best_by_ready_by)
    sessions = [
        {
            "start": s.start.astimezone(timezone).isoformat(),
            "end": s.end.astimezone(timezone).isoformat(),
            "kwh": round(s.kwh, 3),
            "planned": round(s.planned_cost, 4),
            "cheapest_possible": round(s.cheapest_cost, 4),
            "best_under_rules": round(rules, 4),
            "best_by_ready_by_any_windows": round(anyhow, 4),
            "outside_window_kwh": round(sum((kwh for _, _, kwh in clip(outside, s.start, s.end)), 0.0), 3),
        }
        for s, rules, anyhow in zip(figures.per_session, best_under_rules, best_by_ready_by, strict=True)
    ]
    return {
        "price_set": name,
        "planned": round(planned, 4),
        "charge_on_arrival": round(arrival, 4),
        "fixed_window": round(fixed, 4),
        "cheapest_possible": round(cheapest, 4),
        "kwh": round(figures.planned_kwh, 4),
        "saving_captured": _round(captured(planned, arrival, cheapest)),
        "planned_over_cheapest": _round(over_cheapest(planned, cheapest)),
        "beats_fixed_window": planned < fixed,
        "outside_window": {
            "kwh": round(sum((kwh for _, _, kwh in outside), 0.0), 4),
            "cost": round(segments_cost(outside, prices), 4),
            "at_plug_in_kwh": round(sum((kwh for _, _, kwh in at_plug_in), 0.0), 4),
            "plug_ins_with_it": len({seg[0] for seg in at_plug_in}),
            "plug_ins": sum(1 for p in plug_ins if first_home_arrival is not None and p.start >= first_home_arrival),
            "sessions": len(touched),
            "before_first_arrival_kwh": round(float(before_first_arrival_kwh), 4),
            "first_home_arrival": first_home_arrival.isoformat() if first_home_arrival else None,
            "segments": [
                {
                    "start": a.astimezone(timezone).isoformat(),
                    "end": b.astimezone(timezone).isoformat(),
                    "kwh": round(kwh, 3),
                    "at_plug_in": (a, b, kwh) in at_plug_in,
                }
                for a, b, kwh in outside
            ],
            "note": "grid kWh the car charged at home outside every charge-schedule window (TeslaSim."
            "unscheduled_charging), after its first arrival home; at_plug_in: it began within a minute of "
            "plugging in, before a schedule of ours was on the car",
        },
        "excess_over_cheapest": {
            "total": round(planned - cheapest, 4),
            "in_sessions_with_outside_window": round(excess_touched, 4),
            "in_other_sessions": round(planned - cheapest - excess_touched, 4),
        },
        "best_under_rules": {
            "cost": round(best, 4),
            "cost_any_windows": round(best_any, 4),
            "ready_by": ready_by.strftime("%H:%M"),
            "max_windows": max_windows,
            "saving_captured": _round(captured(best, arrival, cheapest)),
            "note": "the cheapest a planner with perfect knowledge of the night's prices could do while held to the "
            "worker's rules: the energy in by READY_BY after plugging in (on the eve of a day READY_BY_DAYS leaves "
            "out, within the next 24 hours), in at most MAX_WINDOWS windows "
            "(cost_any_windows: in any number); the cheapest possible may use any minute until the car really left",
        },
        "sessions": sessions,
    }


def began_at_plug_in(start: datetime, plug: PlugSession) -> bool:
    """True when charging that began at `start` began by itself on plugging in (within AT_PLUG_IN)."""
    return plug.start <= start < plug.end and start - plug.start < AT_PLUG_IN


def fleet_by_caller(
    by_caller: Mapping[str, Mapping[str, int]], prices: Mapping[str, float], scale: float
) -> dict[str, float]:
    """Fleet API dollars per car-month by `caller endpoint`, dearest first (what to cut when the goal is missed)."""
    costs = {
        f"{caller} {endpoint}": count * prices[CATEGORY.get(endpoint, "commands")] * scale
        for caller, endpoints in by_caller.items()
        for endpoint, count in endpoints.items()
    }
    return {k: round(v, 4) for k, v in sorted(costs.items(), key=lambda item: -item[1])}


def row(report: Mapping[str, Any]) -> dict[str, Any]:
    """One price set's line of the side-by-side table, from its month report."""
    figures = report["issue_15"]
    specials, limits = report["special_sessions"], report["charge_limit_restored"]
    return {
        **{k: v for k, v in figures.items() if not isinstance(v, dict | list)},
        "outside_window_kwh": figures["outside_window"]["kwh"],
        "fleet_api_usd_per_car_month": report["goals"]["tesla_fleet_api"]["value"],
        "needs_met": specials["needs_met"],
        "needs_due": specials["needs_due"],
        "limits_restored": limits["count"],
        "limits_of": limits["of"],
        "limits_open_at_end": limits.get("still_open_at_end", 0),
    }


def section(reports: Sequence[Mapping[str, Any]], *, processes: int = 1) -> dict[str, Any]:
    """The report's `comparison`: the same month on each price set, one row each."""
    first = reports[0]
    return {
        "scenario": first["scenario"],
        "seed": first["seed"],
        "days": first["days"],
        "start": first["start"],
        "end": first["end"],
        "today": "every price set runs the same household from the scenario's start (local midnight), a date all of "
        "the shipped series cover (TGE 2026-01-01..03-08, RCE 2026-01-01..03-31)",
        "currency": "PLN",
        "processes": processes,
        "price_sets": [row(report) for report in reports],
        "columns": {
            "planned": "PLN the car's charging at home cost, at the price the planner optimised",
            "charge_on_arrival": "PLN, the same energy charged at full power from plug-in",
            "fixed_window": "PLN, the same energy from 22:00 (Tesla's own scheduled charging)",
            "cheapest_possible": "PLN, the same energy in each session's cheapest minutes (perfect foresight)",
            "saving_captured": "(arrival - planned) / (arrival - cheapest)",
            "planned_over_cheapest": "planned / cheapest - 1",
            "outside_window_kwh": "kWh at home outside every planned window, after the first arrival",
            "fleet_api_usd_per_car_month": "Tesla Fleet API, USD per car per 30-day month",
        },
    }


def judge(reports: Sequence[Mapping[str, Any]], targets: Mapping[str, Any]) -> dict[str, Any]:
    """The report's `goals_issue_15`: each goal on each price set it applies to, with target, value, met and why."""
    first = reports[0]
    by_set: dict[str, dict[str, Any]] = {}
    for report in reports:
        by_set[report["prices"]["source"]] = _goals_of(report, targets)
    missed = [f"{name}: {goal}" for name, goals in by_set.items() for goal, g in goals.items() if not g["met"]]
    as_specified = first["days"] == 30 and first["seed"] == 1 and first["scenario"] == "commuter"
    return {
        "source": targets.get("source", "issue 15"),
        "judged_on": f"{first['days']} days of '{first['scenario']}' from {first['start'][:10]}, seed {first['seed']}"
        + ("" if as_specified else " (the issue's goals are for the 30-day commuter month, seed 1)"),
        "price_sets": by_set,
        "missed": missed,
        "all_met": not missed,
    }


def _goals_of(report: Mapping[str, Any], targets: Mapping[str, Any]) -> dict[str, Any]:
    figures = report["issue_15"]
    energy = price_set(report["prices"]["source"]).energy
    outside = figures["outside_window"]
    goals: dict[str, Any] = {}
    limit = float(targets["outside_window_kwh_max"])
    goals["outside_window_kwh"] = _goal(outside["kwh"], f"<= {limit:g}", "kWh", outside["kwh"] <= limit + 5e-3)
    if not goals["outside_window_kwh"]["met"]:
        goals["outside_window_kwh"]["why"] = _why_outside(outside, limit)
    if energy == "g12w":
        most = float(targets["g12w_planned_over_cheapest_max"])
        over = figures["planned_over_cheapest"]
        goal = _goal(over, f"<= {most:g}", "fraction", over is not None and over <= most)
        if not goal["met"]:
            goal["why"] = (
                f"planned {figures['planned']:.2f} PLN is {_pct(over, 2)} above the cheapest possible "
                f"{figures['cheapest_possible']:.2f} PLN, {_points(over, most)} over the {_pct(most, 1)} allowed. "
                + _why_excess(figures)
            )
        goals["planned_within_cheapest"] = goal
    if energy in DAY_AHEAD:
        least = float(targets["saving_captured_min"])
        share = figures["saving_captured"]
        # With nothing to save (arrival already the cheapest), the plan meets it by costing no more.
        no_saving = share is None and figures["planned"] <= figures["cheapest_possible"] + 5e-3
        goal = _goal(share, f">= {least:g}", "fraction", no_saving or (share is not None and share >= least))
        if not goal["met"]:
            goal["why"] = (
                f"the plan captured {_pct(share, 1)} of the possible saving, {_points(least, share)} short of "
                f"{_pct(least, 0)} (planned {figures['planned']:.2f}, on arrival {figures['charge_on_arrival']:.2f}, "
                f"cheapest {figures['cheapest_possible']:.2f} PLN). " + _why_excess(figures)
            )
        goals["saving_captured"] = goal
        gap = figures["fixed_window"] - figures["planned"]
        # Where the fixed window already was the cheapest possible, a tie is the best there is.
        tie = figures["fixed_window"] - figures["cheapest_possible"] < 5e-3 and -gap < 5e-3
        goal = _goal(round(gap, 4), "> 0", "PLN below the fixed 22:00 window", figures["beats_fixed_window"] or tie)
        if not goal["met"]:
            goal["why"] = (
                f"planned {figures['planned']:.2f} PLN is {-gap:.2f} PLN above the fixed 22:00 window's "
                f"{figures['fixed_window']:.2f} PLN. " + _why_excess(figures)
            )
        goals["beats_fixed_window"] = goal
    goals["fleet_api"] = _fleet_goal(report, float(targets["tesla_usd_per_car_month"]))
    specials = report["special_sessions"]
    goal = _goal(specials["needs_met"], f"= {specials['needs_due']}", "needs met", None)
    goal["met"] = specials["needs_met"] == specials["needs_due"]
    if not goal["met"]:
        unmet = [f"{n['need_id']}: {n['explanation']}" for n in specials["needs"] if n["met"] is False]
        goal["why"] = f"{specials['needs_due'] - specials['needs_met']} need(s) not met — " + "; ".join(unmet)
    goals["needs_met"] = goal
    limits = report["charge_limit_restored"]
    goal = _goal(limits["count"], f"= {limits['of']}", "limits restored", limits["count"] == limits["of"])
    if not goal["met"]:
        broken = [
            f"{s['session_id']} ({s['status']}): {s['limit_after_close']} % after, {s['original_charge_limit']} % before"
            for s in limits["sessions"]
            if s["restored"] is False
        ]
        goal["why"] = f"{limits['of'] - limits['count']} limit(s) not restored — " + "; ".join(broken)
    goals["limits_restored"] = goal
    return goals


def _fleet_goal(report: Mapping[str, Any], most: float) -> dict[str, Any]:
    value = float(report["goals"]["tesla_fleet_api"]["value"])
    goal = _goal(value, f"<= {most:g}", "USD per car per month", value <= most + 5e-5)
    if not goal["met"]:
        billable = report["tesla_billable"]
        dearest = list(report["issue_15"].get("fleet_api_by_caller_usd", {}).items())[:4]
        goal["why"] = (
            f"${value:.4f} per car-month is ${value - most:.4f} over ${most:.2f} (data {billable['data']}, commands "
            f"{billable['commands']} of which {report['tesla_other_requests'].get('signing_handshakes', 0)} signing "
            f"handshakes, wakes {billable['wakes']}); dearest callers: "
            + ", ".join(f"{name} ${usd:.3f}" for name, usd in dearest)
        )
    return goal


def _why_outside(outside: Mapping[str, Any], limit: float) -> str:
    later = outside["kwh"] - outside["at_plug_in_kwh"]
    text = (
        f"{outside['kwh']:.2f} kWh charged at home outside a planned window, {outside['kwh'] - limit:.2f} kWh over "
        f"the target, costing {outside['cost']:.2f} PLN: {outside['at_plug_in_kwh']:.2f} kWh on plugging in before "
        f"a schedule reached the car ({outside['plug_ins_with_it']} of {outside['plug_ins']} plug-ins)"
    )
    if later > 5e-3:
        starts = [s["start"][5:16].replace("T", " ") for s in outside["segments"] if not s["at_plug_in"]]
        text += f", {later:.2f} kWh later in a stay at home, outside every window (no schedule for home on the car, or "
        f"charge_start; from {', '.join(starts[:4])}"
        text += ", …)" if len(starts) > 4 else ")"
    return text


def _why_excess(figures: Mapping[str, Any]) -> str:
    """What the run shows about the gap to the cheapest possible: outside-window charging, and the worker's rules."""
    excess, rules = figures["excess_over_cheapest"], figures["best_under_rules"]
    outside = figures["outside_window"]
    one, anyhow, cheapest = rules["cost"], rules["cost_any_windows"], figures["cheapest_possible"]
    first = (
        f"Of the {_money(excess['total'])} PLN above the cheapest possible, "
        f"{_money(excess['in_sessions_with_outside_window'])} PLN fell in the {outside['sessions']} plug-in session(s) "
        f"with charging outside a planned window ({outside['kwh']:.2f} kWh costing {outside['cost']:.2f} PLN) and "
        f"{_money(excess['in_other_sessions'])} PLN in the others. "
        if outside["sessions"]
        else f"{_money(excess['total'])} PLN above the cheapest possible, none of it charged outside a planned window. "
    )
    return (
        first + f"Split by cause: {_money(anyhow - cheapest)} PLN "
        f"because the cheapest possible may use hours after READY_BY {rules['ready_by']} (until the car really left), "
        f"{_money(one - anyhow)} PLN because MAX_WINDOWS={rules['max_windows']} allows "
        f"{'one window' if rules['max_windows'] == 1 else 'that many windows'}, and {_money(figures['planned'] - one)} "
        f"PLN is the plan's own (planned minus {_money(one)} PLN, the best a planner that knew the night's prices could "
        "do under those rules)." + _after_ready_by(figures)
    )


def _after_ready_by(figures: Mapping[str, Any]) -> str:
    """The plug-in sessions where the cheapest possible gains most from hours after READY_BY (long stays at home)."""
    gains = sorted(
        ((s["best_by_ready_by_any_windows"] - s["cheapest_possible"], s) for s in figures.get("sessions", [])),
        key=lambda item: -item[0],
    )
    named = [f"{_when(s['start'])} → {_when(s['end'])} {gain:.2f} PLN" for gain, s in gains[:3] if gain >= 0.005]
    return f" Most after READY_BY in: {'; '.join(named)}." if named else ""


def _when(text: str) -> str:
    return datetime.fromisoformat(text).strftime("%a %d %b %H:%M")


def _money(value: float) -> str:
    """Two decimals, without a minus sign on what rounds to zero."""
    return f"{0.0 if abs(value) < 0.005 else value:.2f}"


def _goal(value: Any, target: str, unit: str, met: bool | None) -> dict[str, Any]:
    return {"target": target, "value": value, "unit": unit, "met": bool(met)}


def signed_pct(value: float | None) -> str:
    """+0.82 %, with no sign on what rounds to zero; n/a for None."""
    if value is None:
        return "n/a"
    return "0.00 %" if abs(value) < 5e-5 else f"{value * 100:+.2f} %"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _pct(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f} %"


def _points(high: float | None, low: float | None) -> str:
    if high is None or low is None:
        return "n/a"
    return f"{(high - low) * 100:.2f} percentage points"


def lines(comparison: Mapping[str, Any], goals: Mapping[str, Any] | None = None) -> list[str]:
    """The side-by-side table a person reads, then each goal MET or MISSED (with why)."""
    header = (
        "price set",
        "planned",
        "arrival",
        "fixed",
        "cheapest",
        "captured",
        "vs cheapest",
        "beats fixed",
        "outside kWh",
        "Fleet $/car",
        "needs",
        "limits",
    )
    table = [header]
    for r in comparison["price_sets"]:
        table.append(
            (
                r["price_set"],
                f"{r['planned']:.2f}",
                f"{r['charge_on_arrival']:.2f}",
                f"{r['fixed_window']:.2f}",
                f"{r['cheapest_possible']:.2f}",
                _pct(r["saving_captured"], 1),
                signed_pct(r["planned_over_cheapest"]),
                "yes" if r["beats_fixed_window"] else "no",
                f"{r['outside_window_kwh']:.2f}",
                f"{r['fleet_api_usd_per_car_month']:.2f}",
                f"{r['needs_met']}/{r['needs_due']}",
                f"{r['limits_restored']}/{r['limits_of']}",
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    out = [
        f"  {comparison['days']} days of '{comparison['scenario']}' from {comparison['start'][:10]} (seed "
        f"{comparison['seed']}); costs in PLN at the price the planner optimised; captured = (arrival − planned) / "
        "(arrival − cheapest)",
    ]
    for index, line in enumerate(table):
        cells = [line[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)
        ]
        out.append("  " + "  ".join(cells))
        if index == 0:
            out.append("  " + "  ".join("-" * width for width in widths))
    if goals is not None:
        out += goal_lines(goals)
    return out


def goal_lines(goals: Mapping[str, Any]) -> list[str]:
    """Per price set: the goals met on one line, each missed one with by how much and why."""
    out = ["", f"  Issue 15 goals ({goals['judged_on']}):"]
    width = max(len(name) for name in goals["price_sets"])
    for name, by_goal in goals["price_sets"].items():
        met = [goal_name for goal_name, goal in by_goal.items() if goal["met"]]
        out.append(f"  {name:<{width}}  MET: {', '.join(met) or 'none'}")
        for goal_name, goal in by_goal.items():
            if not goal["met"]:
                value = goal["value"]
                shown = f"{value:.4g}" if isinstance(value, float) else str(value)
                out.append(
                    f"  {'':<{width}}  MISSED {goal_name} = {shown} (target {goal['target']}): {goal.get('why', '')}"
                )
    verdict = "all met" if goals["all_met"] else f"{len(goals['missed'])} missed"
    out.append(f"  → {verdict}")
    return out
