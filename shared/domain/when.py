"""Departure times as owners type them — "tomorrow 05:30", "05:30", "2026-12-02T05:30" — made exact (pure).

A local wall time is read in the household's zone. Two nights a year make that tricky
(Europe/Warsaw, 2026: on 29 March 02:00–02:59 does not exist, on 25 October 02:00–02:59 happens
twice), so a missing time is an error that names it and a doubled one takes the first occurrence
and says so; the conversion itself is the one the status page's form uses (local_departure).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.domain.local_departure import local_departure

EXAMPLES = "'tomorrow 05:30', 'today 22:00', '05:30', '2026-12-02T05:30' or an ISO time with offset"
_CLOCK = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})"
_RELATIVE = re.compile(rf"^(?P<day>today|tomorrow)\s+(?:at\s+)?{_CLOCK}$", re.IGNORECASE)
_TIME_ONLY = re.compile(rf"^{_CLOCK}$")
_LOCAL_DATE_TIME = re.compile(rf"^(?P<date>\d{{4}}-\d{{2}}-\d{{2}})[T ]{_CLOCK}(?::00)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Departure:
    """An aware departure moment, and a note when the owner's wall time was ambiguous."""

    at: datetime
    note: str | None = None


def parse_departure(text: str, now: datetime, tz: ZoneInfo) -> Departure:
    """The future moment `text` names in zone `tz`, seen from aware `now`; ValueError saying what is wrong."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    cleaned = " ".join(text.split())
    if not cleaned or len(cleaned) > 64:
        raise ValueError(f"give the departure as {EXAMPLES}")
    departure = _read(cleaned, now.astimezone(tz), tz)
    if departure.at <= now:
        raise ValueError(
            f"{cleaned} is in the past ({describe(departure.at.astimezone(tz))}; now {describe(now.astimezone(tz))})"
        )
    return departure


def _read(text: str, local_now: datetime, tz: ZoneInfo) -> Departure:
    if match := _RELATIVE.match(text):
        clock = _clock(match["hour"], match["minute"])
        day = local_now.date() + timedelta(days=1 if match["day"].lower() == "tomorrow" else 0)
        return _local(day, clock, tz)
    if match := _TIME_ONLY.match(text):
        clock = _clock(match["hour"], match["minute"])
        # "05:30" means the next 05:30 on the wall clock: today's if it is still ahead, else tomorrow's.
        ahead_today = clock > local_now.time().replace(tzinfo=None)
        return _local(local_now.date() + timedelta(days=0 if ahead_today else 1), clock, tz)
    if match := _LOCAL_DATE_TIME.match(text):
        return _local(_date(match["date"]), _clock(match["hour"], match["minute"]), tz)
    return _iso(text, tz)


def _iso(text: str, tz: ZoneInfo) -> Departure:
    """Any other ISO 8601 date-time: kept as given when it has an offset, read in `tz` when it has none."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"cannot read {text!r} as a time: use {EXAMPLES}") from None
    if moment.tzinfo is not None:
        return Departure(moment)
    return _local(moment.date(), moment.time().replace(microsecond=0), tz)


def _clock(hour: str, minute: str) -> time:
    if int(hour) > 23:
        raise ValueError(f"{hour}:{minute} is not a time of day: hours go from 00 to 23")
    if int(minute) > 59:
        raise ValueError(f"{hour}:{minute} is not a time of day: minutes go from 00 to 59")
    return time(int(hour), int(minute))


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text} is not a date") from None


def _local(day: date, clock: time, tz: ZoneInfo) -> Departure:
    """The wall time `clock` on `day` in `tz`: an error when the clocks skip it, the first when it repeats."""
    typed = f"{clock:%H:%M:%S}" if clock.second else f"{clock:%H:%M}"
    moment = local_departure(day.isoformat(), typed, tz)  # fold=0: the first of a repeated time
    second = moment.replace(fold=1)
    if second.utcoffset() != moment.utcoffset():
        note = (
            f"{clock:%H:%M} happens twice on {day:%a %d %b %Y} in {tz.key} (the clocks go back); using the first, "
            f"{moment.isoformat(timespec='minutes')}; give {second.isoformat(timespec='minutes')} for the second"
        )
        return Departure(moment, note)
    return Departure(moment)


def describe(moment: datetime) -> str:
    """A moment as owners read it: 'Tue 01 Dec 2026 05:30 +01:00'."""
    return f"{moment:%a %d %b %Y %H:%M} {moment.isoformat(timespec='minutes')[-6:]}"
