"""Departure times as owners type them, read in the household's zone (shared/domain/when.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from shared.domain.when import parse_departure

WARSAW = ZoneInfo("Europe/Warsaw")


def at(text: str, now: datetime) -> str:
    return parse_departure(text, now, WARSAW).at.isoformat()


def refused(text: str, now: datetime) -> str:
    with pytest.raises(ValueError) as problem:
        parse_departure(text, now, WARSAW)
    return str(problem.value)


EVENING = datetime(2026, 12, 1, 21, 0, tzinfo=WARSAW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow 05:30", "2026-12-02T05:30:00+01:00"),
        ("Tomorrow  at 5:30", "2026-12-02T05:30:00+01:00"),
        ("today 22:00", "2026-12-01T22:00:00+01:00"),
        ("05:30", "2026-12-02T05:30:00+01:00"),  # already past today: the next one
        ("23:15", "2026-12-01T23:15:00+01:00"),  # still ahead today
        ("2026-12-02T05:30", "2026-12-02T05:30:00+01:00"),
        ("2026-12-02 05:30", "2026-12-02T05:30:00+01:00"),
        ("2026-07-02T05:30", "2026-07-02T05:30:00+02:00"),  # summer time in summer
        ("2026-12-02T05:30:00+00:00", "2026-12-02T05:30:00+00:00"),  # an explicit offset is kept
        ("2026-12-02T04:30:00Z", "2026-12-02T04:30:00+00:00"),
    ],
)
def test_each_accepted_form_names_the_moment_the_owner_means(text: str, expected: str) -> None:
    now = EVENING if not text.startswith("2026-07") else datetime(2026, 6, 30, 12, 0, tzinfo=WARSAW)
    assert at(text, now) == expected


def test_a_time_of_day_after_midnight_is_read_on_the_next_calendar_day() -> None:
    late = datetime(2026, 12, 1, 23, 50, tzinfo=WARSAW)
    assert at("00:10", late) == "2026-12-02T00:10:00+01:00"
    assert at("tomorrow 00:10", late) == "2026-12-02T00:10:00+01:00"
    just_after = datetime(2026, 12, 2, 0, 5, tzinfo=WARSAW)  # "tomorrow" follows the household's midnight
    assert at("tomorrow 05:30", just_after) == "2026-12-03T05:30:00+01:00"
    assert at("05:30", just_after) == "2026-12-02T05:30:00+01:00"


def test_tomorrow_follows_the_household_zone_not_utc() -> None:
    # 23:30 UTC on 1 Dec is already 2 Dec in Warsaw: tomorrow is the 3rd.
    assert at("tomorrow 05:30", datetime(2026, 12, 1, 23, 30, tzinfo=UTC)) == "2026-12-03T05:30:00+01:00"


def test_month_and_year_ends_roll_over() -> None:
    assert at("tomorrow 06:00", datetime(2026, 11, 30, 20, 0, tzinfo=WARSAW)) == "2026-12-01T06:00:00+01:00"
    assert at("05:00", datetime(2026, 12, 31, 22, 0, tzinfo=WARSAW)) == "2027-01-01T05:00:00+01:00"
    assert at("tomorrow 07:00", datetime(2028, 2, 28, 20, 0, tzinfo=WARSAW)) == "2028-02-29T07:00:00+01:00"


def test_spring_forward_a_skipped_time_is_an_error_naming_it() -> None:
    # Europe/Warsaw, 29 March 2026: 02:00 CET becomes 03:00 CEST.
    saturday = datetime(2026, 3, 28, 21, 0, tzinfo=WARSAW)
    for text in ("tomorrow 02:30", "02:30", "2026-03-29T02:00", "2026-03-29 02:59"):
        message = refused(text, saturday)
        assert "does not exist on 2026-03-29" in message and "clocks go forward" in message, message
    assert at("tomorrow 01:59", saturday) == "2026-03-29T01:59:00+01:00"
    assert at("tomorrow 03:00", saturday) == "2026-03-29T03:00:00+02:00"
    assert at("tomorrow 05:30", saturday) == "2026-03-29T05:30:00+02:00"


def test_autumn_a_repeated_time_takes_the_first_and_says_so() -> None:
    # Europe/Warsaw, 25 October 2026: 03:00 CEST becomes 02:00 CET, so 02:00–02:59 happens twice.
    saturday = datetime(2026, 10, 24, 21, 0, tzinfo=WARSAW)
    departure = parse_departure("tomorrow 02:30", saturday, WARSAW)
    assert departure.at.isoformat() == "2026-10-25T02:30:00+02:00"
    assert departure.at.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert departure.note is not None
    assert "happens twice" in departure.note and "using the first" in departure.note
    assert "2026-10-25T02:30+01:00" in departure.note  # how to ask for the second
    second = parse_departure("2026-10-25T02:30+01:00", saturday, WARSAW)
    assert second.note is None and second.at - departure.at == timedelta(hours=1)
    assert parse_departure("tomorrow 05:30", saturday, WARSAW).note is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("05:70", "05:70 is not a time of day: minutes go from 00 to 59"),
        ("tomorrow 05:70", "05:70 is not a time of day"),
        ("24:00", "hours go from 00 to 23"),
        ("2026-02-30T05:30", "2026-02-30 is not a date"),
        ("next tuesday", "cannot read 'next tuesday' as a time"),
        ("", "give the departure as"),
    ],
)
def test_what_is_not_a_time_is_refused_with_the_reason(text: str, words: str) -> None:
    assert words in refused(text, EVENING)


def test_a_departure_in_the_past_is_refused() -> None:
    message = refused("2026-12-01T20:00", EVENING)
    assert message.startswith("2026-12-01T20:00 is in the past") and "now Tue 01 Dec 2026 21:00" in message
    assert "in the past" in refused("today 06:00", EVENING)
    assert "in the past" in refused("2026-12-01T19:59:00+00:00", datetime(2026, 12, 1, 20, 0, tzinfo=UTC))
    assert at("21:00", EVENING) == "2026-12-02T21:00:00+01:00"  # this very minute: the next one, never the past


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_departure("05:30", datetime(2026, 12, 1, 21, 0), WARSAW)


def test_an_offset_given_in_another_zone_is_the_same_instant() -> None:
    tokyo = timezone(timedelta(hours=9))
    departure = parse_departure("2026-12-02T13:30:00+09:00", EVENING, WARSAW)
    assert departure.at == datetime(2026, 12, 2, 13, 30, tzinfo=tokyo)
