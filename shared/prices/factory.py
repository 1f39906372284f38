"""Builds the price source the settings ask for (OFFPEAK_SOURCE, OFFPEAK_DISTRIBUTION); one source per planning run."""

from __future__ import annotations

import requests

from shared.clock import Clock
from shared.domain.owner_price import OwnerPrice
from shared.domain.tariffs import load_tariff
from shared.domain.tariffs.distribution import charges, network_tariff, parse_distribution
from shared.errors import ConfigError
from shared.ports import PriceSource
from shared.prices.entsoe_areas import BIDDING_ZONES
from shared.prices.entsoe_source import EntsoePriceSource
from shared.prices.feed_source import FeedPriceSource
from shared.prices.owner_price_source import OwnerPriceSource
from shared.prices.pse_rce_source import PseRcePriceSource
from shared.prices.tariff_source import TariffPriceSource
from shared.settings import Settings


def build_price_source(settings: Settings, clock: Clock, session: requests.Session | None = None) -> PriceSource:
    """The energy source OFFPEAK_SOURCE names, wrapped in the owner's price when OFFPEAK_DISTRIBUTION is set."""
    energy = _energy_source(settings, clock, session)
    if settings.offpeak_distribution is None:
        return energy
    return OwnerPriceSource(energy, owner_price(settings), eur_pln=settings.offpeak_eur_pln)


def owner_price(settings: Settings) -> OwnerPrice:
    """The price model of OFFPEAK_DISTRIBUTION, with OFFPEAK_SELLER_MARGIN or the data's default margin."""
    if settings.offpeak_distribution is None:
        raise ConfigError("OFFPEAK_DISTRIBUTION is not set")
    operator, tariff = parse_distribution(settings.offpeak_distribution)
    data = charges()
    margin = settings.offpeak_seller_margin
    return OwnerPrice(
        network=network_tariff(operator, tariff),
        charges=data.rates,
        seller_margin=data.default_seller_margin if margin is None else margin,
        vat=data.vat,
        timezone=settings.timezone,
    )


def _energy_source(settings: Settings, clock: Clock, session: requests.Session | None) -> PriceSource:
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
        if not settings.entsoe_api_token:
            raise ConfigError("ENTSOE_API_TOKEN is required when OFFPEAK_SOURCE=entsoe")
        names = {code: name for name, code in BIDDING_ZONES.items()}
        return EntsoePriceSource(
            token=settings.entsoe_api_token,
            area=settings.entsoe_area,
            area_name=names.get(settings.entsoe_area),
            eur_pln=settings.offpeak_eur_pln,
            session=session,
        )
    raise ConfigError("OFFPEAK_SOURCE must be one of tariff, feed, pse-rce, entsoe")
