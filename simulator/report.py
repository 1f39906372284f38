"""The simulation report (JSON) and its summary table: counters, costs, energy, outcomes and the goals.

Keys the contract promises (section 9): days, scout_invocations, worker_invocations,
tesla_billable {data, commands, wakes}, tesla_cost_usd, gcp_cost_usd {list_price, after_free_tier},
energy_kwh, energy_cost {planned, charge_on_arrival}, special_sessions {completed, failed},
charge_limit_restored {count, of}. Everything else is extra. Fields that depend on the machine's
speed are listed in TIMING_FIELDS; the rest is the same for the same scenario and seed.
"""

from __future__ import annotations

import copy
import statistics
from collections import Counter
from collections.abc import Mapping
from typing import Any

from simulator import comparison, price_data
from simulator.costs import (
    FIXED_SERVICES,
    SERVICE_LABELS,
    GcpUsage,
    ServiceUsage,
    cloud_run_usage,
    gcp_costs,
    load_price_table,
    tesla_cost,
)
from simulator.energy import (
    EnergyFigures,
    PlugSession,
    PriceCurve,
    best_under_rules,
    clip,
    energy_figures,
    outside_windows,
    ready_by_deadline,
)
from simulator.metering import Invocation
from simulator.month import SimulationRun

SCHEMA = "tesla-offpeak/simulation-report/1"
TIMING_FIELDS: tuple[tuple[str, ...], ...] = (
    ("run_time",),
    ("timing",),
    ("gcp_cost_usd", "list_price"),
    ("gcp_cost_usd", "after_free_tier"),
    ("gcp_cost_usd", "breakdown", "cloud_run"),
    ("gcp_cost_usd", "simulated"),
    ("goals", "gcp_after_free_tier"),
    ("goals", "gcp_list_price"),
    ("goals", "month_runtime"),
    ("goals", "all_met"),
)
CLOUD_RUN_NOTE = (
    "run time = wall time of each call measured in-process on one full core, a stand-in for Cloud Run's "
    "billed time; billed_seconds adds the vCPU share, waits, modelled network latency and cold starts "
    "(simulator/data/gcp_prices.yaml)"
)


