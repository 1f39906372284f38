"""Reads the operators' tariff files (`data/<operator>.json`) into Tariff objects, checking them on the way.

The files ship inside the package (JSON, so the deployed worker needs no YAML library). A malformed
file is a bug in the project and raises ValueError; a setting that names a tariff, an operator or a
zone that does not exist raises ConfigError naming the variable.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from shared.domain.tariffs.model import FREE_DAY_KINDS, MINUTES_PER_DAY, Season, Tariff, ZoneSpan
from shared.errors import ConfigError

OPERATORS = ("tauron", "pge", "energa", "enea", "stoen")
_SPAN = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def available_tariffs(operator: str) -> tuple[str, ...]:
    """The tariff names an operator's file defines, e.g. ("G11", "G12", "G12w", "G13")."""
    return tuple(_operator_file(_operator_name(operator))["tariffs"])


def load_tariff(operator: str, name: str, overrides: Mapping[str, float] | None = None) -> Tariff:
    """The operator's tariff with default prices, each replaced by `overrides[zone]` when given."""
    operator = _operator_name(operator)
    document = _operator_file(operator)
    by_lower = {key.lower(): key for key in document["tariffs"]}
    if name.lower() not in by_lower:
        offered = ", ".join(document["tariffs"])
        raise ConfigError(f"OFFPEAK_TARIFF={name} is not offered by {operator} (it offers {offered})")
    name = by_lower[name.lower()]
    tariff = _parse_tariff(operator, name, document["tariffs"][name])
    prices = dict(tariff.prices)
    for zone, price in (overrides or {}).items():
        if zone not in prices:
            zones = ", ".join(sorted(prices))
            raise ConfigError(f"OFFPEAK_PRICE_{zone.upper()} names no zone of {operator} {name} (zones: {zones})")
        prices[zone] = float(price)
    return Tariff(operator, name, prices, tariff.free_days, tariff.seasons)


def _operator_name(operator: str) -> str:
    if operator.lower() not in OPERATORS:
        raise ConfigError(f"OFFPEAK_OPERATOR must be one of {', '.join(OPERATORS)}")
    return operator.lower()


@lru_cache(maxsize=len(OPERATORS))
def _operator_file(operator: str) -> dict[str, Any]:
    text = resources.files("shared.domain.tariffs").joinpath("data", f"{operator}.json").read_text(encoding="utf-8")
    document = json.loads(text)
    if document.get("operator") != operator or not isinstance(document.get("tariffs"), dict):
        raise ValueError(f"tariff file {operator}.json: missing `operator` or `tariffs`")
    return document  # type: ignore[no-any-return]


def _parse_tariff(operator: str, name: str, raw: Mapping[str, Any]) -> Tariff:
    where = f"tariff file {operator}.json, {name}"
    prices = raw.get("prices")
    if not isinstance(prices, dict) or not prices:
        raise ValueError(f"{where}: `prices` must map zone names to PLN/kWh")
    for zone, price in prices.items():
        if isinstance(price, bool) or not isinstance(price, int | float) or not math.isfinite(price):
            raise ValueError(f"{where}: price of zone {zone} is not a number")
    base = raw.get("base_zone")
    if not isinstance(base, str) or base not in prices:
        raise ValueError(f"{where}: base_zone must be one of its priced zones")
    free_days = frozenset(raw.get("free_days", []))
    if not free_days <= set(FREE_DAY_KINDS):
        raise ValueError(f"{where}: free_days may only hold {', '.join(FREE_DAY_KINDS)}")
    seasons = tuple(_parse_season(where, season, base, prices, bool(free_days)) for season in raw.get("seasons", []))
    months = sorted(m for season in seasons for m in season.months)
    if months != list(range(1, 13)):
        raise ValueError(f"{where}: the seasons must cover each month exactly once")
    return Tariff(operator, name, {z: float(p) for z, p in prices.items()}, free_days, seasons)


def _parse_season(
    where: str, raw: Mapping[str, Any], base: str, prices: Mapping[str, Any], has_free_days: bool
) -> Season:
    name = str(raw.get("name", "?"))
    if has_free_days and "free_day" not in raw:
        raise ValueError(f"{where}, season {name}: free_days are listed but no free_day hours are given")
    return Season(
        name=name,
        months=frozenset(int(m) for m in raw.get("months", [])),
        workday=_day_spans(f"{where}, season {name}, workday", raw.get("workday", {}), base, prices),
        free_day=_day_spans(f"{where}, season {name}, free_day", raw.get("free_day", {}), base, prices),
    )


def _day_spans(
    where: str, zones: Mapping[str, list[str]], base: str, prices: Mapping[str, Any]
) -> tuple[ZoneSpan, ...]:
    """The listed zone hours, with the base zone filling the rest of the day."""
    listed: list[ZoneSpan] = []
    for zone, ranges in zones.items():
        if zone not in prices:
            raise ValueError(f"{where}: zone {zone} has no price")
        for text in ranges:
            match = _SPAN.fullmatch(text)
            if not match:
                raise ValueError(f"{where}: {text!r} is not HH:MM-HH:MM")
            start = int(match.group(1)) * 60 + int(match.group(2))
            end = int(match.group(3)) * 60 + int(match.group(4))
            if not 0 <= start < end <= MINUTES_PER_DAY:
                raise ValueError(f"{where}: {text!r} must run forwards within one day (split ranges at midnight)")
            listed.append(ZoneSpan(start, end, zone))
    listed.sort(key=lambda span: span.start)
    spans: list[ZoneSpan] = []
    cursor = 0
    for span in listed:
        if span.start < cursor:
            raise ValueError(f"{where}: zone hours overlap at minute {span.start}")
        if span.start > cursor:
            spans.append(ZoneSpan(cursor, span.start, base))
        spans.append(span)
        cursor = span.end
    if cursor < MINUTES_PER_DAY:
        spans.append(ZoneSpan(cursor, MINUTES_PER_DAY, base))
    return tuple(spans)
