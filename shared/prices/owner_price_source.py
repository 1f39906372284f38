"""OFFPEAK_DISTRIBUTION: any energy price source turned into the price the owner pays, which the planner then optimises."""

from __future__ import annotations

from datetime import datetime

from shared.domain.owner_price import OwnerPrice
from shared.domain.prices import PriceInterval
from shared.errors import ConfigError
from shared.ports import PriceSource


class OwnerPriceSource:
    """PriceSource: the energy source's net prices plus margin, distribution zone rate, charges and VAT, in PLN."""

    currency = "PLN"

    def __init__(self, energy: PriceSource, model: OwnerPrice, *, eur_pln: float | None = None) -> None:
        self.energy = energy
        self.model = model
        self._eur_pln = eur_pln

    def prices(self, start: datetime, end: datetime) -> list[PriceInterval]:
        """The energy intervals overlapping [start, end), split at zone changes and priced gross."""
        intervals = self.energy.prices(start, end)
        currency = self.energy.currency
        if currency == "EUR" and self._eur_pln:
            intervals = [PriceInterval(i.start, i.end, i.price_per_kwh * self._eur_pln) for i in intervals]
        elif currency != "PLN":
            raise ConfigError(
                f"OFFPEAK_DISTRIBUTION adds PLN charges, but the energy prices are in {currency}: set OFFPEAK_EUR_PLN"
            )
        return self.model.apply(intervals)
