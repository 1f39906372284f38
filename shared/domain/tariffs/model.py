"""A Polish time-of-use tariff as data: priced zones by local hour, seasons by month, free days.

Zone hours are local wall-clock hours of the household's zone. Turning them into priced
intervals goes day by day on the wall clock and converts each boundary to UTC, so the 23-hour
and 25-hour nights of daylight saving come out with their real length.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from shared.domain.prices import PriceInterval
from shared.domain.tariffs.holidays_pl import is_public_holiday

MINUTES_PER_DAY = 24 * 60
FREE_DAY_KINDS = ("saturday", "sunday", "holiday")


@dataclass(frozen=True)
class ZoneSpan:
    """Zone `zone` from `start` to `end`, in minutes after local midnight (end exclusive, up to 1440)."""

    start: int
    end: int
    zone: str


@dataclass(frozen=True)
class Season:
    """The zone hours of workdays and free days in the given months; each day is fully covered."""

    name: str
    months: frozenset[int]
    workday: tuple[ZoneSpan, ...]
    free_day: tuple[ZoneSpan, ...]


@dataclass(frozen=True)
class Tariff:
    """One operator's tariff (e.g. tauron G12w) with its prices in PLN/kWh per zone."""

    operator: str
    name: str
    prices: Mapping[str, float]
    free_days: frozenset[str]
    seasons: tuple[Season, ...]
    currency: str = "PLN"
    is_holiday: Callable[[date], bool] = field(default=is_public_holiday, compare=False, repr=False)

    def is_free_day(self, day: date) -> bool:
        """True when the tariff prices this local date as a free day (weekend or holiday)."""
        if day.weekday() == 5 and "saturday" in self.free_days:
            return True
        if day.weekday() == 6 and "sunday" in self.free_days:
            return True
        return "holiday" in self.free_days and self.is_holiday(day)

    def day_spans(self, day: date) -> tuple[ZoneSpan, ...]:
        """The zones covering the local date, in order."""
        season = next(s for s in self.seasons if day.month in s.months)
        return season.free_day if self.is_free_day(day) else season.workday

    def zone_at(self, moment: datetime, tz: tzinfo) -> str:
        """The zone in force at an aware instant, read on the wall clock of tz."""
        local = moment.astimezone(tz)
        minute = local.hour * 60 + local.minute
        return next(span.zone for span in self.day_spans(local.date()) if span.start <= minute < span.end)

    def price_intervals(self, start: datetime, end: datetime, tz: tzinfo) -> list[PriceInterval]:
        """Priced intervals covering [start, end) exactly, split where the zone changes on the wall clock of tz."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("price_intervals needs aware datetimes")
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return []
        pieces: list[tuple[datetime, datetime, str]] = []
        day = start.astimezone(tz).date()
        last_day = (end - timedelta(microseconds=1)).astimezone(tz).date()
        while day <= last_day:
            for span in self.day_spans(day):
                begin, finish = _instant(day, span.start, tz), _instant(day, span.end, tz)
                if pieces:
                    # A boundary inside a skipped spring-forward hour maps past the next one: keep time moving forward.
                    begin = max(begin, pieces[-1][1])
                    finish = max(finish, begin)
                if finish <= begin:
                    continue
                if pieces and pieces[-1][2] == span.zone and pieces[-1][1] == begin:
                    pieces[-1] = (pieces[-1][0], finish, span.zone)
                else:
                    pieces.append((begin, finish, span.zone))
            day += timedelta(days=1)
        return [
            PriceInterval(max(begin, start), min(finish, end), self.prices[zone])
            for begin, finish, zone in pieces
            if finish > start and begin < end
        ]


def _instant(day: date, minute: int, tz: tzinfo) -> datetime:
    """The UTC instant a wall-clock minute of a local date begins (the first pass of a repeated hour).

    A minute skipped by the spring change never shows on the clock; its zone begins when the clock
    jumps past it, at the change itself.
    """
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    instant = naive.replace(tzinfo=tz).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        return instant
    instant = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)  # the earlier reading of the skipped time
    while instant.astimezone(tz).replace(tzinfo=None) < naive:
        instant += timedelta(minutes=1)
    return instant
