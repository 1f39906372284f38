"""build_price_source: OFFPEAK_SOURCE picks the source; tariffs, operators and price overrides from the environment."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.clock import ManualClock
from shared.errors import ConfigError
from shared.prices.entsoe_source import EntsoePriceSource
from shared.prices.factory import build_price_source
from shared.prices.feed_source import FeedPriceSource
from shared.prices.pse_rce_source import PseRcePriceSource
from shared.prices.tariff_source import TariffPriceSource
from shared.settings import Settings, load_settings

CLOCK = ManualClock(datetime(2026, 11, 23, 12, tzinfo=UTC))


def settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings({"STATE_DIR": str(tmp_path), "WORKER_AUTH_MODE": "none", **env})


def test_the_default_is_the_tauron_g12w_tariff(tmp_path: Path) -> None:
    source = build_price_source(settings(tmp_path), CLOCK)
    assert isinstance(source, TariffPriceSource)
    assert (source.tariff.operator, source.tariff.name, source.currency) == ("tauron", "G12w", "PLN")


def test_price_overrides_from_the_environment_reach_the_tariff(tmp_path: Path) -> None:
    env = {
        "OFFPEAK_TARIFF": "G12",
        "OFFPEAK_OPERATOR": "pge",
        "OFFPEAK_PRICE_OFFPEAK": "0.61",
        "OFFPEAK_PRICE_PEAK": "1.3",
    }
    source = build_price_source(settings(tmp_path, **env), CLOCK)
    assert isinstance(source, TariffPriceSource)
    assert dict(source.tariff.prices) == {"offpeak": 0.61, "peak": 1.3}


def test_an_override_for_a_zone_the_tariff_lacks_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OFFPEAK_PRICE_MORNING_PEAK names no zone of tauron G12w"):
        build_price_source(settings(tmp_path, OFFPEAK_PRICE_MORNING_PEAK="1.0"), CLOCK)


def test_a_tariff_the_operator_does_not_offer_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OFFPEAK_TARIFF=G13 is not offered by stoen"):
        build_price_source(settings(tmp_path, OFFPEAK_TARIFF="G13", OFFPEAK_OPERATOR="stoen"), CLOCK)


def test_the_feed_wins_when_its_url_is_set(tmp_path: Path) -> None:
    source = build_price_source(settings(tmp_path, OFFPEAK_API_URL="http://127.0.0.1:1/prices"), CLOCK)
    assert isinstance(source, FeedPriceSource)


def test_pse_rce_is_the_day_ahead_source(tmp_path: Path) -> None:
    source = build_price_source(settings(tmp_path, OFFPEAK_SOURCE="pse-rce"), CLOCK)
    assert isinstance(source, PseRcePriceSource) and source.currency == "PLN"


def test_entsoe_is_the_day_ahead_source_of_the_configured_zone(tmp_path: Path) -> None:
    env = {"OFFPEAK_SOURCE": "entsoe", "ENTSOE_API_TOKEN": "a-token-value-of-some-length", "ENTSOE_AREA": "LT"}
    source = build_price_source(settings(tmp_path, **env), CLOCK)
    assert isinstance(source, EntsoePriceSource) and source.currency == "EUR"
    converting = build_price_source(settings(tmp_path, **env, OFFPEAK_EUR_PLN="4.25"), CLOCK)
    assert isinstance(converting, EntsoePriceSource) and converting.currency == "PLN"
    with pytest.raises(ConfigError, match="ENTSOE_API_TOKEN is required when OFFPEAK_SOURCE=entsoe"):
        settings(tmp_path, OFFPEAK_SOURCE="entsoe")
