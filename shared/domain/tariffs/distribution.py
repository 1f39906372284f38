"""Reads the distribution data (`data/distribution/`): each operator's network rate per tariff zone, and the charges.

The zone hours are not repeated here: a distribution tariff is the operator's time-of-use tariff from
`data/<operator>.json` with each zone priced at its network rate, so the hours can never disagree.
A malformed file is a bug in the project (ValueError); a setting naming something that does not
exist raises ConfigError naming the variable.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

from shared.domain.tariffs.loader import OPERATORS, load_tariff
from shared.domain.tariffs.model import Tariff
from shared.errors import ConfigError

CHARGE_NAMES = ("quality", "oze", "cogeneration", "excise")


@dataclass(frozen=True)
class DatedRate:
    """A per-kWh amount in force from a local calendar day on (until the next one starts)."""

    start: date
    value: float


@dataclass(frozen=True)
class Charges:
    """The per-kWh charges on top of energy and network (net PLN/kWh), VAT, and the default seller's margin."""

    rates: dict[str, tuple[DatedRate, ...]]
    vat: float
    default_seller_margin: float


def parse_distribution(text: str) -> tuple[str, str]:
    """`operator:tariff` (e.g. `tauron:G12w`) as (operator, tariff); ConfigError naming OFFPEAK_DISTRIBUTION."""
    operator, _, tariff = text.strip().partition(":")
    if not operator or not tariff:
        raise ConfigError("OFFPEAK_DISTRIBUTION must be operator:tariff, e.g. tauron:G12w")
    if operator.lower() not in OPERATORS:
        raise ConfigError(f"OFFPEAK_DISTRIBUTION: the operator must be one of {', '.join(OPERATORS)}")
    return operator.lower(), tariff


def network_tariff(operator: str, tariff: str) -> Tariff:
    """The operator's tariff zones, each priced at its 2026 network rate (net PLN/kWh)."""
    rates = _operator_file(operator)["network_rates"]
    by_lower = {name.lower(): name for name in rates}
    if tariff.lower() not in by_lower:
        offered = ", ".join(rates)
        raise ConfigError(f"OFFPEAK_DISTRIBUTION={operator}:{tariff}: {operator} has no such tariff (it has {offered})")
    name = by_lower[tariff.lower()]
    zones = load_tariff(operator, name).prices
    if set(rates[name]) != set(zones):
        raise ValueError(f"distribution file {operator}.json, {name}: zones {sorted(rates[name])} != {sorted(zones)}")
    return load_tariff(operator, name, rates[name])


@lru_cache(maxsize=1)
def charges() -> Charges:
    """The charges file, checked: every charge dated and finite, VAT and margin plausible."""
    document = _read("charges.json")
    rates: dict[str, tuple[DatedRate, ...]] = {}
    for name in CHARGE_NAMES:
        values = document["charges"][name]["values"]
        dated = tuple(
            DatedRate(date.fromisoformat(v["from"]), _number(f"charges.json {name}", v["value"])) for v in values
        )
        if not dated or list(dated) != sorted(dated, key=lambda rate: rate.start):
            raise ValueError(f"charges.json {name}: values must be dated and in order")
        rates[name] = dated
    vat = _number("charges.json vat", document["vat"]["value"])
    margin = _number("charges.json seller_margin", document["seller_margin"]["value"])
    if not 0 <= vat < 1 or not 0 <= margin < 1:
        raise ValueError("charges.json: VAT or the seller's margin is out of range")
    return Charges(rates, vat, margin)


@lru_cache(maxsize=len(OPERATORS))
def _operator_file(operator: str) -> dict[str, Any]:
    document = _read(f"{operator}.json")
    if document.get("operator") != operator or not isinstance(document.get("network_rates"), dict):
        raise ValueError(f"distribution file {operator}.json: missing `operator` or `network_rates`")
    for tariff, zones in document["network_rates"].items():
        for zone, rate in zones.items():
            if not 0 <= _number(f"distribution file {operator}.json {tariff} {zone}", rate) < 2:
                raise ValueError(f"distribution file {operator}.json {tariff} {zone}: rate out of range")
    return document  # type: ignore[no-any-return]


def _read(name: str) -> dict[str, Any]:
    path = resources.files("shared.domain.tariffs").joinpath("data", "distribution", name)
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _number(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where}: not a number")
    return float(value)
