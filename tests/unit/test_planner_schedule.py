"""Plan windows as Tesla `add_charge_schedule` bodies: local minutes, one schedule across midnight, the caller's id."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.domain.charging_schedule import charge_schedule_payload, charge_schedule_payloads
from shared.domain.planner import ChargingWindow, plan_cheapest_charging
from shared.domain.prices import PriceInterval

WARSAW = ZoneInfo("Europe/Warsaw")
HOME = {"latitude": 52.2297, "longitude": 21.0122}


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WARSAW)


def test_a_window_across_midnight_is_one_schedule_with_the_vehicle_commands_fields() -> None:
    window = ChargingWindow(local(2026, 11, 23, 22, 58), local(2026, 11, 24, 6))
    body = charge_schedule_payload(window, WARSAW, schedule_id=1764000000, **HOME)
    assert body == {
        "days_of_week": "Monday",
        "enabled": True,
        "start_enabled": True,
        "start_time": 22 * 60 + 58,
        "end_enabled": True,
        "end_time": 6 * 60,
        "lat": 52.2297,
        "lon": 21.0122,
        "one_time": True,
        "id": 1764000000,
    }


def test_times_are_read_on_the_local_clock_even_when_the_window_is_given_in_utc() -> None:
    window = ChargingWindow(local(2026, 7, 1, 1, 15).astimezone(ZoneInfo("UTC")), local(2026, 7, 1, 4, 0))
    body = charge_schedule_payload(window, WARSAW, schedule_id=7, **HOME)
    assert (body["start_time"], body["end_time"], body["days_of_week"]) == (75, 240, "Wednesday")


def test_the_spring_night_keeps_wall_clock_minutes() -> None:
    # 23:00 CET to 06:00 CEST is 6 real hours; the car's clock says 23:00 and 06:00.
    window = ChargingWindow(local(2026, 3, 28, 23), local(2026, 3, 29, 6))
    body = charge_schedule_payload(window, WARSAW, schedule_id=9, **HOME)
    assert (body["start_time"], body["end_time"], body["days_of_week"]) == (23 * 60, 6 * 60, "Saturday")


def test_a_window_of_a_day_or_more_charges_until_the_limit() -> None:
    window = ChargingWindow(local(2026, 11, 23, 6), local(2026, 11, 24, 7))
    body = charge_schedule_payload(window, WARSAW, schedule_id=3, **HOME)
    assert body["end_enabled"] is False and body["start_time"] == 360


def test_day_names_are_ones_the_proxy_accepts() -> None:
    names = {
        charge_schedule_payload(
            ChargingWindow(local(2026, 11, 23 + d, 1), local(2026, 11, 23 + d, 2)), WARSAW, schedule_id=1, **HOME
        )["days_of_week"]
        for d in range(7)
    }
    # pkg/proxy/command.go dayNamesBitMask: full names are accepted, "Tue"/"Thu" are not.
    assert names == {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}


@pytest.mark.parametrize("bad_id", [0, -1, 2**53, True, 1.5])
def test_schedule_ids_must_survive_the_proxys_float64(bad_id: object) -> None:
    window = ChargingWindow(local(2026, 11, 23, 22), local(2026, 11, 24, 6))
    with pytest.raises(ValueError, match="schedule_id"):
        charge_schedule_payload(window, WARSAW, schedule_id=bad_id, **HOME)  # type: ignore[arg-type]


def test_a_plan_gives_one_schedule_per_window_with_the_callers_ids() -> None:
    start = local(2026, 11, 24, 12)
    prices = [
        PriceInterval(start, start + timedelta(hours=2), 0.2),
        PriceInterval(start + timedelta(hours=2), start + timedelta(hours=10), 0.9),
        PriceInterval(start + timedelta(hours=10), start + timedelta(hours=12), 0.2),
    ]
    plan = plan_cheapest_charging(
        current_soc=50,
        target_soc=90,
        battery_kwh=60,
        charger_kw=6,
        efficiency=1.0,
        now=start,
        deadline=start + timedelta(hours=12),
        prices=prices,
        currency="PLN",
        timezone=WARSAW,
        max_windows=2,
    )
    bodies = charge_schedule_payloads(plan, WARSAW, schedule_ids=[11, 12], **HOME)
    assert [(b["id"], b["start_time"], b["end_time"]) for b in bodies] == [(11, 12 * 60, 14 * 60), (12, 22 * 60, 0)]
    with pytest.raises(ValueError, match="schedule ids"):
        charge_schedule_payloads(plan, WARSAW, schedule_ids=[11], **HOME)
