"""Reading ENTSO-E Transparency Platform answers for day-ahead prices (document type A44). Pure: text in, data out.

A `Publication_MarketDocument` holds TimeSeries (`currency_Unit.name`, `price_Measure_Unit.name`
= MWH, `curveType`), each with Periods (`timeInterval` start/end in UTC, `resolution` such as
PT15M or PT60M) of Points (`position` from 1, `price.amount`). Position p covers
[start + (p - 1) x resolution, start + p x resolution), so days of 23 or 25 local hours need
nothing special: the document counts in UTC. A missing position depends on the curve type:
A03 ("variable sized block") means the price before it still holds; A01 ("sequential fixed
size block", the default) means there is no price, a gap the planner must not use.

Answers for the same time may come twice (a zone published both hourly and in quarter-hours, or
with several classification sequences): the finest resolution wins, then the lowest sequence
position, then the earlier TimeSeries. An `Acknowledgement_MarketDocument` is the platform's
way of saying no (no data for the period, or a bad request); its reason text is returned in
EntsoeAcknowledgement.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.prices.errors import InvalidPriceData

WHAT = "the ENTSO-E answer"
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")
MAX_ABS_PRICE_PER_MWH = 100_000.0  # far beyond any harmonised market limit: a bigger number is a broken answer


@dataclass(frozen=True)
class EntsoePrice:
    """A day-ahead price for [start, end) (UTC) in `currency` per MWh, as published."""

    start: datetime
    end: datetime
    per_mwh: float
    currency: str


class EntsoeAcknowledgement(Exception):
    """The platform answered with an Acknowledgement_MarketDocument instead of prices."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_a44(text: str | bytes) -> list[EntsoePrice]:
    """The prices of an A44 answer, in time order without overlaps; EntsoeAcknowledgement or InvalidPriceData."""
    root = _root(text)
    kind = _local(root.tag)
    if kind == "Acknowledgement_MarketDocument":
        reasons = [_text(reason, "text") or _text(reason, "code") or "" for reason in _children(root, "Reason")]
        raise EntsoeAcknowledgement("; ".join(r for r in reasons if r) or "no reason given")
    if kind != "Publication_MarketDocument":
        raise InvalidPriceData(f"{WHAT} is a {kind[:60]}, not a Publication_MarketDocument")
    ranked: list[tuple[tuple[timedelta, int, int], list[EntsoePrice]]] = []
    for order, series in enumerate(_children(root, "TimeSeries")):
        sequence = _int_or(_text(series, "classificationSequence_AttributeInstanceComponent.position"), 1)
        for period in _children(series, "Period"):
            resolution, prices = _period(series, period, order + 1)
            ranked.append(((resolution, sequence, order), prices))
    chosen: list[EntsoePrice] = []  # kept in time order
    starts: list[datetime] = []
    for _, prices in sorted(ranked, key=lambda item: item[0]):
        for price in prices:
            at = bisect_left(starts, price.start)
            if (at < len(chosen) and chosen[at].start < price.end) or (at and chosen[at - 1].end > price.start):
                continue  # a better-ranked answer already covers this time
            chosen.insert(at, price)
            starts.insert(at, price.start)
    return chosen


def _root(text: str | bytes) -> ElementTree.Element:
    # Entities can only be declared in a DOCTYPE; refusing any DOCTYPE leaves nothing to expand or fetch,
    # which is what defusedxml would guard against (not a dependency of this project).
    marker = "<!DOCTYPE" if isinstance(text, str) else b"<!DOCTYPE"
    if marker in text:  # type: ignore[operator]
        raise InvalidPriceData(f"{WHAT} declares a DOCTYPE, which a price document never does")
    try:
        return ElementTree.fromstring(text)  # noqa: S314 - no DOCTYPE, see above
    except ElementTree.ParseError as error:
        raise InvalidPriceData(f"{WHAT} is not XML ({error})") from None


def _period(
    series: ElementTree.Element, period: ElementTree.Element, number: int
) -> tuple[timedelta, list[EntsoePrice]]:
    where = f"{WHAT}, TimeSeries {number}"
    currency = _text(series, "currency_Unit.name")
    if not currency or not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvalidPriceData(f"{where} has no three-letter currency_Unit.name")
    unit = (_text(series, "price_Measure_Unit.name") or "MWH").upper()
    if unit != "MWH":
        raise InvalidPriceData(f"{where} gives prices per {unit[:10]}, expected per MWH")
    curve = _text(series, "curveType") or "A01"
    interval = _child(period, "timeInterval")
    start = _time(where, _text(interval, "start") if interval is not None else None)
    end = _time(where, _text(interval, "end") if interval is not None else None)
    resolution = _duration(where, _text(period, "resolution"))
    count, remainder = divmod(end - start, resolution)
    if end <= start or remainder:
        raise InvalidPriceData(f"{where}: {start:%Y-%m-%dT%H:%MZ} to {end:%Y-%m-%dT%H:%MZ} is not whole steps")
    points: dict[int, float] = {}
    for point in _children(period, "Point"):
        position = _int_or(_text(point, "position"), 0)
        if not 1 <= position <= count or position in points:
            raise InvalidPriceData(f"{where}: position {position} is outside 1..{count} or repeated")
        points[position] = _amount(where, position, _text(point, "price.amount"))
    prices: list[EntsoePrice] = []
    held: float | None = None
    for position in range(1, count + 1):
        if position in points:
            held = points[position]
        elif curve != "A03":
            held = None  # A01: no point, no price
        if held is not None:
            begin = start + (position - 1) * resolution
            prices.append(EntsoePrice(begin, begin + resolution, held, currency))
    return resolution, prices


def _amount(where: str, position: int, text: str | None) -> float:
    try:
        value = float(text or "")
    except ValueError:
        raise InvalidPriceData(f"{where}: position {position} has no price.amount number") from None
    if not math.isfinite(value) or abs(value) > MAX_ABS_PRICE_PER_MWH:
        raise InvalidPriceData(f"{where}: position {position} price.amount {value} is absurd")
    return value


def _time(where: str, text: str | None) -> datetime:
    try:
        moment = datetime.fromisoformat((text or "").strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidPriceData(f"{where}: timeInterval {str(text)[:30]!r} is not a UTC time") from None
    if moment.tzinfo is None:
        raise InvalidPriceData(f"{where}: timeInterval {str(text)[:30]!r} has no zone")
    return moment.astimezone(UTC)


def _duration(where: str, text: str | None) -> timedelta:
    match = _DURATION.fullmatch((text or "").strip())
    if not match or not any(match.groups()):
        raise InvalidPriceData(f"{where}: resolution {str(text)[:20]!r} is not a duration such as PT15M")
    days, hours, minutes = (int(group or 0) for group in match.groups())
    step = timedelta(days=days, hours=hours, minutes=minutes)
    if not timedelta(minutes=1) <= step <= timedelta(days=1):
        raise InvalidPriceData(f"{where}: resolution {text} is out of range")
    return step


def _local(tag: str) -> str:
    """The element name without its namespace (the publication document's version changes the namespace)."""
    return tag.rsplit("}", 1)[-1]


def _children(element: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    return [child for child in element if _local(child.tag) == name]


def _child(element: ElementTree.Element, name: str) -> ElementTree.Element | None:
    found = _children(element, name)
    return found[0] if found else None


def _text(element: ElementTree.Element, name: str) -> str | None:
    child = _child(element, name)
    return None if child is None or child.text is None else child.text.strip()


def _int_or(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() else default
