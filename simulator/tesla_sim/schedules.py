"""Charge schedules as the car keeps them, and the real-time windows they open.

Fields follow `add_charge_schedule` in Tesla's vehicle-command proxy (pkg/proxy/command.go):
lat, lon, start_enabled, end_enabled, enabled and days_of_week are required; start_time and
end_time are minutes after local midnight; id 0 means "make one up". Day names are the proxy's
own table: it accepts SUN, MON, TUES, WED, THURS, FRI, SAT (or the full names), ALL and WEEKDAYS —
"Tue" or "Thu" are refused, as the real proxy refuses them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DAY_BITS = {
    "SUN": 1,
    "SUNDAY": 1,
    "MON": 2,
    "MONDAY": 2,
    "TUES": 4,
    "TUESDAY": 4,
    "WED": 8,
    "WEDNESDAY": 8,
    "THURS": 16,
    "THURSDAY": 16,
    "FRI": 32,
    "FRIDAY": 32,
    "SAT": 64,
    "SATURDAY": 64,
    "ALL": 127,
    "WEEKDAYS": 62,
}
MINUTES_PER_DAY = 24 * 60
FULL_DAY = timedelta(days=1)


class ScheduleError(ValueError):
    """A malformed add/remove_charge_schedule body; the message names the field like the proxy does."""


@dataclass(frozen=True)
class ChargeSchedule:
    """One stored schedule; `days` is the bit mask SUN=1, MON=2, ... SAT=64."""

    id: int
    days: int
    enabled: bool
    start_enabled: bool
    start_time: int
    end_enabled: bool
    end_time: int
    latitude: float
    longitude: float
    one_time: bool
    # One-time schedules apply to their first window only; the car drops them when it ends
    # (SimVehicle.advance splits its replay at that instant).
    expires_at: datetime | None = None

    def applies_on(self, day: date) -> bool:
        """True when the window starting (or, end-only, ending) on this local day is enabled."""
        return bool(self.days & (1 << ((day.weekday() + 1) % 7)))

    def to_tesla(self) -> dict[str, Any]:
        """The shape the car reports in its charge_schedules list."""
        data = asdict(self)
        data.pop("expires_at")
        data.pop("days")
        return {"days_of_week": self.days, **data, "name": ""}


def parse_days(value: Any) -> int:
    """Comma-separated day names (the proxy's table) to the bit mask."""
    if not isinstance(value, str):
        raise ScheduleError("invalid days_of_week param")
    mask = 0
    for name in value.split(","):
        bit = DAY_BITS.get(name.strip().upper())
        if bit is None:
            raise ScheduleError(f"unrecognized day name: {name}")
        mask |= bit
    return mask


def schedule_from_body(body: Mapping[str, Any], now: datetime) -> ChargeSchedule:
    """Validate an add_charge_schedule body as the proxy does; id 0 or absent becomes the Unix time."""
    lat, lon = _number(body, "lat", True), _number(body, "lon", True)
    start_time, end_time = int(_number(body, "start_time", False)), int(_number(body, "end_time", False))
    for name, minute in (("start_time", start_time), ("end_time", end_time)):
        if not 0 <= minute < MINUTES_PER_DAY:
            raise ScheduleError(f"invalid {name} param")
    schedule_id = int(_number(body, "id", False)) or int(now.timestamp())
    return ChargeSchedule(
        id=schedule_id,
        days=parse_days(body["days_of_week"]) if "days_of_week" in body else _missing("days_of_week"),
        enabled=_bool(body, "enabled", True),
        start_enabled=_bool(body, "start_enabled", True),
        start_time=start_time,
        end_enabled=_bool(body, "end_enabled", True),
        end_time=end_time,
        latitude=lat,
        longitude=lon,
        one_time=_bool(body, "one_time", False),
    )


def windows(
    schedule: ChargeSchedule, start: datetime, end: datetime, tz: ZoneInfo
) -> Iterator[tuple[datetime, datetime]]:
    """The schedule's windows (aware UTC, real elapsed time) that overlap [start, end), in order.

    Both times set: [start_time, end_time), crossing midnight when end_time <= start_time. Only a
    start: from start_time for a day (the car charges until its limit). Only an end: the day
    before end_time. Wall times come from the zone, so a DST night really is 7 or 9 hours long.
    """
    if not schedule.enabled or not (schedule.start_enabled or schedule.end_enabled):
        return
    day = start.astimezone(tz).date() - timedelta(days=2)
    last = end.astimezone(tz).date() + timedelta(days=1)
    while day <= last:
        if schedule.applies_on(day):
            opens, closes = _window_for_day(schedule, day, tz)
            if opens < end and closes > start:
                yield opens, closes
        day += timedelta(days=1)


def first_window_end(schedule: ChargeSchedule, after: datetime, tz: ZoneInfo) -> datetime | None:
    """End of the first window that ends after `after` (within two weeks), for one-time schedules."""
    for _, closes in windows(schedule, after, after + timedelta(days=14), tz):
        if closes > after:
            return closes
    return None


def _window_for_day(schedule: ChargeSchedule, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    if schedule.start_enabled and schedule.end_enabled:
        opens = _local(day, schedule.start_time, tz)
        end_day = day if schedule.end_time > schedule.start_time else day + timedelta(days=1)
        return opens, _local(end_day, schedule.end_time, tz)
    if schedule.start_enabled:
        opens = _local(day, schedule.start_time, tz)
        return opens, opens + FULL_DAY
    closes = _local(day, schedule.end_time, tz)
    return closes - FULL_DAY, closes


def _local(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """A wall time on a day as an aware UTC instant (a time skipped by DST maps past the gap)."""
    wall = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz)
    return wall.astimezone(UTC)


def _number(body: Mapping[str, Any], key: str, required: bool) -> float:
    if key not in body:
        if required:
            _missing(key)
        return 0.0
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScheduleError(f"invalid {key} param")
    return float(value)


def _bool(body: Mapping[str, Any], key: str, required: bool) -> bool:
    if key not in body:
        if required:
            _missing(key)
        return False
    if not isinstance(body[key], bool):
        raise ScheduleError(f"invalid {key} param")
    return bool(body[key])


def _missing(key: str) -> Any:
    raise ScheduleError(f"missing {key} param")
