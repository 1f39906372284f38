"""plan_charging (the deadline, one price request, the settings' energy model) and the /plan-preview body check."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.clock import ManualClock
from shared.domain.prices import PriceInterval
from shared.domain.ready_by import parse_departure_days
from shared.errors import ValidationError
from shared.prices.factory import build_price_source
from shared.settings import Settings, load_settings
from worker_service.services.planning import parse_plan_request, plan_charging, plan_everyday

WARSAW = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 11, 23, 19, 0, tzinfo=WARSAW)  # a Monday evening


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"STATE_DIR": str(tmp_path), "WORKER_AUTH_MODE": "none"})


class CountingSource:
    """A flat-price source that records what it was asked."""

    currency = "EUR"

    def __init__(self) -> None:
        self.asked: list[tuple[datetime, datetime]] = []

    def prices(self, start: datetime, end: datetime) -> list[PriceInterval]:
        self.asked.append((start, end))
        return [PriceInterval(start, end, 0.2)]


def test_the_seed_night_charges_until_six_and_is_sent_two_hours_before(settings: Settings) -> None:
    source = build_price_source(settings, ManualClock(NOW))  # tauron G12w, margin 60, lead 120
    plan = plan_charging(
        settings, source, current_soc=40, target_soc=80, departure=datetime(2026, 11, 24, 7, tzinfo=WARSAW), now=NOW
    )
    d = plan.to_dict()
    assert d["charging_end"] == "2026-11-24T06:00:00+01:00"
    assert d["charging_start"] == "2026-11-24T02:58:00+01:00"
    assert d["send_schedule_at"] == "2026-11-24T00:58:00+01:00"
    assert d["feasible"] is True and d["currency"] == "PLN"


def test_prices_are_asked_once_for_now_to_the_deadline(settings: Settings) -> None:
    source = CountingSource()
    departure = datetime(2026, 11, 24, 7, tzinfo=WARSAW)
    plan = plan_charging(settings, source, current_soc=50, target_soc=60, departure=departure, now=NOW)
    assert source.asked == [(NOW, departure - timedelta(minutes=60))]
    assert plan.currency == "EUR" and plan.charging_end == departure - timedelta(minutes=60)


def test_the_settings_energy_model_and_windows_are_used(settings: Settings) -> None:
    custom = dataclasses.replace(
        settings,
        battery_capacity_kwh=50.0,
        charger_power_kw=5.0,
        charging_efficiency=1.0,
        departure_margin_minutes=30,
        send_lead_minutes=15,
    )
    departure = datetime(2026, 11, 24, 7, tzinfo=WARSAW)
    plan = plan_charging(custom, CountingSource(), current_soc=50, target_soc=60, departure=departure, now=NOW)
    assert plan.minutes == 60  # 5 kWh at 5 kW
    assert plan.charging_end == departure - timedelta(minutes=30)
    assert plan.send_schedule_at == plan.charging_start - timedelta(minutes=15)  # type: ignore[operator]


def test_a_departure_inside_the_margin_needs_no_prices_and_is_infeasible(settings: Settings) -> None:
    source = CountingSource()
    plan = plan_charging(
        settings, source, current_soc=50, target_soc=60, departure=NOW + timedelta(minutes=30), now=NOW
    )
    assert source.asked == [] and not plan.feasible and plan.windows == ()


def test_a_bad_state_of_charge_from_the_car_is_a_validation_error(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="state of charge"):
        plan_charging(
            settings, CountingSource(), current_soc=140, target_soc=80, departure=NOW + timedelta(hours=9), now=NOW
        )


def test_a_good_body_is_parsed() -> None:
    request = parse_plan_request(
        {"target_soc": 80, "departure": "2026-11-24T07:00:00+01:00", "current_soc": 41.5, "extra": 1}, NOW
    )
    assert request.target_soc == 80 and request.current_soc == 41.5 and request.now == NOW
    assert request.departure == datetime(2026, 11, 24, 7, tzinfo=WARSAW)


def test_the_body_may_plan_as_if_it_were_another_moment() -> None:
    request = parse_plan_request(
        {"target_soc": 80, "departure": "2026-03-29T07:00:00+02:00", "now": "2026-03-28T18:00:00+01:00"}, NOW
    )
    assert request.now == datetime(2026, 3, 28, 17, tzinfo=UTC) and request.current_soc is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "JSON object"),
        ({"departure": "2026-11-24T07:00:00+01:00"}, "target_soc is required"),
        ({"target_soc": "80", "departure": "2026-11-24T07:00:00+01:00"}, "target_soc must be a whole number"),
        ({"target_soc": 80.5, "departure": "2026-11-24T07:00:00+01:00"}, "target_soc must be a whole number"),
        ({"target_soc": True, "departure": "2026-11-24T07:00:00+01:00"}, "target_soc must be a whole number"),
        ({"target_soc": 49, "departure": "2026-11-24T07:00:00+01:00"}, "between 50 and 100, got 49"),
        ({"target_soc": 101, "departure": "2026-11-24T07:00:00+01:00"}, "between 50 and 100, got 101"),
        ({"target_soc": 80}, "departure is required"),
        ({"target_soc": 80, "departure": "tomorrow"}, "departure is not an ISO 8601 time"),
        ({"target_soc": 80, "departure": 1764000000}, "departure must be an ISO 8601 time"),
        ({"target_soc": 80, "departure": "2026-11-24T07:00:00"}, "departure must include a UTC offset"),
        ({"target_soc": 80, "departure": "2026-11-23T18:00:00+01:00"}, "departure must be in the future"),
        (
            {"target_soc": 80, "departure": "2026-11-24T07:00:00+01:00", "current_soc": -1},
            "current_soc must be between",
        ),
        (
            {"target_soc": 80, "departure": "2026-11-24T07:00:00+01:00", "current_soc": "40"},
            "current_soc must be a number",
        ),
        ({"target_soc": 80, "departure": "2026-11-24T07:00:00+01:00", "now": "2026-11-23T18:00"}, "now must include"),
        ({"target_soc": 80, "departure": "2026-11-24T07:00:00+01:00", "now": "2026-11-24T08:00:00+01:00"}, "future"),
    ],
)
def test_bad_bodies_get_one_clear_message(body: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_plan_request(body, NOW)


class StepSource:
    """Prices from a function of the local hour and weekday, hour by hour; records what it was asked."""

    currency = "PLN"

    def __init__(self, price_at: Any) -> None:
        self.price_at = price_at
        self.asked: list[tuple[datetime, datetime]] = []

    def prices(self, start: datetime, end: datetime) -> list[PriceInterval]:
        self.asked.append((start, end))
        hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        out = []
        while hour < end:
            out.append(PriceInterval(hour, hour + timedelta(hours=1), self.price_at(hour.astimezone(WARSAW))))
            hour += timedelta(hours=1)
        return out


def _sunny_weekend(moment: datetime) -> float:
    """Night 0.40, day 0.60, and a free midday on Saturdays (the late-February TGE weekend)."""
    if moment.weekday() == 5 and 10 <= moment.hour < 15:
        return 0.0
    return 0.40 if moment.hour < 6 or moment.hour >= 22 else 0.60


FRIDAY = datetime(2026, 2, 27, 17, 37, tzinfo=WARSAW)


@pytest.mark.parametrize(("days", "charges_on"), [("daily", "2026-02-28T0"), ("workdays", "2026-02-28T1")])
def test_the_eve_of_a_day_off_may_use_the_next_days_cheap_hours(tmp_path: Path, days: str, charges_on: str) -> None:
    settings = load_settings({"STATE_DIR": str(tmp_path), "WORKER_AUTH_MODE": "none", "READY_BY_DAYS": days})
    source = StepSource(_sunny_weekend)
    plan = plan_everyday(settings, source, current_soc=60, target_soc=80, now=FRIDAY).to_dict()
    assert plan["feasible"] is True and plan["charging_start"].startswith(charges_on), plan
    assert len(source.asked) == 1  # one price request, whatever the horizon
    if days == "workdays":  # Saturday's free hours, within a day of now
        assert plan["estimated_cost"] == 0.0 and plan["deadline"] == "2026-02-28T16:37:00+01:00"
    else:
        assert plan["deadline"] == "2026-02-28T06:00:00+01:00"


def test_at_equal_prices_the_eve_of_a_day_off_keeps_the_car_ready_by_ready_by(tmp_path: Path) -> None:
    settings = load_settings({"STATE_DIR": str(tmp_path), "WORKER_AUTH_MODE": "none", "READY_BY_DAYS": "workdays"})
    flat_nights = StepSource(lambda moment: 0.40 if moment.hour < 6 or moment.hour >= 13 else 0.60)
    plan = plan_everyday(settings, flat_nights, current_soc=60, target_soc=80, now=FRIDAY)
    assert plan.deadline == datetime(2026, 2, 28, 6, tzinfo=WARSAW)  # Saturday 13:00 is no cheaper than the night
    assert plan.charging_end is not None and plan.charging_end <= datetime(2026, 2, 28, 6, tzinfo=WARSAW)


def test_a_need_that_does_not_fit_by_ready_by_takes_the_longer_day(tmp_path: Path) -> None:
    settings = load_settings({"STATE_DIR": str(tmp_path), "WORKER_AUTH_MODE": "none", "READY_BY_DAYS": "mon-fri"})
    late = datetime(2026, 2, 28, 2, 0, tzinfo=WARSAW)  # Saturday 02:00: four hours to 06:00 are not enough
    plan = plan_everyday(settings, StepSource(lambda moment: 0.5), current_soc=10, target_soc=90, now=late)
    assert plan.feasible is True and plan.deadline == datetime(2026, 3, 1, 1, 0, tzinfo=WARSAW)
    daily = dataclasses.replace(settings, ready_by_days=parse_departure_days("daily"))
    assert (
        plan_everyday(daily, StepSource(lambda moment: 0.5), current_soc=10, target_soc=90, now=late).feasible is False
    )
