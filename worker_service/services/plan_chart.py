"""Tonight's plan drawn on the price curve: the geometry of the status page's SVG, from the `/status` JSON (pure).

One source, two views: the page draws exactly the `tonight` object `GET /status` returns — the price
intervals as a step line, each planned window as a shaded band, the departure as a line. Only numbers
and short labels leave here; the template writes them into the SVG, escaped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from shared.domain.iso_time import aware_or_none

WIDTH, HEIGHT = 640, 240
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 48, 12, 12, 28
MAX_X_LABELS = 8
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Band:
    """A shaded planned window: x from the window's start to its end, full plot height."""

    x: float
    width: float
    start: str
    end: str


@dataclass(frozen=True)
class Tick:
    """An axis label at a position."""

    at: float
    label: str


@dataclass(frozen=True)
class Chart:
    """Everything the template needs to draw the SVG; coordinates in viewBox units."""

    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    price_path: str
    windows: list[Band]
    departure_x: float | None
    now_x: float | None
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    currency: str
    description: str
    segments: int = 0


def _prices(tonight: dict[str, Any]) -> list[tuple[datetime, datetime, float]]:
    found = []
    for item in tonight.get("prices") or []:
        start, end, price = aware_or_none(item.get("start")), aware_or_none(item.get("end")), item.get("price_per_kwh")
        if start and end and end > start and isinstance(price, int | float) and math.isfinite(price):
            found.append((start, end, float(price)))
    return sorted(found)


def _windows(tonight: dict[str, Any]) -> list[tuple[datetime, datetime]]:
    found = []
    for item in tonight.get("windows") or []:
        start, end = aware_or_none(item.get("start")), aware_or_none(item.get("end"))
        if start and end and end > start:
            found.append((start, end))
    return found


def time_span(tonight: dict[str, Any]) -> tuple[datetime, datetime] | None:
    """The night the chart covers: from the first price (or window) to the departure (or the last price)."""
    prices, windows = _prices(tonight), _windows(tonight)
    starts = [p[0] for p in prices[:1]] + [w[0] for w in windows[:1]]
    departure = aware_or_none(tonight.get("departure"))
    ends = [departure] if departure else [p[1] for p in prices[-1:]] + [w[1] for w in windows[-1:]]
    if not starts or not ends:
        return None
    start, end = min(starts), max(ends)
    return (start, end) if end > start else None


def plan_chart(tonight: dict[str, Any], tz: tzinfo, now: datetime | None = None) -> Chart | None:
    """The chart of one `tonight` object, or None when it has neither prices nor windows to draw."""
    span = time_span(tonight)
    if span is None:
        return None
    t0, t1 = span
    left, right = float(MARGIN_LEFT), float(WIDTH - MARGIN_RIGHT)
    top, bottom = float(MARGIN_TOP), float(HEIGHT - MARGIN_BOTTOM)
    seconds = (t1 - t0).total_seconds()

    def x(moment: datetime) -> float:
        clamped = min(max(moment, t0), t1)
        return round(left + (clamped - t0).total_seconds() / seconds * (right - left), 2)

    prices = [(max(s, t0), min(e, t1), p) for s, e, p in _prices(tonight) if e > t0 and s < t1]
    low = min([0.0] + [p for _, _, p in prices])  # from zero: bar heights compare honestly
    high = max([p for _, _, p in prices], default=1.0)
    high = high if high > low else low + 1.0
    high *= 1.1 if high > 0 else 1.0

    def y(price: float) -> float:
        return round(bottom - (price - low) / (high - low) * (bottom - top), 2)

    bands = [
        Band(x(s), round(x(e) - x(s), 2), s.astimezone(tz).strftime("%H:%M"), e.astimezone(tz).strftime("%H:%M"))
        for s, e in _windows(tonight)
        if e > t0 and s < t1
    ]
    departure = aware_or_none(tonight.get("departure"))
    currency = str(tonight.get("currency") or "")
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        price_path=_step_path(prices, x, y),
        windows=bands,
        departure_x=x(departure) if departure and t0 <= departure <= t1 else None,
        now_x=x(now) if now and t0 <= now <= t1 else None,
        x_ticks=_hour_ticks(t0, t1, tz, x),
        y_ticks=[Tick(y(v), f"{v:.2f}") for v in _price_levels(low, high)],
        currency=currency,
        description=_describe(bands, currency, tonight),
        segments=len(prices),
    )


def _step_path(prices: list[tuple[datetime, datetime, float]], x: Any, y: Any) -> str:
    """An SVG path: a horizontal run per interval, vertical joins, a new run after a gap in the prices."""
    parts: list[str] = []
    previous_end: datetime | None = None
    for start, end, price in prices:
        if previous_end is None or start != previous_end:
            parts.append(f"M{x(start)},{y(price)}")  # a gap: time outside the prices is not drawn
        else:
            parts.append(f"V{y(price)}")
        parts.append(f"H{x(end)}")
        previous_end = end
    return " ".join(parts)


def _hour_ticks(t0: datetime, t1: datetime, tz: tzinfo, x: Any) -> list[Tick]:
    """Local whole hours across the night, every n hours so that at most MAX_X_LABELS are written."""
    hours = max(1, math.ceil((t1 - t0) / HOUR))
    every = max(1, math.ceil(hours / MAX_X_LABELS))
    # Stepping in UTC keeps a daylight-saving night's 23 or 25 real hours on the axis (adding an hour
    # to a zoneinfo time moves the wall clock instead, and would skip the repeated hour).
    first = t0.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if first < t0:
        first += HOUR
    ticks = []
    moment = first
    while moment <= t1:
        local = moment.astimezone(tz)
        if local.hour % every == 0:
            ticks.append(Tick(x(moment), local.strftime("%H:%M")))
        moment += HOUR
    return ticks


def _price_levels(low: float, high: float) -> list[float]:
    """Three or four round price levels for the vertical axis."""
    span = high - low
    raw = span / 3
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    level = math.ceil(low / step) * step
    levels = []
    while level <= high + 1e-9:
        levels.append(round(level, 6))
        level += step
    return levels


def _describe(bands: list[Band], currency: str, tonight: dict[str, Any]) -> str:
    """A sentence for screen readers and the SVG's <desc>."""
    if not bands:
        return "Electricity prices tonight; no charging planned."
    spans = ", ".join(f"{b.start}–{b.end}" for b in bands)
    cost = tonight.get("estimated_cost")
    priced = f", estimated {cost} {currency}" if isinstance(cost, int | float) else ""
    return f"Electricity prices tonight with charging planned {spans}{priced}."
