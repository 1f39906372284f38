"""READY_BY_DAYS: which mornings READY_BY holds, and where the everyday plan ends on the eve of a day off."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.domain.ready_by import DAILY, DepartureDays, next_ready_by, parse_departure_days, planning_end

WARSAW = ZoneInfo("Europe/Warsaw")
SEVEN = time(7, 0)
WORKDAYS = parse_departure_days("workdays")


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=WARSAW)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "weekdays", "holidays_off", "described"),
    [
        ("daily", {0, 1, 2, 3, 4, 5, 6}, False, "daily"),
        ("", {0, 1, 2, 3, 4, 5, 6}, False, "daily"),
        ("workdays", {0, 1, 2, 3, 4}, True, "workdays"),
        ("Mon-Fri", {0, 1, 2, 3, 4}, False, "mon,tue,wed,thu,fri"),
        ("mon-fri, sun", {0, 1, 2, 3, 4, 6}, False, "mon,tue,wed,thu,fri,sun"),
        ("sat", {5}, False, "sat"),
    ],
)
def test_the_setting_reads_days_ranges_and_workdays(
    text: str, weekdays: set[int], holidays_off: bool, described: str
) -> None:
    days = parse_departure_days(text)
    assert days == DepartureDays(frozenset(weekdays), public_holidays_off=holidays_off)
    assert days.describe() == described
    assert parse_departure_days(described).weekdays == days.weekdays


@pytest.mark.parametrize(
    ("text", "said"),
    [("fri-mon", "runs backwards"), ("funday", "'funday' is not a day"), ("mon-", "'mon-' is not a day")],
)
def test_a_bad_setting_says_what_is_wrong(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        parse_departure_days(text)


def test_workdays_leave_out_weekends_and_polish_public_holidays() -> None:
    assert WORKDAYS.includes(date(2026, 11, 10))  # a Tuesday
    assert not WORKDAYS.includes(date(2026, 11, 11))  # Independence Day, a Wednesday
    assert not WORKDAYS.includes(date(2026, 12, 24))  # Christmas Eve, a public holiday since 2025
    assert not WORKDAYS.includes(date(2026, 11, 14))  # a Saturday
    assert parse_departure_days("mon-fri").includes(date(2026, 11, 11))  # plain days keep holidays


def test_daily_ends_every_plan_at_the_next_ready_by() -> None:
    assert planning_end(local(2026, 2, 27, 17, 37), SEVEN, DAILY, WARSAW) == local(2026, 2, 28, 7, 0)
    assert planning_end(local(2026, 2, 28, 6, 59), SEVEN, DAILY, WARSAW) == local(2026, 2, 28, 7, 0)
    assert planning_end(local(2026, 2, 28, 7, 0), SEVEN, DAILY, WARSAW) == local(2026, 3, 1, 7, 0)


def test_on_the_eve_of_a_day_off_the_plan_spans_the_next_day_and_no_more() -> None:
    friday = local(2026, 2, 27, 17, 37)
    assert planning_end(friday, SEVEN, WORKDAYS, WARSAW) == local(2026, 2, 28, 17, 37)  # not Monday 07:00
    saturday = local(2026, 2, 28, 18, 26)  # month end: the plan runs into March
    assert planning_end(saturday, SEVEN, WORKDAYS, WARSAW) == local(2026, 3, 1, 18, 26)
    sunday = local(2026, 3, 1, 18, 0)
    assert planning_end(sunday, SEVEN, WORKDAYS, WARSAW) == local(2026, 3, 2, 7, 0)
    new_years_eve = local(2026, 12, 31, 19, 0)  # Thursday; 1 January is a public holiday
    assert planning_end(new_years_eve, SEVEN, WORKDAYS, WARSAW) == local(2027, 1, 1, 19, 0)


def _first_after(now: datetime, moment: datetime) -> datetime:
    """The first instant after `now` whose local wall time equals `moment`'s (what a daily schedule fires at)."""
    wall = moment.astimezone(WARSAW).replace(tzinfo=None, fold=0)
    found = []
    for days in range(3):
        day = now.astimezone(WARSAW).date() + timedelta(days=days)
        for fold in (0, 1):
            candidate = datetime.combine(day, wall.time(), tzinfo=WARSAW).replace(fold=fold)
            real = candidate.astimezone(UTC)  # a wall time that does not exist reads differently once real
            if real.astimezone(WARSAW).replace(tzinfo=None) == datetime.combine(day, wall.time()) and (
                candidate.astimezone(UTC) > now.astimezone(UTC)
            ):
                found.append(candidate.astimezone(UTC))
    return min(found)


@pytest.mark.parametrize("night", [date(2026, 3, 28), date(2026, 10, 24)], ids=["spring_forward", "fall_back"])
def test_no_time_of_day_of_the_next_day_comes_round_before_the_plan_reaches_it(night: date) -> None:
    # A plan's windows go on the car as every-day times of day: each must first fire where it was planned.
    start = datetime.combine(night, time(0, 0), tzinfo=WARSAW).astimezone(UTC)
    for step in range(0, 48 * 4):
        now = (start + timedelta(minutes=15 * step)).astimezone(WARSAW)
        end = planning_end(now, SEVEN, WORKDAYS, WARSAW).astimezone(UTC)
        assert timedelta(hours=22) < end - now <= timedelta(hours=25) or end == next_ready_by(now, SEVEN, WARSAW)
        moment = now.astimezone(UTC) + timedelta(minutes=1)
        while moment < end:  # stepped in UTC: adding to a zoned time adds wall-clock time
            wall = moment.astimezone(WARSAW)
            # The repeated autumn hour itself is every plan's caveat (how a car reads it is undocumented).
            repeated = wall.replace(fold=1 - wall.fold).utcoffset() != wall.utcoffset()
            if wall.date() > now.date() and not repeated:
                assert _first_after(now, moment) == moment, (now, moment.astimezone(WARSAW), end)
            moment += timedelta(minutes=7)


def test_the_spring_forward_night_ends_at_the_earlier_reading_of_a_missing_time() -> None:
    saturday = local(2026, 3, 28, 2, 30)  # Sunday 02:30 does not exist
    assert planning_end(saturday, SEVEN, WORKDAYS, WARSAW).astimezone(UTC) == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    autumn = local(2026, 10, 24, 2, 30)  # Sunday 02:30 happens twice: the first one
    assert planning_end(autumn, SEVEN, WORKDAYS, WARSAW).astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    first_pass = datetime(2026, 10, 25, 0, 15, tzinfo=UTC).astimezone(WARSAW)  # Sunday 02:15, before the change
    assert planning_end(first_pass, SEVEN, WORKDAYS, WARSAW) == next_ready_by(first_pass, SEVEN, WARSAW)
    second_pass = datetime(2026, 10, 25, 1, 15, tzinfo=UTC).astimezone(WARSAW)  # Sunday 02:15 again
    assert planning_end(second_pass, SEVEN, WORKDAYS, WARSAW).astimezone(UTC) == datetime(
        2026, 10, 26, 1, 15, tzinfo=UTC
    )
