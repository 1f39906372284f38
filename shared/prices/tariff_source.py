"""The built-in time-of-use tariffs (OFFPEAK_TARIFF, OFFPEAK_OPERATOR) as a PriceSource."""

from __future__ import annotations

from datetime import datetime, tzinfo

from shared.domain.prices import PriceInterval
from shared.domain.tariffs import Tariff


class TariffPriceSource:
    """Prices from a tariff's zone hours on the household's wall clock; needs no network."""

    def __init__(self, tariff: Tariff, timezone: tzinfo) -> None:
        self.tariff = tariff
        self.timezone = timezone
        self.currency = tariff.currency

    def prices(self, start: datetime, end: datetime) -> list[PriceInterval]:
        """Contiguous intervals covering [start, end), split at every zone change."""
        return self.tariff.price_intervals(start, end, self.timezone)
