"""The price the owner pays: energy + margin + the zone's network rate + charges, then VAT; the planner optimises it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.clock import ManualClock
from shared.domain.owner_price import OwnerPrice
from shared.domain.planner import plan_cheapest_charging
from shared.domain.prices import PriceInterval
from shared.domain.tariffs import OPERATORS, available_tariffs
from shared.domain.tariffs.distribution import charges, network_tariff
from shared.errors import ConfigError
from shared.prices.factory import build_price_source
from shared.prices.owner_price_source import OwnerPriceSource
from shared.settings import Settings, load_settings

WARSAW = ZoneInfo("Europe/Warsaw")
# Tauron G12w 2026 network rates and the 2026 charges, written out here from the sources (not read from the files).
PEAK, OFFPEAK = 0.3298, 0.0512
CHARGES_JAN, CHARGES_FEB = 0.0331 + 0.0073 + 0.0030 + 0.0050, 0.0332 + 0.0073 + 0.0030 + 0.0050


def local(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WARSAW)


def model(margin: float = 0.05, operator: str = "tauron", tariff: str = "G12w") -> OwnerPrice:
    data = charges()
    return OwnerPrice(network_tariff(operator, tariff), data.rates, margin, data.vat, WARSAW)


def hourly(start: datetime, prices: list[float]) -> list[PriceInterval]:
    return [PriceInterval(start + timedelta(hours=i), start + timedelta(hours=i + 1), p) for i, p in enumerate(prices)]


def test_the_gross_price_is_the_sum_then_vat_by_zone() -> None:
    energy = hourly(local(1, 14, 21), [0.40, 0.40])  # a Wednesday: 21-22 peak, 22-23 off-peak
    priced = model().apply(energy)
    assert priced[0].price_per_kwh == pytest.approx((0.40 + 0.05 + PEAK + CHARGES_JAN) * 1.23)
    assert priced[1].price_per_kwh == pytest.approx((0.40 + 0.05 + OFFPEAK + CHARGES_JAN) * 1.23)
    saturday = model().apply(hourly(local(1, 17, 12), [0.40]))  # G12w: weekends off-peak all day
    assert saturday[0].price_per_kwh == pytest.approx((0.40 + 0.05 + OFFPEAK + CHARGES_JAN) * 1.23)


def test_an_interval_is_split_where_the_zone_or_a_charge_changes() -> None:
    two_hours = [PriceInterval(local(1, 14, 12), local(1, 14, 14), 0.3)]  # G12w: 13:00 starts the off-peak
    pieces = model().apply(two_hours)
    assert [(p.start, p.end) for p in pieces] == [
        (local(1, 14, 12), local(1, 14, 13)),
        (local(1, 14, 13), local(1, 14, 14)),
    ]
    assert pieces[0].price_per_kwh > pieces[1].price_per_kwh
    # The quality rate goes from 0.0331 to 0.0332 on 2026-02-01 at local midnight (a Sunday: off-peak all day).
    night = model().apply([PriceInterval(local(1, 31, 23), local(2, 1, 1), 0.3)])
    assert [p.start for p in night] == [local(1, 31, 23), local(2, 1)]
    assert night[1].price_per_kwh - night[0].price_per_kwh == pytest.approx((CHARGES_FEB - CHARGES_JAN) * 1.23)


def test_gaps_stay_gaps_and_nothing_in_gives_nothing_out() -> None:
    energy = hourly(local(1, 14, 22), [0.3]) + hourly(local(1, 15, 2), [0.3])
    priced = model().apply(energy)
    assert [(p.start, p.end) for p in priced] == [(i.start, i.end) for i in energy]
    assert model().apply([]) == []


def test_the_planner_weighs_the_network_rate_not_just_the_energy_price() -> None:
    # Energy 0.10 PLN/kWh cheaper in the evening peak than after 22:00, but the network rate is
    # 0.2786 higher there: the owner pays less after 22:00, and that is where the plan goes.
    energy = hourly(local(1, 14, 19), [0.30, 0.30, 0.30, 0.40, 0.40, 0.40])
    common: dict[str, Any] = {
        "current_soc": 50,
        "target_soc": 100,  # 33 kWh at 11 kW: three hours
        "battery_kwh": 66,
        "charger_kw": 11,
        "efficiency": 1.0,
        "now": local(1, 14, 19),
        "deadline": local(1, 15, 1),
        "currency": "PLN",
        "timezone": WARSAW,
    }
    energy_only = plan_cheapest_charging(prices=energy, **common)
    owner = plan_cheapest_charging(prices=model().apply(energy), **common)
    assert energy_only.charging_end == local(1, 14, 22)
    assert owner.charging_start == local(1, 14, 22) and owner.charging_end == local(1, 15, 1)
    assert owner.estimated_cost == pytest.approx(round(33 * (0.40 + 0.05 + OFFPEAK + CHARGES_JAN) * 1.23, 2))


def test_a_margin_never_moves_the_plan_only_its_cost() -> None:
    energy = hourly(local(1, 14, 18), [0.5, 0.2, 0.6, 0.1, 0.3, 0.3, 0.2, 0.4])
    args: dict[str, Any] = {
        "current_soc": 40,
        "target_soc": 80,
        "battery_kwh": 60,
        "charger_kw": 7,
        "efficiency": 0.9,
        "now": local(1, 14, 18),
        "deadline": local(1, 15, 2),
        "currency": "PLN",
        "timezone": WARSAW,
        "max_windows": 2,
    }
    low = plan_cheapest_charging(prices=model(margin=0.0).apply(energy), **args)
    high = plan_cheapest_charging(prices=model(margin=0.2).apply(energy), **args)
    assert low.windows == high.windows
    assert high.estimated_cost - low.estimated_cost == pytest.approx(high.energy_kwh * 0.2 * 1.23, abs=0.011)


@pytest.mark.parametrize("operator", OPERATORS)
def test_every_shipped_tariff_has_network_rates_for_its_zones_with_sources(operator: str) -> None:
    for tariff in available_tariffs(operator):
        rates = network_tariff(operator, tariff).prices  # raises if the zones differ from the zone-hours file
        assert all(0 < rate < 1 for rate in rates.values())
    document = json.loads(
        resources.files("shared.domain.tariffs").joinpath("data", "distribution", f"{operator}.json").read_text()
    )
    assert document["valid_from"] == "2026-01-01" and "URE" in document["sources"]["network_rates"]
    for tariff, note in document["estimates"].items():
        assert note.startswith("ESTIMATE") and tariff in document["network_rates"]


def test_the_estimates_are_marked_and_the_charges_sourced() -> None:
    stoen = json.loads(
        resources.files("shared.domain.tariffs").joinpath("data", "distribution", "stoen.json").read_text()
    )
    assert set(stoen["estimates"]) == {"G12w"}  # no published Stoen G12w rate was found
    document = json.loads(
        resources.files("shared.domain.tariffs").joinpath("data", "distribution", "charges.json").read_text()
    )
    assert all(entry["source"] for entry in document["charges"].values())
    assert document["seller_margin"]["estimate"] is True and charges().default_seller_margin == 0.05
    assert charges().vat == 0.23


def settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings({"STATE_DIR": str(tmp_path), "WORKER_AUTH_MODE": "none", **env})


FEED = {"OFFPEAK_API_URL": "http://127.0.0.1:1/prices"}


class EuroFeed:
    currency = "EUR"

    def prices(self, start: datetime, end: datetime) -> list[PriceInterval]:
        return hourly(local(1, 14, 22), [0.1])


def test_the_factory_wraps_the_energy_source_when_distribution_is_set(tmp_path: Path) -> None:
    clock = ManualClock(local(1, 14, 12))
    assert not isinstance(build_price_source(settings(tmp_path, **FEED), clock), OwnerPriceSource)
    source = build_price_source(
        settings(tmp_path, **FEED, OFFPEAK_DISTRIBUTION="pge:g12", OFFPEAK_SELLER_MARGIN="0.08"), clock
    )
    assert isinstance(source, OwnerPriceSource) and source.currency == "PLN"
    assert source.model.network.operator == "pge" and source.model.network.name == "G12"
    assert source.model.seller_margin == 0.08
    default = build_price_source(settings(tmp_path, **FEED, OFFPEAK_DISTRIBUTION="tauron:G12w"), clock)
    assert isinstance(default, OwnerPriceSource) and default.model.seller_margin == 0.05


def test_euro_prices_need_a_rate_before_pln_charges_are_added() -> None:
    with pytest.raises(ConfigError, match="energy prices are in EUR: set OFFPEAK_EUR_PLN"):
        OwnerPriceSource(EuroFeed(), model()).prices(local(1, 14, 22), local(1, 14, 23))
    converted = OwnerPriceSource(EuroFeed(), model(), eur_pln=4.2).prices(local(1, 14, 22), local(1, 14, 23))
    assert converted[0].price_per_kwh == pytest.approx((0.42 + 0.05 + OFFPEAK + CHARGES_JAN) * 1.23)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OFFPEAK_DISTRIBUTION": "tauron:G12w"}, "needs a dynamic energy price"),  # the built-in tariff includes it
        ({**FEED, "OFFPEAK_DISTRIBUTION": "tauron"}, "must be operator:tariff"),
        ({**FEED, "OFFPEAK_DISTRIBUTION": "innogy:G12"}, "must be operator:tariff"),
        ({**FEED, "OFFPEAK_DISTRIBUTION": "tauron:G12", "OFFPEAK_SELLER_MARGIN": "-0.1"}, "OFFPEAK_SELLER_MARGIN"),
        ({**FEED, "OFFPEAK_EUR_PLN": "abc"}, "OFFPEAK_EUR_PLN"),
    ],
)
def test_bad_price_settings_fail_at_start_naming_the_variable(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        settings(tmp_path, **env)


def test_a_tariff_the_operator_does_not_have_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OFFPEAK_DISTRIBUTION=pge:G13: pge has no such tariff"):
        build_price_source(settings(tmp_path, **FEED, OFFPEAK_DISTRIBUTION="pge:G13"), ManualClock(local(1, 14)))
