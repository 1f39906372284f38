"""The JSON price feed at OFFPEAK_API_URL (contract section 7), fetched once per planning run and checked.

`{"currency": "PLN", "prices": [{"start": "<ISO with offset>", "end": "...", "price_per_kwh": 0.52}, ...]}`
with contiguous intervals of any length. Anything the planner could misread (unsorted, overlapping
or gapped intervals, times without an offset, prices that are not finite numbers or are absurd)
raises InvalidPriceData naming the interval, instead of producing a quietly wrong plan. Time
before the first or after the last interval is simply unavailable.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

import requests

from shared.domain.iso_time import parse_aware
from shared.domain.prices import PriceInterval
from shared.prices.errors import InvalidPriceData
from shared.prices.fetch import DEFAULT_TIMEOUT, get_json

WHAT = "the price feed (OFFPEAK_API_URL)"
MIN_PRICE, MAX_PRICE = -10.0, 100.0  # per kWh; outside this the feed is broken, not cheap or dear


class FeedPriceSource:
    """PriceSource over the JSON feed; one GET per instance (one instance per planning run)."""

    def __init__(
        self, url: str, *, session: requests.Session | None = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT
    ) -> None:
        self._url = url
        self._session = session or requests.Session()
        self._timeout = timeout
        self._loaded: tuple[str, list[PriceInterval]] | None = None

    @property
    def currency(self) -> str:
        """The feed's currency (fetches the feed if it was not fetched yet)."""
        return self._load()[0]

    @currency.setter
    def currency(self, value: str) -> None:  # the PriceSource port declares a plain attribute
        raise AttributeError("the feed's currency comes from the feed")

    def prices(self, start: datetime, end: datetime) -> list[PriceInterval]:
        """The feed's intervals overlapping [start, end), in order."""
        return [i for i in self._load()[1] if i.end > start and i.start < end]

    def _load(self) -> tuple[str, list[PriceInterval]]:
        if self._loaded is None:
            document = get_json(self._session, self._url, what=WHAT, timeout=self._timeout)
            self._loaded = parse_price_feed(document)
        return self._loaded


def parse_price_feed(document: Any) -> tuple[str, list[PriceInterval]]:
    """The feed's currency and intervals, or InvalidPriceData saying what is wrong and where."""
    if not isinstance(document, dict):
        raise InvalidPriceData(f"{WHAT}: the answer must be a JSON object with `currency` and `prices`")
    currency = document.get("currency")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvalidPriceData(f"{WHAT}: `currency` must be a three-letter code such as PLN")
    entries = document.get("prices")
    if not isinstance(entries, list):
        raise InvalidPriceData(f"{WHAT}: `prices` must be a list of intervals")
    intervals = [_interval(index, entry) for index, entry in enumerate(entries)]
    for index in range(1, len(intervals)):
        before, interval = intervals[index - 1], intervals[index]
        where = f"{WHAT}: interval {index} ({interval.start.isoformat()} to {interval.end.isoformat()})"
        if interval.start < before.start:
            raise InvalidPriceData(f"{where} comes before the one listed ahead of it: intervals must be sorted")
        if interval.start < before.end:
            raise InvalidPriceData(f"{where} overlaps the interval before, which ends {before.end.isoformat()}")
        if interval.start > before.end:
            raise InvalidPriceData(f"{where}: gap after the interval before, which ends {before.end.isoformat()}")
    return currency, intervals


def _interval(index: int, entry: Any) -> PriceInterval:
    if not isinstance(entry, dict):
        raise InvalidPriceData(f"{WHAT}: interval {index} is not an object")
    start = _aware_time(index, entry, "start")
    end = _aware_time(index, entry, "end")
    where = f"{WHAT}: interval {index} ({start.isoformat()} to {end.isoformat()})"
    if end <= start:
        raise InvalidPriceData(f"{where} ends before it starts")
    price = entry.get("price_per_kwh")
    if isinstance(price, bool) or not isinstance(price, int | float):
        raise InvalidPriceData(f"{where}: price_per_kwh must be a number, got {type(price).__name__}")
    if not math.isfinite(price):
        raise InvalidPriceData(f"{where}: price_per_kwh is not a finite number")
    if not MIN_PRICE <= price <= MAX_PRICE:
        raise InvalidPriceData(f"{where}: price_per_kwh {price} is outside {MIN_PRICE:g}..{MAX_PRICE:g}")
    return PriceInterval(start, end, float(price))


def _aware_time(index: int, entry: dict[str, Any], key: str) -> datetime:
    text = entry.get(key)
    if not isinstance(text, str):
        raise InvalidPriceData(f"{WHAT}: interval {index} has no `{key}` time")
    try:
        return parse_aware(text)
    except ValueError as problem:
        raise InvalidPriceData(f"{WHAT}: interval {index} `{key}` {text[:40]!r} {problem}") from None
