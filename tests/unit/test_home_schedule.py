"""The home schedule: recurring all-days windows at home, and the fewest commands that put it on the car."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from shared.domain.home_schedule import ALL_DAYS_MASK, comparable, diff, home_schedule
from shared.domain.planner import ChargingWindow

WARSAW = ZoneInfo("Europe/Warsaw")
HOME = (52.2297, 21.0122)
IDS = [501, 502, 503]


def window(start: str, end: str) -> ChargingWindow:
    return ChargingWindow(
        datetime.fromisoformat(start).replace(tzinfo=WARSAW), datetime.fromisoformat(end).replace(tzinfo=WARSAW)
    )


def plan(*windows: ChargingWindow) -> list[dict[str, object]]:
    return home_schedule(list(windows), WARSAW, ids=IDS, latitude=HOME[0], longitude=HOME[1])


def as_car_reports(payload: dict[str, object]) -> dict[str, object]:
    """The car's own shape: days as a mask, coordinates as float32 under other names."""
    car = {k: v for k, v in payload.items() if k not in ("days_of_week", "lat", "lon")}
    return {**car, "days_of_week": ALL_DAYS_MASK, "latitude": 52.229698181152344, "longitude": 21.01219940185547}


def test_a_window_across_midnight_is_one_recurring_every_day_schedule_at_home() -> None:
    [body] = plan(window("2026-11-23T23:30", "2026-11-24T05:15"))
    assert body["days_of_week"] == "All" and body["one_time"] is False
    assert (body["start_time"], body["end_time"], body["end_enabled"]) == (23 * 60 + 30, 5 * 60 + 15, True)
    assert (body["lat"], body["lon"], body["id"]) == (*HOME, 501)


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [("2026-03-29T01:00", "2026-03-29T04:00", (60, 240)), ("2026-10-25T01:00", "2026-10-25T04:00", (60, 240))],
)
def test_daylight_saving_nights_keep_the_wall_clock_times(start: str, end: str, minutes: tuple[int, int]) -> None:
    [body] = plan(window(start, end))
    assert (body["start_time"], body["end_time"]) == minutes


def test_two_windows_use_the_first_two_ids() -> None:
    bodies = plan(window("2026-11-23T13:00", "2026-11-23T15:00"), window("2026-11-23T22:00", "2026-11-24T06:00"))
    assert [b["id"] for b in bodies] == [501, 502]


def test_more_windows_than_ids_is_refused() -> None:
    with pytest.raises(ValueError):
        home_schedule([window("2026-11-23T22:00", "2026-11-23T23:00")] * 4, WARSAW, ids=IDS, latitude=1, longitude=2)


def test_the_car_shape_and_the_sent_shape_compare_equal() -> None:
    [body] = plan(window("2026-11-23T22:00", "2026-11-24T06:00"))
    assert comparable(body) == comparable(as_car_reports(body))


def test_nothing_is_sent_when_the_car_already_holds_the_plan() -> None:
    desired = plan(window("2026-11-23T22:00", "2026-11-24T06:00"))
    result = diff(desired, our_ids=IDS, expected=desired, on_car=[as_car_reports(desired[0])], home=HOME)
    assert result.changes == 0 and result.foreign == [] and result.vanished == []


def test_a_new_plan_replaces_ours_by_id_and_drops_a_window_no_longer_needed() -> None:
    before = plan(window("2026-11-23T13:00", "2026-11-23T15:00"), window("2026-11-23T22:00", "2026-11-24T06:00"))
    after = plan(window("2026-11-24T01:00", "2026-11-24T06:00"))
    result = diff(after, our_ids=IDS, expected=before, on_car=None, home=HOME)
    assert [s["id"] for s in result.send] == [501] and result.remove == [502]


def test_reading_the_car_reports_the_owners_schedule_and_resends_one_of_ours_that_vanished() -> None:
    desired = plan(window("2026-11-23T22:00", "2026-11-24T06:00"))
    owners = {
        "id": 77,
        "days_of_week": 62,
        "enabled": True,
        "start_enabled": True,
        "start_time": 60,
        "end_enabled": False,
        "end_time": 0,
        "latitude": HOME[0],
        "longitude": HOME[1],
        "one_time": False,
    }
    away = {**owners, "id": 78, "latitude": 50.06, "longitude": 19.94}  # the owner's schedule at work: not drift
    result = diff(desired, our_ids=IDS, expected=desired, on_car=[owners, away], home=HOME)
    assert result.vanished == [501] and [s["id"] for s in result.send] == [501]
    assert result.foreign == [77] and result.remove == []  # the owner's schedule is never removed
