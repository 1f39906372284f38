"""Planning: the one function the /plan-preview route, the normal cycle and special charging ask for a plan.

It fixes the deadline (departure minus DEPARTURE_MARGIN_MINUTES), asks the price source once for
[now, deadline), and hands everything to the pure planner with the energy model from the settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain.iso_time import parse_aware
from shared.domain.planner import Plan, plan_cheapest_charging
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
    deadline = departure - timedelta(minutes=settings.departure_margin_minutes)
    prices = price_source.prices(now, deadline) if deadline > now else []
    try:
        plan = plan_cheapest_charging(
            current_soc=current_soc,
            target_soc=target_soc,
            battery_kwh=settings.battery_capacity_kwh,
            charger_kw=settings.charger_power_kw,
            efficiency=settings.charging_efficiency,
            now=now,
            deadline=deadline,
            prices=prices,
            currency=price_source.currency,
            timezone=settings.timezone,
            max_windows=settings.max_windows,
            send_lead_minutes=settings.send_lead_minutes,
        )
    except ValueError as error:
        raise ValidationError(f"Cannot plan: {error}") from None
    log.info(
        "plan made",
        fields={
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
        },
    )
    return plan


def _aware_time(value: Any, field: str) -> datetime:
    try:
        return parse_aware(value)
    except ValueError as problem:
        raise ValidationError(f"{field} {problem}") from None
