"""When the everyday cycle must be done: READY_BY on the owner's departure days, else within a day (pure).

`READY_BY_DAYS` names the mornings the car leaves: `daily` (the default), `workdays` (Monday to
Friday except Polish public holidays) or days and ranges such as `mon-fri` or `mon-fri,sun`. Like
Tesla's own "weekdays only" departure and evcc's repeating plans, it lets the evening before a
day off use the cheap hours of the next day (a weekend's midday solar dip), not only the night's.

On such an evening the next departure may be days away, but the plan still ends within a day:
the home schedule is a recurring every-day time of day (home_schedule), so a window more than a
day ahead would first fire on an earlier day, and a day-ahead price is rarely known further out.
So the planning end is the next READY_BY when that morning is a departure day, else the same wall
time tomorrow. On a daylight-saving night "the same wall time tomorrow" is taken at its earlier
reading (a time that does not exist or happens twice), and a plan made in the first pass of the
repeated autumn hour keeps to READY_BY, so no time of day of the next day comes round before the
plan reaches it.

The price of that freedom: when the cloud is down after such a plan, the car keeps that plan's
times of day (a weekend midday) instead of a night window until the scout's next arrival plans
again. With `daily` nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EXAMPLES = "'daily', 'workdays', 'mon-fri' or 'mon-fri,sun'"


@dataclass(frozen=True)
class DepartureDays:
    """The mornings the car must be ready by READY_BY: weekdays (0 = Monday) and whether public holidays are off."""

    weekdays: frozenset[int]
    public_holidays_off: bool = False

    @property
    def daily(self) -> bool:
        return len(self.weekdays) == 7 and not self.public_holidays_off

    def includes(self, day: date) -> bool:
        """True when the car leaves on this local date's morning."""
        if day.weekday() not in self.weekdays:
            return False
        if not self.public_holidays_off:
            return True
        # Imported here: settings (and so the scout, which cold-starts 96 times a day) import this module.
        from shared.domain.tariffs.holidays_pl import is_public_holiday

        return not is_public_holiday(day)

    def describe(self) -> str:
        """The setting as the owner would write it."""
        if self.daily:
            return "daily"
        if self.public_holidays_off and self.weekdays == frozenset(range(5)):
            return "workdays"
        return ",".join(DAY_NAMES[d] for d in sorted(self.weekdays))


DAILY = DepartureDays(frozenset(range(7)))


def parse_departure_days(text: str) -> DepartureDays:
    """READY_BY_DAYS as a DepartureDays; ValueError naming what is wrong."""
    words = text.strip().lower()
    if words in ("", "daily", "every day"):
        return DAILY
    if words == "workdays":
        return DepartureDays(frozenset(range(5)), public_holidays_off=True)
    days: set[int] = set()
    for part in (p.strip() for p in words.split(",")):
        first, dash, last = part.partition("-")
        if first not in DAY_NAMES or (dash and last not in DAY_NAMES):
            raise ValueError(f"READY_BY_DAYS: '{part}' is not a day or a range of days; use {EXAMPLES}")
        start, end = DAY_NAMES.index(first), DAY_NAMES.index(last if dash else first)
        if end < start:
            raise ValueError(f"READY_BY_DAYS: '{part}' runs backwards; write ranges Monday first, e.g. 'mon-fri'")
        days.update(range(start, end + 1))
    return DepartureDays(frozenset(days))


def next_ready_by(now: datetime, ready_by: time, timezone: tzinfo) -> datetime:
    """The next READY_BY wall time after `now` (today's when still ahead, else tomorrow's)."""
    local = now.astimezone(timezone)
    ready = datetime.combine(local.date(), ready_by, tzinfo=timezone)
    if ready <= local:
        ready = datetime.combine(local.date() + timedelta(days=1), ready_by, tzinfo=timezone)
    return ready


def planning_end(now: datetime, ready_by: time, days: DepartureDays, timezone: tzinfo) -> datetime:
    """The next READY_BY when its morning is a departure day, else the same wall time tomorrow (earlier reading)."""
    ready = next_ready_by(now, ready_by, timezone)
    local = now.astimezone(timezone)
    if days.includes(ready.date()) or _repeats_today(local):
        return ready
    tomorrow, wall = local.date() + timedelta(days=1), local.time().replace(tzinfo=None, fold=0)
    readings = (datetime.combine(tomorrow, wall.replace(fold=fold), tzinfo=timezone) for fold in (0, 1))
    # Through UTC: astimezone to the same zone would keep a missing wall time, which compares by its face.
    return min(moment.astimezone(UTC) for moment in readings).astimezone(timezone)


def _repeats_today(local: datetime) -> bool:
    """Inside the first pass of the hour that autumn's change repeats: its times of day come again within the day."""
    return local.fold == 0 and local.replace(fold=1).utcoffset() != local.utcoffset()
