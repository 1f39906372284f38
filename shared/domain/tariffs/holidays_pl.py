"""Polish public holidays, from the maintained `holidays` package (it knows Christmas Eve since 2025)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays


@lru_cache(maxsize=32)
def _holidays_of(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("PL", years=year).keys())


def is_public_holiday(day: date) -> bool:
    """True on a statutory public holiday in Poland (ustawowo wolny), e.g. 2025-12-24 onwards."""
    return day in _holidays_of(day.year)
