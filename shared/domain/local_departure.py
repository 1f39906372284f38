"""A departure the owner typed as a local date and time, made an aware moment in the household's zone (pure).

Browsers send `<input type=date>` as YYYY-MM-DD and `<input type=time>` as HH:MM (HH:MM:SS with a
step below a minute); both forms are accepted, nothing else.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

DATE_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
TIME_PATTERN = re.compile(r"^([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?$")


def local_departure(day: str, clock_time: str, tz: ZoneInfo) -> datetime:
    """The aware moment of a local date (YYYY-MM-DD) and time (HH:MM) in tz; ValueError saying what is wrong."""
    if not DATE_PATTERN.fullmatch(day):
        raise ValueError("the departure date must look like 2026-11-24")
    try:
        parsed_day = date.fromisoformat(day)
    except ValueError:
        raise ValueError("the departure date does not exist") from None
    match = TIME_PATTERN.fullmatch(clock_time)
    if not match:
        raise ValueError("the departure time must look like 07:00")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError("the departure time does not exist")
    # fold=0: in the repeated hour of an autumn night the earlier of the two moments, so the car is
    # ready in time whichever one the owner meant.
    local = datetime.combine(parsed_day, time(hour, minute, second), tzinfo=tz)
    # A time the clocks skip on a spring night does not exist: it changes on a round trip through UTC.
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ValueError(f"{clock_time} does not exist on {day}: the clocks go forward that night")
    return local
