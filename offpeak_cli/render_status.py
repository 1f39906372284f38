"""GET /status as lines: the car, tonight's plan and its saving, needs, sessions, jobs, tokens, signing, failures.

The shape is `worker_service/services/owner_status.py:build_status`; every key may be missing or
null (an older or newer worker, a car the scout has not seen yet), and then the line says "?".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from offpeak_cli.render import as_dict, dicts, flag, moment, money, needs, number, percent, plan_summary, span

STATES = {"charging_window": "charging now", "done": "done", "nothing_to_charge": "nothing to charge"}
EVENTS_SHOWN = 5


def tonight(answer: dict[str, Any], now: datetime) -> list[str]:
    """Tonight's plan per car, with the saving against charging on arrival."""
    cars = dicts(answer.get("vehicles"))
    if not cars:
        return ["no vehicle reported by the worker"]
    lines = [
        f"{'tonight' if len(cars) == 1 else 'tonight (' + str(car.get('vin', '?')) + ')'}: "
        f"{_tonight(car.get('tonight'), now)}"
        for car in cars
    ]
    # A need becomes tonight's plan only at the daily check: say so, or `plan` looks like it ignored it.
    for need in dicts(answer.get("needs")):
        if need.get("status") == "PENDING":
            lines.append(
                f"waiting: {need.get('need_id', '?')} ({percent(need.get('target_soc'))} by "
                f"{moment(need.get('departure'), now)}) is planned at the daily check; `tesla-offpeak check` runs it now"
            )
    return lines


def status(answer: dict[str, Any], now: datetime) -> list[str]:
    """The whole picture, one fact per line, in the order an owner looks for them."""
    lines = [
        f"worker: {answer.get('status', '?')} (now {moment(answer.get('now'), now)}, {answer.get('timezone', '?')})"
    ]
    for car in dicts(answer.get("vehicles")):
        lines += _car(car, now)
    waiting = dicts(answer.get("needs"))
    lines += [f"need {line}" for line in needs({"needs": waiting}, now)] if waiting else ["needs: none waiting"]
    lines += _sessions(as_dict(answer.get("sessions")), now)
    lines += _jobs(answer.get("jobs"), now)
    lines.append(_tokens(as_dict(answer.get("tokens")), now))
    lines += [
        f"to do: {a.get('code', '?')} ({a.get('vin', '?')}): {a.get('remedy') or a.get('message') or ''}"
        for a in dicts(answer.get("owner_actions"))
    ]
    lines += _events(dicts(answer.get("events")), now)
    lines += [f"problem: {p}" for p in answer.get("problems") or [] if isinstance(p, str)]
    lines += _usage(as_dict(answer.get("usage")))
    return lines


def _car(car: dict[str, Any], now: datetime) -> list[str]:
    seen = car.get("last_seen")
    where = flag(car.get("at_home"), "at home", "away", "position unknown")
    if car.get("at_home") is False and number(car.get("distance_m")):
        where += f" ({car['distance_m'] / 1000:.1f} km from home)"
    parts = [
        f"last seen {moment(seen, now)}" + (f" ({car['vehicle_state']})" if car.get("vehicle_state") else "")
        if seen
        else "not seen by the scout yet",
        where,
        flag(car.get("plugged_in"), "plugged in", "not plugged in", "plug unknown"),
        f"charging {car.get('charging_state') or '?'}",
        f"battery {percent(car.get('battery_level'))}",
        f"limit {percent(car.get('charge_limit'))}",
    ]
    line = f"car {car.get('vin', '?')}: " + ", ".join(parts)
    if car.get("reading_at"):
        line += f" (read {moment(car['reading_at'], now)})"
    return [line, _signing(as_dict(car.get("signing")), now), f"  tonight: {_tonight(car.get('tonight'), now)}"]


def _signing(signing: dict[str, Any], now: datetime) -> str:
    mode = signing.get("mode") or "?"
    if all(signing.get(k) is None for k in ("required", "key_paired", "firmware_version")):
        return f"  signing: {mode}; not checked with the car yet"
    required = flag(signing.get("required"), "required", "not required", "unknown")
    paired = flag(signing.get("key_paired"), "paired", "NOT paired", "pairing unknown")
    firmware = signing.get("firmware_version") or "?"
    return f"  signing: {mode}, {required}; key {paired}; firmware {firmware} (checked {moment(signing.get('checked_at'), now)})"


