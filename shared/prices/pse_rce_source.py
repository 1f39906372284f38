"""PSE's day-ahead market price RCE (`rce-pln`), one business day per request, cached for the planning run.

`GET https://api.raporty.pse.pl/api/rce-pln?$filter=business_date eq 'YYYY-MM-DD'` answers
`{"value": [{dtime, period, rce_pln, dtime_utc, business_date, ...}], "nextLink": ...}`:
- `rce_pln` is PLN/MWh (÷ 1000 for PLN/kWh; it can be negative);
- `dtime`/`dtime_utc` are the END of the interval; `period` ("HH:MM - HH:MM") gives its length,
  15 minutes since the SDAC 15-minute MTU of 2025-10-01, an hour before;
- on the autumn daylight-saving day the repeated local hour carries an `a`/`b` suffix on `dtime`,
  which is why `dtime_utc` is read first.
A day not published yet answers an empty list: that time is unavailable, not an error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import requests

from shared.clock import Clock
from shared.domain.prices import PriceInterval
from shared.prices.errors import InvalidPriceData
from shared.prices.fetch import DEFAULT_TIMEOUT, get_json

PSE_RCE_URL = "https://api.raporty.pse.pl/api/rce-pln"
MARKET_TIMEZONE = ZoneInfo("Europe/Warsaw")  # business days are Polish calendar days
MAX_PAGES = 20
MIN_PRICE, MAX_PRICE = -10.0, 100.0  # PLN/kWh
_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_TIME = "%Y-%m-%d %H:%M:%S"


class PseRcePriceSource:
    """PriceSource over PSE `rce-pln`; each business day is fetched at most once per instance."""

    currency = "PLN"

    def __init__(
        self,
        *,
        clock: Clock,
        session: requests.Session | None = None,
        base_url: str = PSE_RCE_URL,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self._clock = clock
        self._session = session or requests.Session()
        self._base_url = base_url
        self._timeout = timeout
        self._days: dict[date, list[PriceInterval]] = {}

    def prices(self, start: datetime, end: datetime) -> list[PriceInterval]:
        """RCE intervals overlapping [start, end), in order; days not yet published are left out."""
        if end <= start:
            return []
        # PSE publishes day D around 14:00 on D-1: asking further ahead only costs a request.
        last_published = self._clock.now().astimezone(MARKET_TIMEZONE).date() + timedelta(days=1)
        found: list[PriceInterval] = []
        for day in _business_days(start, end):
            if day > last_published:
                break
            if day not in self._days:
                self._days[day] = self._fetch_day(day)
            found.extend(i for i in self._days[day] if i.end > start and i.start < end)
        return found

    def _fetch_day(self, day: date) -> list[PriceInterval]:
        what = f"PSE rce-pln for {day.isoformat()}"
        url: str | None = self._base_url
        params: dict[str, str] | None = {"$filter": f"business_date eq '{day.isoformat()}'"}
        records: list[Any] = []
        for _ in range(MAX_PAGES):
            assert url is not None
            page = get_json(self._session, url, what=what, params=params, timeout=self._timeout)
            if not isinstance(page, dict) or not isinstance(page.get("value"), list):
                raise InvalidPriceData(f"{what}: the answer has no `value` list")
            records.extend(page["value"])
            next_link = page.get("nextLink")
            if not next_link:
                return parse_rce_day(records, day)
            # Follow the page's query on our own base URL: PSE's links have been seen with another
            # scheme and host than the public one, and we never want to follow a link elsewhere.
            url, params = self._base_url, dict(parse_qsl(urlsplit(str(next_link)).query))
        raise InvalidPriceData(f"{what}: more than {MAX_PAGES} pages")


def parse_rce_day(records: list[Any], day: date, tz: tzinfo = MARKET_TIMEZONE) -> list[PriceInterval]:
    """The intervals of one business day from `rce-pln` records; InvalidPriceData on anything unusable."""
    what = f"PSE rce-pln for {day.isoformat()}"
    intervals: list[PriceInterval] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise InvalidPriceData(f"{what}: record {index} is not an object")
        if record.get("business_date", day.isoformat()) != day.isoformat():
            continue  # another day's record: it belongs to that day's cache entry
        end = _end_time(what, index, record, tz)
        length = _period_minutes(record.get("period_utc")) or _period_minutes(record.get("period"))
        if length is None:
            raise InvalidPriceData(f"{what}: record {index} (ending {end.isoformat()}) has no readable `period`")
        intervals.append(PriceInterval(end - timedelta(minutes=length), end, _price(what, index, record, end)))
    intervals.sort(key=lambda interval: interval.start)
    for before, interval in pairwise(intervals):
        if interval.start != before.end:
            problem = "overlaps" if interval.start < before.end else "leaves a gap after"
            raise InvalidPriceData(
                f"{what}: interval {interval.start.isoformat()} to {interval.end.isoformat()} {problem} "
                f"the one ending {before.end.isoformat()}"
            )
    return intervals


def _end_time(what: str, index: int, record: dict[str, Any], tz: tzinfo) -> datetime:
    """The interval's end: `dtime_utc` when present, else local `dtime` (with its a/b suffix)."""
    utc_text = record.get("dtime_utc")
    if isinstance(utc_text, str):
        try:
            return datetime.strptime(utc_text.strip().replace("T", " ")[:19], _TIME).replace(tzinfo=UTC)
        except ValueError:
            raise InvalidPriceData(f"{what}: record {index} dtime_utc {utc_text!r} is not a time") from None
    local_text = record.get("dtime")
    if not isinstance(local_text, str):
        raise InvalidPriceData(f"{what}: record {index} has neither dtime_utc nor dtime")
    # In the repeated hour of the autumn change, `a` marks the first pass (summer time), `b` the second.
    suffix = "b" if "b" in local_text else "a" if "a" in local_text else ""
    cleaned = local_text.replace(suffix, "").strip() if suffix else local_text.strip()
    try:
        naive = datetime.strptime(cleaned[:19] if len(cleaned) > 16 else cleaned + ":00", _TIME)
    except ValueError:
        raise InvalidPriceData(f"{what}: record {index} dtime {local_text!r} is not a time") from None
    return naive.replace(tzinfo=tz, fold=1 if suffix == "b" else 0).astimezone(UTC)


def _period_minutes(text: Any) -> int | None:
    """Length of a "HH:MM - HH:MM" period ("23:45 - 24:00" is 15 minutes); None when unreadable."""
    if not isinstance(text, str):
        return None
    match = _PERIOD.fullmatch(text)
    if not match:
        return None
    start = int(match.group(1)) * 60 + int(match.group(2))
    end = int(match.group(3)) * 60 + int(match.group(4))
    length = (end - start) % (24 * 60)
    return length if 0 < length <= 120 else None


def _price(what: str, index: int, record: dict[str, Any], end: datetime) -> float:
    value = record.get("rce_pln")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidPriceData(f"{what}: record {index} (ending {end.isoformat()}) has no finite rce_pln")
    price = value / 1000.0  # PLN/MWh -> PLN/kWh
    if not MIN_PRICE <= price <= MAX_PRICE:
        raise InvalidPriceData(f"{what}: record {index} (ending {end.isoformat()}) rce_pln {value} is absurd")
    return price


def _business_days(start: datetime, end: datetime) -> Iterator[date]:
    """The Polish calendar days that [start, end) touches, in order."""
    day = start.astimezone(MARKET_TIMEZONE).date()
    last = (end - timedelta(microseconds=1)).astimezone(MARKET_TIMEZONE).date()
    while day <= last:
        yield day
        day += timedelta(days=1)
