"""Builds the price source the settings ask for (OFFPEAK_SOURCE); one source per planning run."""

from __future__ import annotations

import requests

from shared.clock import Clock
from shared.domain.tariffs import load_tariff
from shared.errors import ConfigError
from shared.ports import PriceSource
from shared.prices.feed_source import FeedPriceSource
from shared.prices.pse_rce_source import PseRcePriceSource
from shared.prices.tariff_source import TariffPriceSource
from shared.settings import Settings


def build_price_source(settings: Settings, clock: Clock, session: requests.Session | None = None) -> PriceSource:
    """The tariff, the JSON feed or PSE's RCE prices, as OFFPEAK_SOURCE says; ConfigError when unusable."""
    source = settings.offpeak_source
    if source == "tariff":
        tariff = load_tariff(settings.offpeak_operator, settings.offpeak_tariff, settings.tariff_price_overrides)
        return TariffPriceSource(tariff, settings.timezone)
    if source == "feed":
        if not settings.offpeak_api_url:
            raise ConfigError("OFFPEAK_API_URL is required when OFFPEAK_SOURCE=feed")
        return FeedPriceSource(settings.offpeak_api_url, session=session)
    if source == "pse-rce":
        return PseRcePriceSource(clock=clock, session=session)
    if source == "entsoe":
        raise ConfigError("OFFPEAK_SOURCE=entsoe is not available yet; use pse-rce, feed or tariff")
    raise ConfigError("OFFPEAK_SOURCE must be one of tariff, feed, pse-rce")
