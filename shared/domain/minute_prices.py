"""Priced intervals turned into whole-minute segments on an integer timeline (the optimiser's input).

Minute 0 is the first whole UTC minute at or after the planning start, so all arithmetic is in real
elapsed minutes and daylight-saving nights need no special case. Prices become integers (nano-units
per kWh) so that equal prices compare equal and costs add up exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.domain.prices import PriceInterval

MINUTE = timedelta(minutes=1)
PRICE_SCALE = 10**9  # prices are compared at 1e-9 currency units per kWh
_US_PER_MINUTE = 60_000_000
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Segment:
    """Minutes [start, end) of the timeline, each costing `price` nano-units per kWh; available for charging."""

    start: int
    end: int
    price: int

    @property
    def length(self) -> int:
        return self.end - self.start


def price_units(price_per_kwh: float) -> int:
    """A price as an exact integer of nano-units per kWh."""
    return round(price_per_kwh * PRICE_SCALE)


def minute_grid(start: datetime, end: datetime) -> tuple[datetime, int]:
    """The first whole UTC minute at or after start, and how many whole minutes fit before end."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the planner needs aware datetimes")
    origin = start.astimezone(UTC).replace(second=0, microsecond=0)
    if origin < start:
        origin += MINUTE
    last = end.astimezone(UTC).replace(second=0, microsecond=0)
    return origin, max(0, (last - origin) // MINUTE)


def to_segments(intervals: Sequence[PriceInterval], origin: datetime, minutes: int) -> list[Segment]:
    """The available minutes in [origin, origin + minutes) as segments of equal price, in order.

    A minute is available only when the intervals cover all of it; a minute split between two
    intervals (a feed with boundaries off the minute) costs their time-weighted average. Time no
    interval covers is left out: the optimiser never charges there.
    """
    horizon = minutes * _US_PER_MINUTE
    whole: list[Segment] = []
    split_minutes: dict[int, list[int]] = {}  # minute -> [covered microseconds, price x microseconds]
    previous_end: datetime | None = None
    for interval in intervals:
        if interval.start.tzinfo is None or interval.end.tzinfo is None:
            raise ValueError(f"price interval {interval.start}..{interval.end} is not time-zone aware")
        if interval.end <= interval.start:
            raise ValueError(f"price interval {interval.start.isoformat()} ends before it starts")
        if previous_end is not None and interval.start < previous_end:
            raise ValueError(f"price interval {interval.start.isoformat()} overlaps the one before or is out of order")
        previous_end = interval.end
        begin = max(0, (interval.start - origin) // _MICROSECOND)
        finish = min(horizon, (interval.end - origin) // _MICROSECOND)
        if finish <= begin:
            continue
        units = price_units(interval.price_per_kwh)
        first_whole, end_whole = -(-begin // _US_PER_MINUTE), finish // _US_PER_MINUTE
        if first_whole < end_whole:
            whole.append(Segment(first_whole, end_whole, units))
        if begin % _US_PER_MINUTE:
            minute = begin // _US_PER_MINUTE
            _cover(split_minutes, minute, min(finish, (minute + 1) * _US_PER_MINUTE) - begin, units)
        if finish % _US_PER_MINUTE and (finish // _US_PER_MINUTE) * _US_PER_MINUTE >= begin:
            minute = finish // _US_PER_MINUTE
            _cover(split_minutes, minute, finish - minute * _US_PER_MINUTE, units)
    for minute, (covered, weighted) in split_minutes.items():
        if covered == _US_PER_MINUTE:
            whole.append(Segment(minute, minute + 1, (weighted + _US_PER_MINUTE // 2) // _US_PER_MINUTE))
    whole.sort(key=lambda segment: segment.start)
    return _merge_equal_neighbours(whole)


def _cover(split_minutes: dict[int, list[int]], minute: int, microseconds: int, units: int) -> None:
    entry = split_minutes.setdefault(minute, [0, 0])
    entry[0] += microseconds
    entry[1] += microseconds * units


def _merge_equal_neighbours(segments: list[Segment]) -> list[Segment]:
    """Adjacent segments of one price are one segment: fewer places for the optimiser to look."""
    merged: list[Segment] = []
    for segment in segments:
        if merged and merged[-1].end == segment.start and merged[-1].price == segment.price:
            merged[-1] = Segment(merged[-1].start, segment.end, segment.price)
        else:
            merged.append(segment)
    return merged
