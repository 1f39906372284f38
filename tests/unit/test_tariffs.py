"""Built-in tariffs: every operator's zone hours on a weekday, a Saturday and a holiday, in both seasons.

The expected hours are written out here from FACTS ("Tariffs and planners"), independently of the
data files, and checked through the price intervals the planner receives.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.domain.tariffs import OPERATORS, available_tariffs, is_public_holiday, load_tariff
from shared.errors import ConfigError
from shared.prices.tariff_source import TariffPriceSource

WARSAW = ZoneInfo("Europe/Warsaw")
NIGHT = {22, 23, 0, 1, 2, 3, 4, 5}
ALL_DAY = set(range(24))

# Cheap ("offpeak") hours on a workday, per (operator, tariff) and season; None = same as winter.
WORKDAY_CHEAP: dict[tuple[str, str], dict[str, set[int]]] = {
    ("tauron", "G12"): {"winter": NIGHT | {13, 14}},
    ("pge", "G12"): {"winter": NIGHT | {13, 14}, "summer": NIGHT | {15, 16}},
    ("energa", "G12"): {"winter": NIGHT | {13, 14}},
    ("enea", "G12"): {"winter": NIGHT | {13, 14}},
    ("stoen", "G12"): {"winter": NIGHT | {13, 14}},
    ("tauron", "G12w"): {"winter": NIGHT | {13, 14}},
    ("pge", "G12w"): {"winter": NIGHT | {13, 14}, "summer": NIGHT | {15, 16}},
    ("energa", "G12w"): {"winter": NIGHT | {13, 14}},
    ("enea", "G12w"): {"winter": NIGHT | {21}},
    ("stoen", "G12w"): {"winter": NIGHT},
}
DAYS = {
    ("weekday", "winter"): date(2026, 11, 24),  # Tuesday
    ("weekday", "summer"): date(2026, 6, 16),  # Tuesday
    ("saturday", "winter"): date(2026, 11, 28),
    ("saturday", "summer"): date(2026, 6, 20),
    ("holiday", "winter"): date(2026, 11, 11),  # Wednesday, Independence Day
    ("holiday", "summer"): date(2026, 6, 4),  # Thursday, Corpus Christi
    ("christmas_eve", "winter"): date(2026, 12, 24),  # Thursday, a holiday since 2025
}


def expected_zone(operator: str, tariff: str, kind: str, season: str, hour: int) -> str:
    if tariff == "G11":
        return "flat"
    if tariff == "G13":
        if kind != "weekday":
            return "offpeak"
        afternoon = {19, 20, 21} if season == "summer" else {16, 17, 18, 19, 20}
        return "morning_peak" if 7 <= hour < 13 else "afternoon_peak" if hour in afternoon else "offpeak"
    if tariff == "G12w" and kind != "weekday":
        return "offpeak"  # Saturdays, Sundays and holidays are cheap all day
    seasons = WORKDAY_CHEAP[(operator, tariff)]
    cheap = seasons.get(season, seasons["winter"])
    return "offpeak" if hour in cheap else "peak"


CASES = [
    (operator, tariff, kind, season)
    for operator in OPERATORS
    for tariff in available_tariffs(operator)
    for kind, season in DAYS
]


@pytest.mark.parametrize(("operator", "tariff", "kind", "season"), CASES)
def test_zone_hours_through_the_price_source(operator: str, tariff: str, kind: str, season: str) -> None:
    zones = load_tariff(operator, tariff).prices
    distinct = {zone: float(i + 1) for i, zone in enumerate(sorted(zones))}  # one price per zone, to tell them apart
    source = TariffPriceSource(load_tariff(operator, tariff, distinct), WARSAW)
    day = DAYS[(kind, season)]
    start = datetime(day.year, day.month, day.day, tzinfo=WARSAW)
    intervals = source.prices(start, start + timedelta(days=1))
    assert intervals[0].start == start and intervals[-1].end == start + timedelta(days=1)
    assert all(a.end == b.start for a, b in zip(intervals, intervals[1:], strict=False))
    for hour in range(24):
        for minute in (0, 59):  # both sides of every possible boundary: zones change on the hour
            moment = start.replace(hour=hour, minute=minute)
            price = next(i.price_per_kwh for i in intervals if i.start <= moment < i.end)
            assert price == distinct[expected_zone(operator, tariff, kind, season, hour)], f"{moment:%H:%M}"


def test_boundaries_fall_exactly_on_the_wall_clock_hours() -> None:
    tariff = load_tariff("tauron", "G12")
    start = datetime(2026, 11, 24, tzinfo=WARSAW)
    bounds = [
        i.start.astimezone(WARSAW).strftime("%H:%M")
        for i in tariff.price_intervals(start, start + timedelta(days=1), WARSAW)
    ]
    assert bounds == ["00:00", "06:00", "13:00", "15:00", "22:00"]


@pytest.mark.parametrize(
    ("day", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 11, 24), 24)]
)
@pytest.mark.parametrize(("operator", "tariff"), [(o, t) for o in OPERATORS for t in available_tariffs(o)])
def test_a_day_of_intervals_lasts_its_real_length(operator: str, tariff: str, day: date, hours: int) -> None:
    start = datetime(day.year, day.month, day.day, tzinfo=WARSAW)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=WARSAW)
    intervals = load_tariff(operator, tariff).price_intervals(start, end, WARSAW)
    total = sum((i.end - i.start for i in intervals), timedelta())
    assert total == timedelta(hours=hours)
    assert intervals[0].start.astimezone(UTC) == start.astimezone(UTC)


def test_partial_ranges_are_clipped_to_what_was_asked() -> None:
    tariff = load_tariff("tauron", "G12w")
    start, end = datetime(2026, 11, 24, 5, 30, tzinfo=WARSAW), datetime(2026, 11, 24, 6, 10, tzinfo=WARSAW)
    intervals = tariff.price_intervals(start, end, WARSAW)
    assert [(i.start, i.end, i.price_per_kwh) for i in intervals] == [
        (start, datetime(2026, 11, 24, 6, tzinfo=WARSAW), tariff.prices["offpeak"]),
        (datetime(2026, 11, 24, 6, tzinfo=WARSAW), end, tariff.prices["peak"]),
    ]


def test_christmas_eve_is_a_holiday_since_2025_in_the_holidays_package() -> None:
    assert is_public_holiday(date(2025, 12, 24)) and is_public_holiday(date(2026, 12, 24))
    assert not is_public_holiday(date(2024, 12, 24))
    assert not is_public_holiday(date(2026, 11, 24))


def test_an_operator_without_the_tariff_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="OFFPEAK_TARIFF=G13 is not offered by pge"):
        load_tariff("pge", "G13")
    with pytest.raises(ConfigError, match="OFFPEAK_OPERATOR"):
        load_tariff("eon", "G12")


def test_price_overrides_replace_defaults_and_unknown_zones_are_refused() -> None:
    tariff = load_tariff("tauron", "g12w", {"offpeak": 0.55})
    assert tariff.name == "G12w" and tariff.prices["offpeak"] == 0.55 and tariff.prices["peak"] == 1.07
    with pytest.raises(ConfigError, match="OFFPEAK_PRICE_NIGHT names no zone of tauron G12w"):
        load_tariff("tauron", "G12w", {"night": 0.5})


def test_every_tariff_file_says_where_its_hours_and_prices_come_from() -> None:
    import json
    from importlib import resources

    for operator in OPERATORS:
        document = json.loads(resources.files("shared.domain.tariffs").joinpath("data", f"{operator}.json").read_text())
        assert document["sources"]["zone_hours"] and document["sources"]["prices"]
        for name in available_tariffs(operator):
            assert all(0 < p < 5 for p in load_tariff(operator, name).prices.values())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.update(base_zone="night"), "base_zone"),
        (lambda t: t["seasons"][0]["workday"].update(offpeak=["22:00-06:00"]), "run forwards within one day"),
        (lambda t: t["seasons"][0]["workday"].update(offpeak=["13:00-15:00", "14:00-16:00"]), "overlap"),
        (lambda t: t["seasons"][0]["workday"].update(cheap=["13:00-15:00"]), "zone cheap has no price"),
        (lambda t: t["seasons"][0].update(months=[1, 2, 3]), "each month exactly once"),
        (lambda t: t["seasons"][0].pop("free_day"), "no free_day hours"),
        (lambda t: t.update(free_days=["friday"]), "free_days"),
        (lambda t: t["prices"].update(peak="1,07"), "not a number"),
    ],
)
def test_a_malformed_tariff_file_is_refused(change: object, message: str) -> None:
    import copy
    import json
    from importlib import resources

    from shared.domain.tariffs.loader import _parse_tariff

    document = json.loads(resources.files("shared.domain.tariffs").joinpath("data", "tauron.json").read_text())
    raw = copy.deepcopy(document["tariffs"]["G12w"])
    change(raw)  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        _parse_tariff("tauron", "G12w", raw)


def test_a_zone_change_inside_the_skipped_spring_hour_happens_at_the_change() -> None:
    from shared.domain.tariffs import Season, Tariff, ZoneSpan

    spans = (ZoneSpan(0, 150, "night"), ZoneSpan(150, 1440, "day"))  # change at 02:30, which 2026-03-29 skips
    tariff = Tariff(
        "test", "X", {"night": 0.1, "day": 0.9}, frozenset(), (Season("all", frozenset(range(1, 13)), spans, spans),)
    )
    start = datetime(2026, 3, 29, tzinfo=WARSAW)
    first, second = tariff.price_intervals(start, start + timedelta(hours=5), WARSAW)
    assert first.end == second.start == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST, the moment of the jump
    assert (first.price_per_kwh, second.price_per_kwh) == (0.1, 0.9)
