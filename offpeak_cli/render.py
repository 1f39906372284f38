"""The worker's JSON answers as short lines for people; every key may be missing, nothing here raises on that."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeGuard

DASH = "–"


def moment(text: Any, now: datetime) -> str:
    """'Tue 05:30' within a week of `now`, else 'Tue 02 Dec 05:30' (with the year when it differs); in now's zone."""
    at = _time(text)
    if at is None:
        return "?"
    at = at.astimezone(now.tzinfo)
    if abs(at - now) < timedelta(days=6):
        return f"{at:%a %H:%M}"
    return f"{at:%a %d %b %Y %H:%M}" if at.year != now.year else f"{at:%a %d %b %H:%M}"


def span(start: Any, end: Any, now: datetime) -> str:
    """'01:10–05:30' for a window in the coming day, with the day named when it is further away."""
    first, last = _time(start), _time(end)
    if first is None or last is None:
        return "?"
    first, last = first.astimezone(now.tzinfo), last.astimezone(now.tzinfo)
    head = f"{first:%H:%M}" if timedelta(0) <= first - now < timedelta(hours=24) else moment(start, now)
    return f"{head}{DASH}{last:%H:%M}"


def money(value: Any, currency: Any) -> str:
    """'11.20 PLN'."""
    # + 0.0 turns the -0.0 of a rounded tiny negative saving into 0.00.
    return f"{round(value, 2) + 0.0:.2f} {currency or ''}".strip() if number(value) else "?"


def plan_summary(plan: dict[str, Any], now: datetime) -> str:
    """'charge 01:10–05:30, 22.4 kWh, est. 11.20 PLN' (or why there is nothing to charge)."""
    windows = dicts(plan.get("windows"))
    if not windows:
        if plan.get("feasible") is False:
            return "no charging window fits before the deadline"
        return f"nothing to charge (the car has {percent(plan.get('current_soc'))})"
    charge = " + ".join(span(w.get("start"), w.get("end"), now) for w in windows)
    text = f"charge {charge}, {kwh(plan.get('energy_kwh'))}, est. {money(plan.get('estimated_cost'), plan.get('currency'))}"
    if plan.get("feasible") is False:
        text = f"cannot reach {percent(plan.get('target_soc'))} in time; best: {text}"
    return text


def need_added(need: dict[str, Any], plan: dict[str, Any] | None, problem: str | None, now: datetime) -> str:
    """'need_3: 90 % by Tue 05:30; plan: charge 01:10–05:30, 22.4 kWh, est. 11.20 PLN'."""
    head = f"{need.get('need_id', '?')}: {percent(need.get('target_soc'))} by {moment(need.get('departure'), now)}"
    if plan is None:
        return f"{head}; plan: not available now ({problem})"
    return f"{head}; plan: {plan_summary(plan, now)}"


def needs(answer: dict[str, Any], now: datetime) -> list[str]:
    """One line per need, soonest departure first (the worker's order)."""
    found = dicts(answer.get("needs"))
    if not found:
        return ["no special-charging needs"]
    lines = []
    for need in found:
        line = f"{need.get('need_id', '?')}  {percent(need.get('target_soc'))} by {moment(need.get('departure'), now)}"
        line += f"  {need.get('status', '?')}"
        if need.get("session_id"):
            line += f"  session {need['session_id']}"
        lines.append(line)
    return lines


def cancelled(answer: dict[str, Any], now: datetime) -> str:
    """'need_3 cancelled (90 % by Tue 05:30)', or that it already was."""
    need = as_dict(answer.get("need"))
    what = f"{percent(need.get('target_soc'))} by {moment(need.get('departure'), now)}"
    if answer.get("message") == "already cancelled":
        return f"{need.get('need_id', '?')} was already cancelled ({what})"
    return f"{need.get('need_id', '?')} cancelled ({what})"


def daily_check(answer: dict[str, Any], now: datetime) -> list[str]:
    """The sessions the check created and what it swept."""
    sessions = dicts(answer.get("sessions"))
    lines = [f"daily check: {len(sessions)} session(s) created"]
    for s in sessions:
        head = (
            f"  {s.get('session_id', '?')} ({s.get('need_id', '?')}, {s.get('status', '?')}): "
            f"{percent(s.get('target_soc'))} by {moment(s.get('departure'), now)}; "
        )
        if not s.get("charging_start"):
            lines.append(head + "nothing to charge")
            continue
        lines.append(
            head + f"send {moment(s.get('send_schedule_at'), now)}, "
            f"charge {span(s.get('charging_start'), s.get('charging_end'), now)}, "
            f"est. {money(s.get('estimated_cost'), s.get('currency'))}"
        )
    swept = as_dict(answer.get("swept"))
    if swept:
        lines.append(
            f"swept: {swept.get('sessions_closed', 0)} overdue session(s) closed, "
            f"{swept.get('jobs_deleted', 0)} stale job(s) deleted"
        )
    return lines


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def dicts(value: Any) -> list[dict[str, Any]]:
    """The JSON objects in `value` when it is a list, else none."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def flag(value: Any, yes: str, no: str, unknown: str) -> str:
    """`yes` for true, `no` for false, `unknown` for null or missing."""
    return yes if value is True else no if value is False else unknown


def number(value: Any) -> TypeGuard[int | float]:
    """A JSON number (not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def percent(value: Any) -> str:
    """'90 %'."""
    return f"{value:g} %" if number(value) else "? %"


def kwh(value: Any) -> str:
    """'22.4 kWh'."""
    return f"{value:.1f} kWh" if number(value) else "? kWh"
