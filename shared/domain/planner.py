"""The OFF PEAK planner: from state of charge, energy model, deadline and prices to the cheapest plan.

Pure: the caller supplies `now`, the deadline (departure minus the margin) and the price intervals;
nothing here reads the clock or the network. Time is real elapsed time on a UTC minute grid, so the
23-hour and 25-hour nights of daylight saving are ordinary nights. The search itself is in
`cheapest_window` (one window) and `cheapest_windows` (up to MAX_WINDOWS), both exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from shared.domain.cheapest_windows import cheapest_windows
from shared.domain.minute_prices import MINUTE, PRICE_SCALE, minute_grid, to_segments
from shared.domain.prices import PriceInterval


@dataclass(frozen=True)
class ChargingWindow:
    """Charge from start to end (aware datetimes)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Plan:
    """A charging plan; `to_dict()` gives the contract's plan record (section 6)."""

    windows: tuple[ChargingWindow, ...]
    energy_kwh: float
    energy_needed_kwh: float
    estimated_cost: float
    currency: str
    feasible: bool
    current_soc: float
    target_soc: float
    now: datetime
    deadline: datetime
    send_lead_minutes: int
    timezone: tzinfo

    @property
    def charging_start(self) -> datetime | None:
        return self.windows[0].start if self.windows else None

    @property
    def charging_end(self) -> datetime | None:
        return self.windows[-1].end if self.windows else None

    @property
    def send_schedule_at(self) -> datetime | None:
        """When to send the schedule to the car: SEND_LEAD_MINUTES before charging starts."""
        start = self.charging_start
        return None if start is None else start - timedelta(minutes=self.send_lead_minutes)

    @property
    def minutes(self) -> int:
        return sum(round((w.end - w.start) / MINUTE) for w in self.windows)

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON types, datetimes ISO 8601 with the household's offset."""
        return {
            "windows": [{"start": self._iso(w.start), "end": self._iso(w.end)} for w in self.windows],
            "charging_start": self._iso(self.charging_start),
            "charging_end": self._iso(self.charging_end),
            "send_schedule_at": self._iso(self.send_schedule_at),
            "energy_kwh": self.energy_kwh,
            "estimated_cost": self.estimated_cost,
            "currency": self.currency,
            "feasible": self.feasible,
            "minutes": self.minutes,
            "energy_needed_kwh": self.energy_needed_kwh,
            "current_soc": self.current_soc,
            "target_soc": self.target_soc,
            "now": self._iso(self.now),
            "deadline": self._iso(self.deadline),
        }

    def _iso(self, moment: datetime | None) -> str | None:
        return None if moment is None else moment.astimezone(self.timezone).isoformat()


def energy_needed_kwh(current_soc: float, target_soc: float, battery_kwh: float, efficiency: float) -> float:
    """Energy drawn from the grid to go from current to target SoC: (target - current)/100 x capacity / efficiency."""
    return max(0.0, target_soc - current_soc) / 100.0 * battery_kwh / efficiency


def plan_cheapest_charging(
    *,
    current_soc: float,
    target_soc: float,
    battery_kwh: float,
    charger_kw: float,
    efficiency: float,
    now: datetime,
    deadline: datetime,
    prices: Sequence[PriceInterval],
    currency: str,
    timezone: tzinfo,
    max_windows: int = 1,
    send_lead_minutes: int = 120,
) -> Plan:
    """The cheapest plan charging the energy needed between now and the deadline (latest on ties).

    When the need does not fit before the deadline the plan charges as much as fits, as cheaply as
    possible, and says `feasible=False`. Time outside the price intervals is never used.
    """
    _check_inputs(current_soc, target_soc, battery_kwh, charger_kw, efficiency, max_windows)
    needed = energy_needed_kwh(current_soc, target_soc, battery_kwh, efficiency)
    # Whole minutes, rounded up: the car stops by itself at the limit, a short plan would miss it.
    minutes_needed = math.ceil(needed / charger_kw * 60 - 1e-9) if needed > 0 else 0
    origin, horizon = minute_grid(now, deadline)
    selection = cheapest_windows(to_segments(prices, origin, horizon), minutes_needed, max_windows)
    feasible = selection.minutes >= minutes_needed
    energy = needed if feasible else selection.minutes * charger_kw / 60
    cost = selection.cost / PRICE_SCALE / selection.minutes * energy if selection.minutes else 0.0
    return Plan(
        windows=tuple(
            ChargingWindow(origin + start * MINUTE, origin + end * MINUTE) for start, end in selection.windows
        ),
        energy_kwh=round(energy, 3),
        energy_needed_kwh=round(needed, 3),
        estimated_cost=round(cost, 2),
        currency=currency,
        feasible=feasible,
        current_soc=current_soc,
        target_soc=target_soc,
        now=now,
        deadline=deadline,
        send_lead_minutes=send_lead_minutes,
        timezone=timezone,
    )


def _check_inputs(
    current: float, target: float, battery: float, charger: float, efficiency: float, windows: int
) -> None:
    if not 0 <= current <= 100 or not 0 <= target <= 100:
        raise ValueError("state of charge must be between 0 and 100")
    if battery <= 0 or charger <= 0 or not 0 < efficiency <= 1:
        raise ValueError("battery capacity and charger power must be positive, efficiency in (0, 1]")
    if windows < 1:
        raise ValueError("max_windows must be at least 1")
