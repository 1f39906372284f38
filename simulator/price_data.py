"""The simulation's electricity prices: the G12w tariff, or a real Polish day-ahead series served as the price feed.

The day-ahead series (simulator/data, see its README) reach the worker the way a user's feed would:
as the contract's section-7 JSON at OFFPEAK_API_URL, from an extra in-process host. The feed only
shows what was published by the virtual now — day D+1 from 14:00 on day D (assumption: TGE's
Fixing I is out around noon, PSE's RCE around 14:00) — so the planner never sees further ahead
than it could in production.

A price set `tge+tauron:G12w` is the TGE series with OFFPEAK_DISTRIBUTION=tauron:G12w: the feed
still serves the net energy price, the worker adds the distribution zones, charges, the seller's
margin, excise and VAT itself, and the simulation prices the energy it counts with the very same
model (`owner_prices`), so planned and alternative costs are in the price the planner optimised.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from shared.clock import Clock
from shared.domain.prices import PriceInterval
from shared.domain.tariffs import load_tariff
from shared.prices.factory import owner_price
from shared.settings import Settings

DATA = Path(__file__).resolve().parent / "data"
SERIES = {
    "tge": DATA / "pl_tge_fixing1_hourly_2026-01-01_2026-03-08.csv",
    "rce": DATA / "pl_pse_rce_2026-01-01_2026-03-31_NEGATIVES_CLAMPED_TO_0.csv",
}
DESCRIPTIONS = {
    "g12w": "Tauron G12w tariff (built-in, indicative gross PLN/kWh)",
    "tge": "TGE Fixing I day-ahead, hourly (net wholesale PLN/kWh)",
    "rce": "PSE RCE, 15-minute (net wholesale PLN/kWh, negatives clamped to 0)",
}
ENERGY_SOURCES = ("g12w", *SERIES)
FEED_HOST = "prices.local"
FEED_URL = f"http://{FEED_HOST}/prices"
PUBLISHED_AT = time(14, 0)  # local time the next day's prices are known (assumption, see module doc)


class PriceDataError(ValueError):
    """The chosen series does not cover the simulated period, or the price set is not one the simulation knows."""


@dataclass(frozen=True)
class PriceSet:
    """A price set of the simulation: an energy source, and the distribution tariff the owner pays on top, if any."""

    name: str
    energy: str  # g12w | tge | rce
    distribution: str | None  # OFFPEAK_DISTRIBUTION (operator:tariff), only on a day-ahead series

    @property
    def feed(self) -> bool:
        """True when the worker reads this set's energy prices from the simulated feed."""
        return self.energy in SERIES


def price_set(name: str) -> PriceSet:
    """`tge`, `rce+tauron:G12w`, ... as a PriceSet; PriceDataError for anything else."""
    energy, plus, distribution = name.partition("+")
    if energy not in ENERGY_SOURCES or (plus and (not distribution or energy not in SERIES)):
        raise PriceDataError(
            f"unknown price set {name!r}: an energy source ({', '.join(ENERGY_SOURCES)}), and on a day-ahead "
            "series optionally +operator:tariff, e.g. tge+tauron:G12w"
        )
    return PriceSet(name, energy, distribution or None)


def describe(name: str) -> str:
    """One line on what a price set's prices are."""
    chosen = price_set(name)
    if chosen.distribution is None:
        return DESCRIPTIONS[chosen.energy]
    energy = DESCRIPTIONS[chosen.energy].split(" (", 1)[0]
    return (
        f"{energy} + {chosen.distribution} distribution, charges, seller's margin and VAT "
        f"(OFFPEAK_DISTRIBUTION={chosen.distribution}; gross PLN/kWh, what the owner pays)"
    )


def owner_prices(energy: Sequence[PriceInterval], settings: Settings) -> list[PriceInterval]:
    """The prices the worker's planner optimises: with OFFPEAK_DISTRIBUTION, its owner-price model over `energy`."""
    if settings.offpeak_distribution is None:
        return list(energy)
    # The same function the worker's price source factory builds its model with (shared/prices/factory.py).
    return owner_price(settings).apply(energy)


def load_series(name: str) -> list[PriceInterval]:
    """A bundled CSV series in PLN/kWh, in order."""
    path = SERIES[name]
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            PriceInterval(_utc(row["start_utc"]), _utc(row["end_utc"]), float(row["price_pln_per_mwh"]) / 1000.0)
            for row in csv.DictReader(handle)
        ]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def prices_for(name: str, start: datetime, end: datetime, timezone: tzinfo) -> list[PriceInterval]:
    """Contiguous energy prices covering [start, end) from the named source or set; PriceDataError when they do not."""
    name = price_set(name).energy
    if name == "g12w":
        return load_tariff("tauron", "G12w").price_intervals(start, end, timezone)
    series = [i for i in load_series(name) if i.end > start and i.start < end]
    if not series or series[0].start > start or series[-1].end < end:
        first, last = load_series(name)[0].start, load_series(name)[-1].end
        raise PriceDataError(
            f"the {name} series covers {first.isoformat()} to {last.isoformat()}; the simulation needs "
            f"{start.isoformat()} to {end.isoformat()} (pick a start date inside it)"
        )
    for before, after in zip(series, series[1:], strict=False):
        if after.start != before.end:
            raise PriceDataError(f"the {name} series has a gap at {before.end.isoformat()}")
    return series


def published_until(now: datetime, timezone: tzinfo) -> datetime:
    """End of the last delivery day whose prices are public at `now`."""
    local = now.astimezone(timezone)
    days_ahead = 2 if local.time() >= PUBLISHED_AT else 1
    return datetime.combine(local.date() + timedelta(days=days_ahead), time(0), tzinfo=timezone).astimezone(UTC)


def feed_app(series: list[PriceInterval], clock: Clock, timezone: tzinfo) -> Callable[..., Iterable[bytes]]:
    """A WSGI app answering GET /prices with the contract's feed JSON, as published by the virtual now."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        now = clock.now()
        until = published_until(now, timezone)
        since = now - timedelta(days=1)
        prices = [
            {"start": i.start.isoformat(), "end": i.end.isoformat(), "price_per_kwh": round(i.price_per_kwh, 5)}
            for i in series
            if i.start < until and i.end > since
        ]
        body = json.dumps({"currency": "PLN", "prices": prices}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return app