def build_report(
    run: SimulationRun, table: Mapping[str, Any] | None = None, *, alert_conditions: int | None = None
) -> dict[str, Any]:
    """The report of one simulation run; `alert_conditions` overrides the price table's count."""
    table = table or load_price_table()
    scale = float(table["month_days"]) / run.days
    counters = run.system.sim.counters()
    billable = {k: int(counters[k]) for k in ("data", "commands", "wakes")}
    tesla_usd = tesla_cost(billable, table)
    cars = len(run.system.settings.vins)
    services = cloud_run_usage(run.meter.invocations, table)
    gcp = gcp_costs(_gcp_usage(run, services), table, alert_conditions=alert_conditions)
    gcp_list = sum(c.list_price for c in gcp.values())
    gcp_after = sum(c.after_free_tier for c in gcp.values())
    figures = _figures(run)
    energy = _energy(figures)
    statuses = Counter(s.get("status") for s in run.sessions)
    limits = list(run.limits.values())
    worker_calls = run.meter.of("worker")
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "scenario": run.scenario.name,
        "seed": run.seed,
        "prices": {
            "source": run.scenario.prices,
            "description": price_data.describe(run.scenario.prices),
            "priced_as": run.price_model,
        },
        "start": run.start.isoformat(),
        "end": run.end.astimezone(run.scenario.timezone).isoformat(),
        "days": run.days,
        "scout_invocations": len(run.meter.of("scout")),
        "worker_invocations": len(worker_calls),
        "worker_invocations_by_path": dict(sorted(Counter(c.path for c in worker_calls).items())),
        "scheduler_job_runs": dict(sorted(Counter(f.name for f in run.system.fired if f.ok).items())),
        "tesla_billable": billable,
        "tesla_other_requests": {
            "state_calls_free": int(counters["state_calls"]),
            "token_refreshes_free": int(counters["token_refreshes"]),
            "unauthorized": int(counters["unauthorized"]),
            # Session handshakes of the signed-command protocol; billed, and counted in `commands`.
            "signing_handshakes": int(counters.get("handshakes", 0)),
        },
        "tesla_billable_by_caller": _by_caller(run),
        "tesla_cost_usd": round(tesla_usd, 4),
        "tesla_cost_usd_note": "for the simulated days, before Tesla's $10 monthly account discount",
        "firestore": {**run.store.totals(), "max_reads_in_a_day": _max_day(run, "reads")},
        "secret_manager": {
            "accesses": int(run.secrets.counts["accesses"]),
            "versions_added": int(run.secrets.counts["versions_added"]),
            "versions_destroyed": int(run.secrets.counts["versions_destroyed"]),
            "enabled_versions_max": run.secrets.enabled_max(),
            "enabled_versions_end": run.secrets.enabled_now(),
        },
        "cloud_scheduler": {
            "static_jobs": 3,
            "jobs_created": len(run.jobs.lives),
            "one_shot_jobs_created": sum(1 for life in run.jobs.lives if life.name.startswith("special-")),
            "jobs_alive_max": run.jobs.alive_max(),
            "jobs_alive_end": sum(1 for life in run.jobs.lives if life.deleted is None),
            "job_days": run.jobs.job_days(run.start, run.end),
        },
        "cloud_logging": {
            "lines": run.log_meter.lines if run.log_meter else None,
            "bytes": run.log_meter.bytes if run.log_meter else None,
        },
        "gcp_cost_usd": {
            "list_price": round(gcp_list, 4),
            "after_free_tier": round(gcp_after, 4),
            "basis": f"per {table['month_days']}-day month (the simulated days scaled), the project alone on its billing account",
            "breakdown": {name: cost.to_dict() for name, cost in gcp.items()},
            # Totals include both; split so a reader sees what the simulation measured and what is assumed.
            "simulated": _subtotal(gcp, simulated=True),
            "assumed": {
                **_subtotal(gcp, simulated=False),
                "services": list(FIXED_SERVICES),
                "note": "image storage, builds and alert conditions per month, from the assumptions in "
                "simulator/data/gcp_prices.yaml, not from the simulated requests",
            },
        },
        "energy_kwh": round(energy["planned_kwh"], 2),
        "energy_cost": {
            "currency": "PLN",
            "planned": round(energy["planned_cost"], 2),
            "charge_on_arrival": round(energy["arrival_cost"], 2),
            "fixed_offpeak_window": round(energy["fixed_cost"], 2),
            "cheapest_possible": round(energy["cheapest_cost"], 2),
            "saving_vs_arrival": _ratio_saving(energy["planned_cost"], energy["arrival_cost"]),
            "saving_vs_fixed_window": _ratio_saving(energy["planned_cost"], energy["fixed_cost"]),
            "best_possible_saving_vs_arrival": _ratio_saving(energy["cheapest_cost"], energy["arrival_cost"]),
        },
        "energy": {
            "plug_sessions": energy["sessions"],
            "charge_on_arrival_kwh": round(energy["arrival_kwh"], 2),
            "fixed_window_kwh": round(energy["fixed_kwh"], 2),
            "fixed_window_shortfall_kwh": round(energy["shortfall_kwh"], 2),
            "drawn_at_plug_in_kwh": round(energy["at_plug_in_kwh"], 2),
            "drawn_at_plug_in_cost": round(energy["at_plug_in_cost"], 2),
            "car_grid_kwh_total": round(sum(kwh for _, _, kwh in run.system.sim.charge_log(run.system.vin)), 2),
            "note": "the alternatives deliver the same energy in each plug-in session; the fixed window starts at "
            "22:00 (Tesla's own scheduled charging, no prices); cheapest_possible buys it in the session's cheapest "
            "minutes with perfect foresight; drawn_at_plug_in is what the car charged on being plugged in, before "
            "the scout's next tick had the worker send a schedule",
        },
        "departures": _departures(run),
        "special_sessions": {
            "completed": statuses.get("COMPLETED", 0),
            "failed": statuses.get("FAILED", 0),
            "by_status": dict(sorted((str(k), v) for k, v in statuses.items())),
            "needs": [_need(n) for n in run.needs],
            "needs_met": sum(1 for n in run.needs if n.met),
            "needs_due": sum(1 for n in run.needs if n.met is not None),
        },
        "charge_limit_restored": {
            "count": sum(1 for limit in limits if limit.restored),
            "of": sum(1 for limit in limits if limit.restored is not None),
            "still_open_at_end": sum(1 for limit in limits if limit.restored is None),
            "sessions": [
                {
                    "session_id": limit.session_id,
                    "status": limit.status,
                    "original_charge_limit": limit.original_charge_limit,
                    "limit_after_close": limit.limit_after_close,
                    "restored": limit.restored,
                }
                for limit in limits
            ],
        },
        "run_time": {
            "note": CLOUD_RUN_NOTE,
            "scout": _run_time(run.meter.of("scout"), services["scout"]),
            "worker": _run_time(worker_calls, services["worker"]),
        },
        "timing": {"wall_seconds": round(run.wall_seconds, 2), "steps": run.steps},
        "assumptions": _assumptions(table),
    }
    report["goals"] = _goals(report, table, scale, cars, run)
    report["issue_15"] = _issue_15(run, figures, table, scale / max(1, cars))
    report["comparison"] = comparison.section([report])
    report["goals_issue_15"] = comparison.judge([report], table["goals_issue_15"])
    if run.soak is not None:
        report["soak"] = run.soak  # extra key: counts above include the drain past the period (simulator/soak.py)
    return report


