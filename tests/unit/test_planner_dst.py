"""Real elapsed time on the daylight-saving nights of Europe/Warsaw (23 h and 25 h) and across the year end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.domain.planner import Plan, plan_cheapest_charging
from shared.domain.prices import PriceInterval
from shared.domain.tariffs import load_tariff

WARSAW = ZoneInfo("Europe/Warsaw")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WARSAW)


def flat(start: datetime, end: datetime, price: float = 0.5) -> list[PriceInterval]:
    return [PriceInterval(start, end, price)]


def plan(prices: list[PriceInterval], now: datetime, deadline: datetime, minutes: int, **kw: object) -> Plan:
    """A plan needing exactly `minutes` at 6 kW (battery 100 kWh, efficiency 1: 1 % = 10 minutes)."""
    target = 20 + minutes / 10
    return plan_cheapest_charging(
        current_soc=20,
        target_soc=target,
        battery_kwh=100,
        charger_kw=6,
        efficiency=1.0,
        now=now,
        deadline=deadline,
        prices=prices,
        currency="PLN",
        timezone=WARSAW,
        **kw,  # type: ignore[arg-type]
    )


def test_the_spring_night_has_23_hours() -> None:
    # Sat 2026-03-28 22:00 CET to Sun 06:00 CEST: 8 hours on the wall clock, 7 real hours.
    now, deadline = local(2026, 3, 28, 22), local(2026, 3, 29, 6)
    assert deadline - now == timedelta(hours=8)  # Python's wall-clock subtraction in one zone...
    assert deadline.astimezone(UTC) - now.astimezone(UTC) == timedelta(hours=7)  # ...and the real length
    prices = flat(now, deadline)
    fits = plan(prices, now, deadline, 7 * 60)
    assert fits.feasible and fits.windows[0].start == now and fits.charging_end == deadline
    too_long = plan(prices, now, deadline, 7 * 60 + 30)
    assert not too_long.feasible and too_long.minutes == 7 * 60
    six = plan(prices, now, deadline, 6 * 60)
    assert six.charging_start == local(2026, 3, 28, 23)  # 6 real hours before 06:00 CEST is 23:00 CET
    assert six.to_dict()["charging_start"] == "2026-03-28T23:00:00+01:00"
    assert six.to_dict()["charging_end"] == "2026-03-29T06:00:00+02:00"


def test_the_autumn_night_has_25_hours() -> None:
    # Sat 2026-10-24 22:00 CEST to Sun 06:00 CET: 8 wall-clock hours, 9 real hours.
    now, deadline = local(2026, 10, 24, 22), local(2026, 10, 25, 6)
    assert deadline.astimezone(UTC) - now.astimezone(UTC) == timedelta(hours=9)
    prices = flat(now, deadline)
    p = plan(prices, now, deadline, 8 * 60 + 30)
    assert p.feasible and p.charging_start == local(2026, 10, 24, 22, 30) and p.charging_end == deadline
    assert plan(prices, now, deadline, 9 * 60).feasible
    assert not plan(prices, now, deadline, 9 * 60 + 1).feasible


@pytest.mark.parametrize(("evening", "night_hours"), [((2026, 3, 27), 7), ((2026, 10, 23), 9)])
def test_a_cheap_hour_inside_the_changed_night_is_found_in_real_time(
    evening: tuple[int, int, int], night_hours: int
) -> None:
    """Hourly feed in UTC over the night; the cheapest hour is the real 3rd hour after midnight UTC."""
    start = local(*evening, 22) + timedelta(days=1)
    hours = [(start.astimezone(UTC) + timedelta(hours=i)) for i in range(night_hours + 1)]
    end = hours[-1]
    prices = [
        PriceInterval(a, b, 0.1 if i == 3 else 0.6) for i, (a, b) in enumerate(zip(hours, hours[1:], strict=False))
    ]
    p = plan(prices, start, end, 60)
    assert p.windows[0].start == hours[3] and p.windows[0].end == hours[4]


@pytest.mark.parametrize("day", [(2026, 3, 29), (2026, 10, 25)])
def test_g12_night_zones_have_their_real_length_on_the_changed_nights(day: tuple[int, int, int]) -> None:
    tariff = load_tariff("tauron", "G12")
    evening = local(*day, 0) - timedelta(hours=2)  # 22:00 the evening before
    intervals = tariff.price_intervals(evening, local(*day, 6), WARSAW)
    assert len(intervals) == 1 and intervals[0].price_per_kwh == tariff.prices["offpeak"]
    real = intervals[0].end - intervals[0].start
    assert real == (timedelta(hours=7) if day[1] == 3 else timedelta(hours=9))


def test_a_night_across_the_year_end_reaches_the_new_year_holiday() -> None:
    tariff = load_tariff("tauron", "G12w")
    now, deadline = local(2026, 12, 31, 18), local(2027, 1, 1, 6)  # Thursday evening into New Year's Day
    p = plan(tariff.price_intervals(now, deadline, WARSAW), now, deadline, 300)
    assert p.charging_end == deadline and p.charging_start == local(2027, 1, 1, 1)
    assert p.to_dict()["charging_end"] == "2027-01-01T06:00:00+01:00"
    # New Year's Day is a holiday: the cheap zone runs on past 06:00 all day.
    day = tariff.price_intervals(local(2027, 1, 1, 0), local(2027, 1, 2, 0), WARSAW)
    assert [i.price_per_kwh for i in day] == [tariff.prices["offpeak"]]
