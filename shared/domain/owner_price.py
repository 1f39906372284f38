"""The price the owner pays per kWh on a dynamic contract, built from an energy price and the distribution tariff.

gross = (energy + seller's margin + network rate of the zone + quality + OZE + cogeneration + excise) x (1 + VAT)

The energy price comes from a source (the JSON feed, PSE RCE, ENTSO-E) in PLN per kWh, net. The
network rate depends on the zone of the owner's G-tariff at that moment (zone hours on the
household's wall clock), so an energy interval is split where the zone changes, and where a charge
changes its value. Every other term is the same for every kWh: it moves the cost, never the
choice of hours. Monthly amounts (capacity charge, fixed network charge, subscription, trading
fee) do not depend on when the car charges and are left out. Pure: no clock, no network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo

from shared.domain.prices import PriceInterval
from shared.domain.tariffs.distribution import DatedRate
from shared.domain.tariffs.model import Tariff


@dataclass(frozen=True)
class OwnerPrice:
    """Energy price + margin + the zone's network rate + per-kWh charges, then VAT; all PLN/kWh."""

    network: Tariff  # the G-tariff's zones, each priced at its network rate
    charges: Mapping[str, Sequence[DatedRate]]  # per-kWh net charges by name, each dated
    seller_margin: float
    vat: float
    timezone: tzinfo

    def describe(self) -> str:
        """A short human description for logs and reports."""
        return (
            f"energy + margin {self.seller_margin:g} + {self.network.operator} {self.network.name} network rate"
            f" + {' + '.join(self.charges)}, + VAT {self.vat:.0%}"
        )

    def gross(self, energy: float, network_rate: float, day: date) -> float:
        """The gross price of one kWh on a local day, given its net energy price and network rate."""
        charges = sum(_in_force(rates, day) for rates in self.charges.values())
        return (energy + self.seller_margin + network_rate + charges) * (1 + self.vat)

    def apply(self, energy: Sequence[PriceInterval]) -> list[PriceInterval]:
        """The energy intervals, split at zone and charge changes, priced at what the owner pays; gaps stay gaps."""
        if not energy:
            return []
        start, end = energy[0].start, max(interval.end for interval in energy)
        zones = self.network.price_intervals(start, end, self.timezone)
        cuts = self._charge_changes(start, end)
        out: list[PriceInterval] = []
        zone_index = 0
        for interval in energy:
            cursor = interval.start
            while cursor < interval.end:
                while zones[zone_index].end <= cursor:
                    zone_index += 1
                zone = zones[zone_index]
                stop = min([interval.end, zone.end] + [cut for cut in cuts if cut > cursor])
                day = cursor.astimezone(self.timezone).date()
                out.append(PriceInterval(cursor, stop, self.gross(interval.price_per_kwh, zone.price_per_kwh, day)))
                cursor = stop
        return out

    def _charge_changes(self, start: datetime, end: datetime) -> list[datetime]:
        """The instants in [start, end) where a charge takes a new value: local midnights of its dates."""
        instants = set()
        for rates in self.charges.values():
            for rate in rates:
                instant = datetime.combine(rate.start, time(), self.timezone).astimezone(UTC)
                if start < instant < end:
                    instants.add(instant)
        return sorted(instants)


def _in_force(rates: Sequence[DatedRate], day: date) -> float:
    """The value in force on a day; before the first date the first value (the data's earliest figure)."""
    value = rates[0].value
    for rate in rates:
        if rate.start <= day:
            value = rate.value
    return value
