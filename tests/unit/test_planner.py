"""The planner's promises: cheapest, latest on ties, as much as fits, never in a gap, the contract's plan record."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.domain.planner import Plan, energy_needed_kwh, plan_cheapest_charging
from shared.domain.prices import PriceInterval
from shared.domain.tariffs import load_tariff

WARSAW = ZoneInfo("Europe/Warsaw")
MODEL = {"battery_kwh": 75.0, "charger_kw": 11.0, "efficiency": 0.9}


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WARSAW)


def plan(prices: list[PriceInterval], now: datetime, deadline: datetime, **kw: object) -> Plan:
    args: dict[str, object] = {"current_soc": 40, "target_soc": 80, **MODEL, "currency": "PLN", "timezone": WARSAW}
    args.update(kw)
    return plan_cheapest_charging(now=now, deadline=deadline, prices=prices, **args)  # type: ignore[arg-type]


def hourly(start: datetime, prices: list[float]) -> list[PriceInterval]:
    return [PriceInterval(start + timedelta(hours=i), start + timedelta(hours=i + 1), p) for i, p in enumerate(prices)]


def test_energy_and_minutes_follow_the_energy_model() -> None:
    # (80 - 40)/100 x 75 kWh / 0.9 = 33.333 kWh from the grid; at 11 kW that is 181.8 -> 182 minutes.
    assert energy_needed_kwh(40, 80, 75, 0.9) == pytest.approx(33.3333, abs=1e-4)
    p = plan(hourly(local(2026, 11, 23, 20), [0.5] * 10), local(2026, 11, 23, 20), local(2026, 11, 24, 6))
    assert p.minutes == 182 and p.energy_kwh == pytest.approx(33.333) and p.feasible


def test_flat_prices_end_exactly_at_the_deadline() -> None:
    now, deadline = local(2026, 11, 23, 20, 7), local(2026, 11, 24, 6)
    p = plan(hourly(local(2026, 11, 23, 20), [0.5] * 10), now, deadline)
    assert p.charging_end == deadline
    assert p.charging_start == deadline - timedelta(minutes=182)
    assert p.estimated_cost == pytest.approx(round(33.3333 * 0.5, 2))


def test_the_cheapest_hours_win_over_later_dearer_ones() -> None:
    prices = hourly(local(2026, 11, 23, 20), [0.9, 0.9, 0.2, 0.2, 0.2, 0.2, 0.9, 0.9, 0.9, 0.9])
    p = plan(prices, local(2026, 11, 23, 20), local(2026, 11, 24, 6))
    # 182 minutes inside the four cheap hours (22:00-02:00), as late as they allow.
    assert p.charging_end == local(2026, 11, 24, 2) and p.charging_start == local(2026, 11, 24, 2) - timedelta(
        minutes=182
    )


def test_an_unmeetable_need_charges_all_that_fits_and_says_so() -> None:
    now, deadline = local(2026, 11, 23, 23), local(2026, 11, 24, 1)
    p = plan(hourly(local(2026, 11, 23, 23), [0.5, 0.4]), now, deadline, current_soc=10, target_soc=100)
    assert not p.feasible
    assert p.windows[0].start == now and p.charging_end == deadline
    assert p.minutes == 120 and p.energy_kwh == pytest.approx(22.0)
    assert p.energy_needed_kwh == pytest.approx(75.0)
    assert p.to_dict()["feasible"] is False


def test_time_missing_from_the_feed_is_never_used() -> None:
    start = local(2026, 11, 23, 22)
    prices = hourly(start, [0.3, 0.3]) + hourly(start + timedelta(hours=3), [0.1, 0.3, 0.3, 0.3])  # 00:00-01:00 missing
    p = plan(prices, start, start + timedelta(hours=7), current_soc=60, target_soc=80)  # 91 minutes
    gap = (local(2026, 11, 24, 0), local(2026, 11, 24, 1))
    assert all(w.end <= gap[0] or w.start >= gap[1] for w in p.windows)
    assert p.windows[0].start == local(2026, 11, 24, 1)  # the 0.1 hour, then the cheapest rest after it


def test_a_gap_can_make_the_plan_infeasible_for_one_window() -> None:
    start = local(2026, 11, 23, 22)
    prices = hourly(start, [0.3, 0.3]) + hourly(start + timedelta(hours=3), [0.3, 0.3])
    p = plan(prices, start, start + timedelta(hours=5), current_soc=20, target_soc=80)  # needs 273 minutes
    assert not p.feasible and p.minutes == 120
    assert p.windows[0].start == local(2026, 11, 24, 1)  # two equally long runs: the later one


def test_two_windows_use_both_cheap_zones_of_g12() -> None:
    tariff = load_tariff("tauron", "G12")
    now, deadline = local(2026, 11, 24, 12), local(2026, 11, 25, 6)  # a Tuesday: cheap 13-15 and 22-6
    prices = tariff.price_intervals(now, deadline, WARSAW)
    slow = {"current_soc": 0, "target_soc": 100, "charger_kw": 9.5}  # 527 minutes: more than the 480 of the night
    one = plan(prices, now, deadline, max_windows=1, **slow)
    two = plan(prices, now, deadline, max_windows=2, **slow)
    assert [(w.start, w.end) for w in one.windows] == [(local(2026, 11, 24, 21, 13), local(2026, 11, 25, 6))]
    assert [(w.start, w.end) for w in two.windows] == [
        (local(2026, 11, 24, 14, 13), local(2026, 11, 24, 15)),
        (local(2026, 11, 24, 22), local(2026, 11, 25, 6)),
    ]
    assert two.estimated_cost < one.estimated_cost


def test_nothing_to_charge_gives_an_empty_feasible_plan() -> None:
    p = plan(
        hourly(local(2026, 11, 23, 20), [0.5] * 10), local(2026, 11, 23, 20), local(2026, 11, 24, 6), current_soc=85
    )
    assert p.feasible and p.windows == () and p.estimated_cost == 0
    d = p.to_dict()
    assert d["charging_start"] is None and d["send_schedule_at"] is None and d["windows"] == []


def test_a_deadline_already_past_gives_an_infeasible_empty_plan() -> None:
    now = local(2026, 11, 24, 6, 30)
    p = plan(hourly(local(2026, 11, 23, 20), [0.5] * 10), now, local(2026, 11, 24, 6))
    assert not p.feasible and p.windows == ()


def test_the_plan_record_has_the_contract_fields_with_local_offsets() -> None:
    now, deadline = local(2026, 11, 23, 20), local(2026, 11, 24, 6)
    d = plan(hourly(now, [0.5] * 10), now, deadline, send_lead_minutes=120).to_dict()
    for key in (
        "windows",
        "charging_start",
        "charging_end",
        "send_schedule_at",
        "energy_kwh",
        "estimated_cost",
        "currency",
        "feasible",
    ):
        assert key in d
    assert d["charging_end"] == "2026-11-24T06:00:00+01:00"
    assert d["charging_start"] == "2026-11-24T02:58:00+01:00"
    assert d["send_schedule_at"] == "2026-11-24T00:58:00+01:00"
    assert d["windows"] == [{"start": d["charging_start"], "end": d["charging_end"]}]
    assert d["currency"] == "PLN" and d["minutes"] == 182 and d["target_soc"] == 80 and d["current_soc"] == 40
    assert d["deadline"] == "2026-11-24T06:00:00+01:00"


def test_the_seed_night_g12w_ends_at_six_and_is_sent_two_hours_before_it_starts() -> None:
    tariff = load_tariff("tauron", "G12w")
    now = local(2026, 11, 23, 19, 12)  # a Monday evening
    deadline = local(2026, 11, 24, 7) - timedelta(minutes=60)
    p = plan(tariff.price_intervals(now, deadline, WARSAW), now, deadline)
    assert p.charging_end == local(2026, 11, 24, 6)
    assert p.send_schedule_at == p.charging_start - timedelta(minutes=120)  # type: ignore[operator]
    assert p.charging_start is not None and p.charging_start >= local(2026, 11, 23, 22)


def test_naive_times_and_impossible_inputs_are_refused() -> None:
    naive = datetime(2026, 11, 23, 20)
    with pytest.raises(ValueError, match="aware"):
        plan([], naive, naive + timedelta(hours=1))
    with pytest.raises(ValueError, match="state of charge"):
        plan([], local(2026, 11, 23, 20), local(2026, 11, 24, 6), target_soc=120)
    with pytest.raises(ValueError, match="max_windows"):
        plan([], local(2026, 11, 23, 20), local(2026, 11, 24, 6), max_windows=0)


def test_feed_boundaries_off_the_minute_price_the_split_minute_by_time() -> None:
    from shared.domain.minute_prices import minute_grid, price_units, to_segments

    start = local(2026, 11, 23, 22)
    prices = [
        PriceInterval(start + timedelta(seconds=30), start + timedelta(minutes=2, seconds=30), 0.2),
        PriceInterval(start + timedelta(minutes=2, seconds=30), start + timedelta(minutes=5), 0.4),
    ]
    origin, minutes = minute_grid(start, start + timedelta(minutes=5))
    segments = [(s.start, s.end, s.price) for s in to_segments(prices, origin, minutes)]
    # Minute 0 is only half covered: unavailable. Minute 2 is half 0.2, half 0.4: 0.3.
    assert segments == [(1, 2, price_units(0.2)), (2, 3, price_units(0.3)), (3, 5, price_units(0.4))]


def test_planning_starts_on_the_next_whole_minute() -> None:
    now = local(2026, 11, 23, 23, 59) + timedelta(seconds=20)
    p = plan(hourly(local(2026, 11, 23, 23), [0.5, 0.5]), now, local(2026, 11, 24, 1), current_soc=10, target_soc=100)
    assert p.charging_start == local(2026, 11, 24, 0, 0) and not p.feasible


def test_overlapping_or_unsorted_intervals_are_a_programming_error() -> None:
    start = local(2026, 11, 23, 22)
    overlapping = hourly(start, [0.5, 0.5]) + hourly(start + timedelta(minutes=30), [0.1])
    with pytest.raises(ValueError, match="overlaps"):
        plan(overlapping, start, start + timedelta(hours=3))
