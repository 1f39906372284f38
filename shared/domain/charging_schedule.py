"""Plan windows → `add_charge_schedule` bodies for the Tesla vehicle-command API (contract section 8).

A schedule has no SoC field (the limit is set separately with `set_charge_limit`) and its times are
minutes after local midnight on the car's clock, so a window is described on the household's wall
clock. A window crossing midnight is one schedule whose end_time is smaller than its start_time.
Every schedule carries an id the caller keeps, so exactly this schedule can be removed later
(firmware 2024.26+ adds a new schedule on each `set_scheduled_charging`; vehicle-command issue 290).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from shared.domain.planner import ChargingWindow, Plan

# Full day names: the vehicle-command proxy (pkg/proxy/command.go, dayNamesBitMask) accepts
# SUN, MON, TUES, WED, THURS, FRI, SAT and the full names, but not "Tue" or "Thu".
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ALL_DAYS = "All"  # the proxy's name for every day of the week
MAX_SCHEDULE_ID = 2**53 - 1  # the proxy reads numbers as float64: larger ids would lose digits


def charge_schedule_payload(
    window: ChargingWindow,
    timezone: tzinfo,
    *,
    schedule_id: int,
    latitude: float,
    longitude: float,
    every_day: bool = False,
) -> dict[str, Any]:
    """One schedule from the window's local start to its end: one-time on its start day, or recurring every day."""
    if isinstance(schedule_id, bool) or not isinstance(schedule_id, int) or not 1 <= schedule_id <= MAX_SCHEDULE_ID:
        raise ValueError("schedule_id must be a whole number between 1 and 2**53 - 1")
    start = window.start.astimezone(timezone)
    end = window.end.astimezone(timezone)
    start_minute, end_minute = _minutes_after_midnight(start), _minutes_after_midnight(end)
    # A clock time can only say when within a day: a window of a day or more has no usable end,
    # so it charges until the charge limit instead.
    end_usable = window.end - window.start < timedelta(days=1) and end_minute != start_minute
    return {
        "days_of_week": ALL_DAYS if every_day else DAY_NAMES[start.weekday()],
        "enabled": True,
        "start_enabled": True,
        "start_time": start_minute,
        "end_enabled": end_usable,
        "end_time": end_minute,
        "lat": float(latitude),
        "lon": float(longitude),
        "one_time": not every_day,
        "id": schedule_id,
    }


def charge_schedule_payloads(
    plan: Plan, timezone: tzinfo, *, schedule_ids: Sequence[int], latitude: float, longitude: float
) -> list[dict[str, Any]]:
    """One schedule per plan window, using the caller's ids in window order (one id per window)."""
    if len(schedule_ids) != len(plan.windows):
        raise ValueError(f"{len(plan.windows)} windows need as many schedule ids, got {len(schedule_ids)}")
    return [
        charge_schedule_payload(window, timezone, schedule_id=schedule_id, latitude=latitude, longitude=longitude)
        for window, schedule_id in zip(plan.windows, schedule_ids, strict=True)
    ]


def _minutes_after_midnight(local: datetime) -> int:
    return local.hour * 60 + local.minute