def _subtotal(gcp: Mapping[str, Any], *, simulated: bool) -> dict[str, float]:
    picked = [cost for name, cost in gcp.items() if (name in FIXED_SERVICES) != simulated]
    return {
        "list_price": round(sum(c.list_price for c in picked), 4),
        "after_free_tier": round(sum(c.after_free_tier for c in picked), 4),
    }


def _gcp_usage(run: SimulationRun, services: dict[str, ServiceUsage]) -> GcpUsage:
    seconds = (run.end - run.start).total_seconds()
    return GcpUsage(
        days=run.days,
        cloud_run=services,
        scheduler_job_days=run.jobs.job_days(run.start, run.end),
        secret_accesses=int(run.secrets.counts["accesses"]),
        secret_average_enabled_versions=run.secrets.enabled_version_seconds(run.start, run.end) / seconds,
        firestore_daily={day: dict(counts) for day, counts in run.store.daily.items()},
        log_bytes=run.log_meter.bytes if run.log_meter else 0,
    )


def _figures(run: SimulationRun) -> EnergyFigures:
    return energy_figures(
        run.system.sim.charge_log(run.system.vin),
        run.plug_sessions,
        PriceCurve(run.prices),
        run.scenario.car.charger_power_kw,
        run.scenario.timezone,
    )


def _departures(run: SimulationRun) -> dict[str, Any]:
    """The battery the car left home with, split by whether READY_BY held that morning (READY_BY_DAYS)."""
    settings, zone = run.system.settings, run.scenario.timezone
    kinds: dict[str, list[float]] = {"ready_by_days": [], "other_days": []}
    for at, place, soc in run.departures:
        if place != "home":  # a departure from home (towards work or a trip)
            held = settings.ready_by_days.includes(at.astimezone(zone).date())
            kinds["ready_by_days" if held else "other_days"].append(soc)
    return {
        "ready_by_days_setting": settings.ready_by_days.describe(),
        **{
            kind: {"count": len(socs), "lowest_battery": round(min(socs), 1) if socs else None}
            for kind, socs in kinds.items()
        },
        "note": "battery % when the car drove off from home; READY_BY holds on ready_by_days mornings only, so on "
        "other days the car may leave before the plan of the day before ran (it then charges the next night)",
    }


