"""Planning: the one function the /plan-preview route, the normal cycle and special charging ask for a plan.

It fixes the deadline (departure minus DEPARTURE_MARGIN_MINUTES), asks the price source once for
[now, deadline), and hands everything to the pure planner with the energy model from the settings.
The everyday cycle's departure comes from READY_BY and READY_BY_DAYS (`plan_everyday`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain.iso_time import parse_aware
from shared.domain.planner import Plan, plan_cheapest_charging
from shared.domain.prices import PriceInterval
from shared.domain.ready_by import next_ready_by, planning_end
from shared.domain.targets import check_target_soc
from shared.errors import ValidationError
from shared.log import get_logger
from shared.ports import PriceSource
from shared.prices.owner_price_source import OwnerPriceSource
from shared.settings import Settings

log = get_logger("PLANNER")


@dataclass(frozen=True)
class PlanRequest:
    """A checked /plan-preview body; `now` is the body's `now` when given, else the clock's."""

    target_soc: int
    departure: datetime
    now: datetime
    current_soc: float | None = None


def parse_plan_request(payload: Any, now: datetime) -> PlanRequest:
    """Check a /plan-preview body; ValidationError with one clear sentence for the first bad field."""
    if not isinstance(payload, dict):
        raise ValidationError("The body must be a JSON object")
    effective_now = now
    if payload.get("now") is not None:
        effective_now = _aware_time(payload["now"], "now")
    target = check_target_soc(payload.get("target_soc"))
    if payload.get("departure") is None:
        raise ValidationError("departure is required: an ISO 8601 time with offset, e.g. 2026-11-23T07:00:00+01:00")
    departure = _aware_time(payload["departure"], "departure")
    if departure <= effective_now:
        raise ValidationError(f"departure must be in the future (after {effective_now.isoformat()})")
    current = payload.get("current_soc")
    if current is not None:
        if isinstance(current, bool) or not isinstance(current, int | float) or not math.isfinite(current):
            raise ValidationError("current_soc must be a number from 0 to 100")
        if not 0 <= current <= 100:
            raise ValidationError(f"current_soc must be between 0 and 100, got {current}")
    return PlanRequest(target_soc=target, departure=departure, now=effective_now, current_soc=current)


def plan_charging(
    settings: Settings,
    price_source: PriceSource,
    *,
    current_soc: float,
    target_soc: float,
    departure: datetime,
    now: datetime,
) -> Plan:
    """The cheapest plan reaching target_soc by departure minus the margin (feasible=False when it cannot)."""
    if departure.tzinfo is None or now.tzinfo is None:
        raise ValidationError("departure and now must carry a UTC offset")
    deadline = _deadline(settings, departure)
    prices = price_source.prices(now, deadline) if deadline > now else []
    plan = _plan(settings, prices, price_source.currency, current_soc, target_soc, now, deadline)
    _log_plan(plan, price_source)
    return plan


def plan_everyday(
    settings: Settings, price_source: PriceSource, *, current_soc: float, target_soc: float, now: datetime
) -> Plan:
    """The everyday cycle's plan: by the next READY_BY, or, on the eve of a day off, by this time tomorrow if cheaper.

    A day off is a morning READY_BY_DAYS leaves out. Its plan may use the next day's hours (a
    weekend's midday solar dip), but only when that costs less than being ready by READY_BY anyway:
    at equal cost the owner gets a car ready in the morning, as on any other day.
    """
    ready = next_ready_by(now, settings.ready_by, settings.timezone)
    end = planning_end(now, settings.ready_by, settings.ready_by_days, settings.timezone)
    deadline, longest = _deadline(settings, ready), _deadline(settings, end)
    horizon = max(deadline, longest)  # one price request serves both plans
    prices = price_source.prices(now, horizon) if horizon > now else []
    plan = _plan(settings, prices, price_source.currency, current_soc, target_soc, now, deadline)
    if end != ready:
        later = _plan(settings, prices, price_source.currency, current_soc, target_soc, now, longest)
        if _better(later, plan):
            plan = later
    _log_plan(plan, price_source, day_off=end != ready)
    return plan


def _better(later: Plan, plan: Plan) -> bool:
    """Feasible first, then more energy (when neither fits), then cheaper by at least a grosz (a cent)."""
    return (later.feasible, later.energy_kwh, -later.estimated_cost) > (
        plan.feasible,
        plan.energy_kwh,
        -plan.estimated_cost,
    )


def _deadline(settings: Settings, departure: datetime) -> datetime:
    return departure - timedelta(minutes=settings.departure_margin_minutes)


def _plan(
    settings: Settings,
    prices: list[PriceInterval],
    currency: str,
    current_soc: float,
    target_soc: float,
    now: datetime,
    deadline: datetime,
) -> Plan:
    try:
        return plan_cheapest_charging(
            current_soc=current_soc,
            target_soc=target_soc,
            battery_kwh=settings.battery_capacity_kwh,
            charger_kw=settings.charger_power_kw,
            efficiency=settings.charging_efficiency,
            now=now,
            deadline=deadline,
            prices=prices if deadline > now else [],
            currency=currency,
            timezone=settings.timezone,
            max_windows=settings.max_windows,
            send_lead_minutes=settings.send_lead_minutes,
        )
    except ValueError as error:
        raise ValidationError(f"Cannot plan: {error}") from None


def _log_plan(plan: Plan, price_source: PriceSource, *, day_off: bool = False) -> None:
    fields: dict[str, Any] = {
        "feasible": plan.feasible,
        "windows": len(plan.windows),
        "minutes": plan.minutes,
        "energy_kwh": plan.energy_kwh,
        "estimated_cost": plan.estimated_cost,
        "currency": plan.currency,
        "deadline": plan.deadline.isoformat(),
        "price": price_source.model.describe()
        if isinstance(price_source, OwnerPriceSource)
        else "as the source gives it",
    }
    if day_off:
        fields["eve_of_day_off"] = True  # READY_BY_DAYS leaves tomorrow morning out: the deadline may be later
    log.info("plan made", fields=fields)


def _aware_time(value: Any, field: str) -> datetime:
    try:
        return parse_aware(value)
    except ValueError as problem:
        raise ValidationError(f"{field} {problem}") from None