def _tonight(plan: Any, now: datetime) -> str:
    if not isinstance(plan, dict):
        return "nothing planned"
    text = plan_summary(plan, now)
    arrival, saving, currency = plan.get("cost_on_arrival"), plan.get("saving"), plan.get("currency")
    if number(arrival):
        text += f"; charging on arrival {money(arrival, currency)}"
        if number(saving):
            text += f", saving {money(saving, currency)}" + (
                f" ({round(saving / arrival * 100) + 0} %)" if arrival > 0 else ""
            )
    if plan.get("source") == "special":
        text += f" [special charging to {percent(plan.get('target_soc'))} by {moment(plan.get('departure'), now)}]"
    elif plan.get("source") == "cycle":
        text += " [everyday charging]"
    if plan.get("state") in STATES:
        text += f" ({STATES[plan['state']]})"
    if plan.get("prices_error"):
        text += f"; prices unavailable: {plan['prices_error']}"
    return text


def _sessions(sessions: dict[str, Any], now: datetime) -> list[str]:
    lines = [f"session active: {_session(s, now)}" for s in dicts(sessions.get("active"))]
    upcoming = sessions.get("next")
    if isinstance(upcoming, dict):
        lines.append(f"session next: {_session(upcoming, now)}")
    return lines or ["sessions: none active or planned"]


def _session(s: dict[str, Any], now: datetime) -> str:
    return (
        f"{s.get('session_id', '?')} {s.get('status', '?')}, {percent(s.get('target_soc'))} by "
        f"{moment(s.get('departure'), now)}, charge {span(s.get('charging_start'), s.get('charging_end'), now)}"
    )


def _jobs(jobs: Any, now: datetime) -> list[str]:
    found = dicts(jobs)
    if not found:
        return ["jobs: none"]
    lines = ["jobs:"]
    for job in found:
        # `at` is the one-shot job's minute in the household's zone; the cron line is in the job's own zone.
        when = moment(job["at"], now) if job.get("at") else f"{job.get('schedule', '?')} ({job.get('time_zone', '?')})"
        lines.append(f"  {job.get('name', '?')}: {when} -> {job.get('path') or job.get('uri') or '?'}")
    return lines


def _tokens(tokens: dict[str, Any], now: datetime) -> str:
    text = f"Tesla tokens: {tokens.get('state', '?')}"
    if tokens.get("reason"):
        text += f" ({tokens['reason']})"
    if tokens.get("expires_at"):
        text += f", access token until {moment(tokens['expires_at'], now)}"
    if tokens.get("refreshed_at"):
        text += f", refreshed {moment(tokens['refreshed_at'], now)}"
    return text


def _events(events: list[dict[str, Any]], now: datetime) -> list[str]:
    if not events:
        return ["last failures: none"]
    lines = ["last failures:"]
    for event in events[:EVENTS_SHOWN]:  # the worker sends the newest first
        head = f"  {moment(event.get('at') or event.get('time'), now)} {event.get('severity') or '?'}"
        what = ": ".join(str(event[k]) for k in ("event", "message") if event.get(k)) or "?"
        lines.append(f"{head} {what}" + (f" — {event['remedy']}" if event.get("remedy") else ""))
    return lines


def _usage(usage: dict[str, Any]) -> list[str]:
    fleet = as_dict(usage.get("fleet_api"))
    if not fleet:
        return []
    counts = ", ".join(f"{fleet.get(k, '?')} {k}" for k in ("data", "commands", "wakes"))
    cost = f"${fleet['cost_usd']:.2f}" if number(fleet.get("cost_usd")) else "?"
    discount = (
        f" before Tesla's ${fleet['monthly_discount_usd']:g} discount"
        if number(fleet.get("monthly_discount_usd"))
        else ""
    )
    return [f"Fleet API {usage.get('month') or 'this month'}: {counts} ({cost}{discount})"]