def _issue_15(run: SimulationRun, figures: EnergyFigures, table: Mapping[str, Any], scale: float) -> dict[str, Any]:
    """Issue 15's figures of this run (simulator/comparison.py): costs, ratios, charging outside windows, causes."""
    settings, curve, power = run.system.settings, PriceCurve(run.prices), run.scenario.car.charger_power_kw
    unscheduled = run.system.sim.unscheduled_charging(run.system.vin)
    arrived = run.first_home_arrival
    before = [
        PlugSession(s.start, min(s.end, arrived or s.end))
        for s in run.home_stays
        if arrived is None or s.start < arrived
    ]
    deadlines = [
        ready_by_deadline(s.start, s.end, settings.ready_by, run.scenario.timezone, settings.ready_by_days)
        for s in figures.per_session
    ]

    def best(windows: int | None) -> list[float]:
        return [
            best_under_rules(PlugSession(s.start, s.end), s.kwh, power, curve, deadline, windows)
            for s, deadline in zip(figures.per_session, deadlines, strict=True)
        ]

    measured = comparison.measures(
        run.scenario.prices,
        figures,
        outside_windows(unscheduled, run.home_stays, arrived),
        curve,
        before_first_arrival_kwh=sum(kwh for stay in before for _, _, kwh in clip(unscheduled, stay.start, stay.end)),
        first_home_arrival=arrived,
        best_under_rules=best(settings.max_windows),
        best_by_ready_by=best(None),
        ready_by=settings.ready_by,
        max_windows=settings.max_windows,
        timezone=run.scenario.timezone,
    )
    measured["fleet_api_by_caller_usd"] = comparison.fleet_by_caller(_by_caller(run), table["tesla_fleet_api"], scale)
    return measured


def _energy(figures: EnergyFigures) -> dict[str, float]:
    return {
        "planned_kwh": figures.planned_kwh,
        "planned_cost": figures.planned_cost,
        "arrival_kwh": figures.arrival_kwh,
        "arrival_cost": figures.arrival_cost,
        "fixed_kwh": figures.fixed_window_kwh,
        "fixed_cost": figures.fixed_window_cost,
        "shortfall_kwh": figures.fixed_window_shortfall_kwh,
        "sessions": figures.sessions,
        "cheapest_cost": figures.cheapest_possible_cost,
        "at_plug_in_kwh": figures.at_plug_in_kwh,
        "at_plug_in_cost": figures.at_plug_in_cost,
    }


def _by_caller(run: SimulationRun) -> dict[str, dict[str, int]]:
    """Billable Fleet API calls per caller (the scout, each worker endpoint) and endpoint."""
    table: dict[str, dict[str, int]] = {}
    for (caller, endpoint), count in sorted(run.meter.tesla_by_caller.items()):
        table.setdefault(caller, {})[endpoint] = count
    return table


def _ratio_saving(cost: float, alternative: float) -> float | None:
    return round(1 - cost / alternative, 4) if alternative > 0 else None


def _max_day(run: SimulationRun, kind: str) -> int:
    return max((counts.get(kind, 0) for counts in run.store.daily.values()), default=0)


def _need(need: Any) -> dict[str, Any]:
    return {
        "need_id": need.need_id,
        "departure": need.departure.isoformat(),
        "target_soc": need.target_soc,
        "soc_at_departure": need.soc_at_departure,
        "met": need.met,
        "session_id": need.session_id,
        "session_status": need.session_status,
        "explanation": need.explanation or None,
    }


def _run_time(calls: list[Invocation], usage: ServiceUsage) -> dict[str, Any]:
    walls = sorted(c.wall_s for c in calls)
    return {
        "invocations": len(calls),
        "wall_ms_mean": round(statistics.fmean(walls) * 1000, 2) if walls else None,
        "wall_ms_p95": round(walls[int(0.95 * (len(walls) - 1))] * 1000, 2) if walls else None,
        "wall_ms_max": round(walls[-1] * 1000, 2) if walls else None,
        "wall_seconds_total": round(sum(walls), 3),
        "cold_starts": usage.cold_starts,
        "waiting_seconds": round(usage.waiting_seconds, 1),
        "billed_seconds": round(usage.billed_seconds, 1),
    }


def _assumptions(table: Mapping[str, Any]) -> list[str]:
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key == "assumption":
                    found.append(f"{path}: {' '.join(str(value).split())}")
                elif key == "unconfirmed":
                    found.append(f"{path} (unconfirmed): {' '.join(str(value).split())}")
                else:
                    walk(value, f"{path}.{key}" if path else str(key))

    walk(table, "")
    return found


