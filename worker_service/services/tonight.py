"""Tonight's plan for one car, as the status page and `GET /status` show it: windows, cost, prices, saving.

The plan is the one the car was given: an ACTIVE or SCHEDULED special-charging session's, else the
normal cycle's last sent plan (`cycle_state`). Nothing is planned anew and the car is not asked:
the price source gives the curve under it and what charging at once from the reading would cost.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.domain import session as S
from shared.domain.arrival_cost import cost_charging_from
from shared.domain.iso_time import aware_or_none
from shared.domain.prices import PriceInterval
from shared.errors import AppError
from shared.log import get_logger
from shared.ports import PriceSource
from worker_service.services.vehicle_readings import CYCLE_STATE

if TYPE_CHECKING:
    from worker_service.container import Services

log = get_logger("WORKER")
# Last night's plan still shows in the morning, so the owner can see what the car was told.
SHOW_PAST_PLAN_FOR = timedelta(hours=12)
LIVE_SESSIONS = (S.ACTIVE, S.SCHEDULED)


def _candidates(s: Services, vin: str, sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each plan the car holds or will hold, with where it came from, its departure and its precedence."""
    found: list[dict[str, Any]] = []
    for session in sessions:
        plan = session.get("plan")
        if session.get("vin") == vin and session.get("status") in LIVE_SESSIONS and isinstance(plan, dict):
            # A live special session comes first: the everyday cycle stands aside while one is ACTIVE.
            found.append(
                {
                    "plan": plan,
                    "source": "special",
                    "session_id": session.get("session_id"),
                    "departure": session.get("departure"),
                    "precedence": 0,
                }
            )
    plan = (s.store.get(CYCLE_STATE, vin) or {}).get("plan")
    if isinstance(plan, dict):
        deadline = aware_or_none(plan.get("deadline"))
        departure = deadline + timedelta(minutes=s.settings.departure_margin_minutes) if deadline else None
        found.append(
            {
                "plan": plan,
                "source": "cycle",
                "session_id": None,
                "departure": departure.isoformat() if departure else None,
                "precedence": 1,
            }
        )
    return found


def choose_plan(s: Services, vin: str, sessions: list[dict[str, Any]], now: datetime) -> dict[str, Any] | None:
    """The plan that governs tonight: the earliest not yet over (special first), else last night's."""
    candidates = _candidates(s, vin, sessions)

    def end_of(candidate: dict[str, Any]) -> datetime | None:
        plan = candidate["plan"]
        return aware_or_none(plan.get("charging_end")) or aware_or_none(plan.get("deadline"))

    upcoming = [c for c in candidates if (end_of(c) or now) > now]
    if upcoming:
        return min(upcoming, key=lambda c: (c["precedence"], aware_or_none(c["plan"].get("charging_start")) or now))
    recent = [c for c in candidates if (end := end_of(c)) is not None and now - end < SHOW_PAST_PLAN_FOR]
    return max(recent, key=lambda c: end_of(c) or now) if recent else None


def tonight_for(
    s: Services,
    vin: str,
    sessions: list[dict[str, Any]],
    reading: dict[str, Any] | None,
    now: datetime,
    prices: PriceSource | None,
) -> dict[str, Any] | None:
    """The `tonight` object of `GET /status` for one car, or None when it has no plan to show."""
    chosen = choose_plan(s, vin, sessions, now)
    if chosen is None:
        return None
    plan = chosen["plan"]
    tz = s.settings.timezone
    windows = [w for w in plan.get("windows") or [] if isinstance(w, dict)]
    start, end = aware_or_none(plan.get("charging_start")), aware_or_none(plan.get("charging_end"))
    departure = aware_or_none(chosen.get("departure"))
    arrival = _arrival(plan, reading)
    energy = float(plan.get("energy_kwh") or 0.0)
    tonight: dict[str, Any] = {
        "source": chosen["source"],
        "session_id": chosen["session_id"],
        "state": _state(start, end, now),
        "windows": [{"start": w.get("start"), "end": w.get("end")} for w in windows],
        "charging_start": plan.get("charging_start"),
        "charging_end": plan.get("charging_end"),
        "departure": departure.astimezone(tz).isoformat() if departure else None,
        "current_soc": plan.get("current_soc"),
        "target_soc": plan.get("target_soc"),
        "energy_kwh": energy,
        "estimated_cost": plan.get("estimated_cost"),
        "currency": plan.get("currency") or (prices.currency if prices else None),
        "feasible": plan.get("feasible"),
        "arrival_at": arrival.astimezone(tz).isoformat() if arrival else None,
        "cost_on_arrival": None,
        "saving": None,
        "prices": [],
    }
    moments = [t for t in (arrival, aware_or_none(plan.get("now")), start) if t is not None]
    span_end = departure or end
    if moments and span_end is not None and prices is not None:
        _add_prices(s, tonight, plan, prices, (min(moments), span_end), arrival)
    return tonight


def _add_prices(
    s: Services,
    tonight: dict[str, Any],
    plan: dict[str, Any],
    prices: PriceSource,
    span: tuple[datetime, datetime],
    arrival: datetime | None,
) -> None:
    """The price curve under the night, and what charging at once from the arrival would have cost."""
    tz, charger_kw = s.settings.timezone, s.settings.charger_power_kw
    energy = float(tonight["energy_kwh"])
    start, end = span
    fetch_end = max(end, (arrival or start) + timedelta(hours=energy / charger_kw))
    try:
        intervals = prices.prices(start, fetch_end) if fetch_end > start else []
    except AppError as error:
        # The page still shows the plan; only the curve and the comparison are missing.
        log.warning(f"prices for the status page unavailable: {error.code}")
        tonight["prices_error"] = error.message
        return
    tonight["prices"] = [_price_json(p, tz) for p in intervals if p.start < end and p.end > start]
    if arrival is None or energy <= 0:
        return
    on_arrival = cost_charging_from(intervals, arrival, energy, charger_kw)
    if on_arrival is None:
        return
    tonight["cost_on_arrival"] = round(on_arrival, 2)
    estimate = plan.get("estimated_cost")
    if isinstance(estimate, int | float):
        tonight["saving"] = round(on_arrival - float(estimate), 2)


def _arrival(plan: dict[str, Any], reading: dict[str, Any] | None) -> datetime | None:
    """When charging on arrival would have begun: the reading the plan was made from (else the plan's own time)."""
    planned_at, read_at = aware_or_none(plan.get("now")), aware_or_none((reading or {}).get("read_at"))
    start = aware_or_none(plan.get("charging_start"))
    # A reading taken after charging began describes a fuller battery than the plan's.
    if read_at is not None and (start is None or read_at <= start) and (planned_at is None or read_at <= planned_at):
        return read_at
    return planned_at


def _state(start: datetime | None, end: datetime | None, now: datetime) -> str:
    if start is None or end is None:
        return "nothing_to_charge"
    if now < start:
        return "planned"
    return "charging_window" if now < end else "done"


def _price_json(interval: PriceInterval, tz: Any) -> dict[str, Any]:
    return {
        "start": interval.start.astimezone(tz).isoformat(),
        "end": interval.end.astimezone(tz).isoformat(),
        "price_per_kwh": interval.price_per_kwh,
    }