def _goals(
    report: dict[str, Any], table: Mapping[str, Any], scale: float, cars: int, run: SimulationRun
) -> dict[str, Any]:
    goals = table["goals"]
    tesla_month = report["tesla_cost_usd"] * scale / max(1, cars)
    saving = report["energy_cost"]["saving_vs_arrival"]
    runtime_month = run.wall_seconds * scale
    result: dict[str, Any] = {
        "tesla_fleet_api": _goal(tesla_month, goals["tesla_usd_per_car_month"], "<=", "USD per car per month"),
        "gcp_after_free_tier": gcp_goal(
            report["gcp_cost_usd"], "after_free_tier", goals["gcp_after_free_tier_usd_month"]
        ),
        "gcp_list_price": gcp_goal(report["gcp_cost_usd"], "list_price", goals["gcp_list_price_usd_month"]),
        "energy_saving_vs_arrival": {
            **_goal(saving if saving is not None else 0.0, goals["energy_saving_vs_arrival_min"], ">=", "fraction"),
            "judged_on": "g12w",
            "applies": run.scenario.prices == "g12w",
        },
        "month_runtime": _goal(runtime_month, goals["month_wall_seconds_max"], "<", "seconds per 30 simulated days"),
    }
    judged = [g for g in result.values() if g.get("applies", True)]
    result["all_met"] = all(g["met"] for g in judged)
    return result


def gcp_goal(gcp: Mapping[str, Any], field: str, target: float) -> dict[str, Any]:
    """A GCP goal; when missed, `why` names the items that make up the total, assumed ones marked."""
    goal = _goal(gcp[field], target, "<=", "USD per month")
    if goal["met"]:
        return goal
    items = sorted(((c[field], name) for name, c in gcp["breakdown"].items() if c[field] > 0), reverse=True)
    parts = [
        f"{SERVICE_LABELS.get(name, name)} ${cost:.3f}"
        + (" (assumed, not simulated)" if name in FIXED_SERVICES else "")
        for cost, name in items
    ]
    goal["why"] = f"${gcp[field]:.3f} is over ${target:g} by ${gcp[field] - target:.3f}: " + ", ".join(parts)
    return goal


def _goal(value: float, target: float, op: str, unit: str) -> dict[str, Any]:
    met = value <= target if op == "<=" else value >= target if op == ">=" else value < target
    return {"value": round(value, 4), "target": f"{op} {target:g}", "unit": unit, "met": bool(met)}


def without_timing(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report minus the fields that depend on the machine's speed (for comparing runs)."""
    stripped = copy.deepcopy(dict(report))
    for path in TIMING_FIELDS:
        node: Any = stripped
        for key in path[:-1]:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return stripped


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """The month in a small table a person can read."""
    goals = report["goals"]
    energy = report["energy_cost"]
    gcp = report["gcp_cost_usd"]
    billable = report["tesla_billable"]

    def mark(goal: Mapping[str, Any]) -> str:
        if not goal.get("applies", True):
            return "n/a"
        return "met" if goal["met"] else "MISSED" + (f" — {goal['why']}" if goal.get("why") else "")

    simulated = {k: v for k, v in gcp["breakdown"].items() if v.get("basis") != "assumed"}
    assumed = {k: v for k, v in gcp["breakdown"].items() if v.get("basis") == "assumed"}

    rows = [
        ("days simulated", f"{report['days']}  ({report['prices']['description']})", ""),
        ("scout invocations", f"{report['scout_invocations']}", ""),
        (
            "worker invocations",
            f"{report['worker_invocations']}  ("
            + ", ".join(f"{p} {n}" for p, n in report["worker_invocations_by_path"].items())
            + ")",
            "",
        ),
        (
            "Fleet API billable",
            f"data {billable['data']}, commands {billable['commands']}"
            f" (of which {report['tesla_other_requests'].get('signing_handshakes', 0)} signing handshakes),"
            f" wakes {billable['wakes']} = ${report['tesla_cost_usd']:.2f}",
            f"goal ≤ $1/car/month: {goals['tesla_fleet_api']['value']:.2f}  {mark(goals['tesla_fleet_api'])}",
        ),
        (
            "  … by caller",
            "; ".join(
                f"{caller}: " + ", ".join(f"{endpoint} {n}" for endpoint, n in calls.items())
                for caller, calls in report["tesla_billable_by_caller"].items()
            ),
            "",
        ),
        (
            "GCP list price",
            f"${gcp['list_price']:.3f}/month  ({_items(simulated, assumed, 'list_price')})",
            f"goal ≤ ${goals['gcp_list_price']['target'].split()[-1]}: {mark(goals['gcp_list_price'])}",
        ),
        (
            "GCP after free tier",
            f"${gcp['after_free_tier']:.3f}/month  ({_items(simulated, assumed, 'after_free_tier')})",
            f"goal ≤ ${goals['gcp_after_free_tier']['target'].split()[-1]}: {mark(goals['gcp_after_free_tier'])}",
        ),
        (
            "  … images, builds, alerts",
            "; ".join(
                f"{SERVICE_LABELS.get(k, k)} {_usage_text(v)}: list ${v['list_price']:.3f}, "
                f"after free tier ${v['after_free_tier']:.3f}"
                for k, v in assumed.items()
            ),
            "",
        ),
        (
            "Firestore",
            f"{report['firestore']['reads']} reads, {report['firestore']['writes']} writes, "
            f"{report['firestore']['deletes']} deletes",
            "",
        ),
        (
            "Secret Manager",
            f"{report['secret_manager']['accesses']} accesses, at most {report['secret_manager']['enabled_versions_max']} "
            "enabled versions",
            "",
        ),
        (
            "Cloud Scheduler",
            f"{report['cloud_scheduler']['job_days']} job-days ({report['cloud_scheduler']['one_shot_jobs_created']} "
            f"one-shot jobs, {report['cloud_scheduler']['jobs_alive_end']} alive at the end)",
            "",
        ),
        (
            "energy delivered",
            f"{report['energy_kwh']:.1f} kWh in {report['energy']['plug_sessions']} plug-in sessions",
            "",
        ),
        (
            "energy cost (PLN)",
            f"planned {energy['planned']:.2f} · on arrival {energy['charge_on_arrival']:.2f} · "
            f"fixed 22:00 window {energy['fixed_offpeak_window']:.2f} · cheapest possible "
            f"{energy['cheapest_possible']:.2f}",
            f"saving vs arrival {_pct(energy['saving_vs_arrival'])} (at best {_pct(energy['best_possible_saving_vs_arrival'])})"
            + (
                f" (goal ≥ 30 % on G12w: {mark(goals['energy_saving_vs_arrival'])})"
                if goals["energy_saving_vs_arrival"]["applies"]
                else ""
            ),
        ),
        (
            "special needs",
            f"{report['special_sessions']['needs_met']} of {report['special_sessions']['needs_due']} met; sessions "
            f"{report['special_sessions']['completed']} completed, {report['special_sessions']['failed']} failed",
            "",
        ),
        (
            "charge limit restored",
            f"{report['charge_limit_restored']['count']} of {report['charge_limit_restored']['of']}",
            "",
        ),
        (
            "simulation run time",
            f"{report['timing']['wall_seconds']:.1f} s for {report['days']} days"
            + (
                f" ({report['timing']['simulations_at_once']} simulations ran at once: slower than alone)"
                if report["timing"].get("simulations_at_once", 1) > 1
                else ""
            ),
            f"goal < 60 s/month: {goals['month_runtime']['value']:.1f} s  {mark(goals['month_runtime'])}",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    lines = []
    for name, value, goal in rows:
        lines.append(f"  {name:<{width}}  {value}")
        if goal:
            lines.append(f"  {'':<{width}}    → {goal}")
    return lines


def _items(simulated: Mapping[str, Any], assumed: Mapping[str, Any], field: str) -> str:
    text = ", ".join(f"{k} {v[field]:.3f}" for k, v in simulated.items())
    if assumed:
        text += "; assumed: " + ", ".join(f"{k} {v[field]:.3f}" for k, v in assumed.items())
    return text


def _usage_text(cost: Mapping[str, Any]) -> str:
    usage = cost.get("usage_per_month", {})
    if "stored_gib" in usage:
        return f"({usage['stored_gib']:.2f} GiB of images)"
    if "build_minutes" in usage:
        return f"({usage['build_minutes']:g} build-minutes)"
    if "alert_conditions" in usage:
        count = usage["alert_conditions"]
        return f"({count:g} alert condition{'' if count == 1 else 's'})"
    return ""


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"
