"""One-shot crons, next firing instants, job names and retry backoff (shared/domain/cron.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.cron import (
    MAX_BACKOFF_SECONDS,
    cron_instant,
    is_special_job,
    is_valid_job_id,
    job_name,
    one_shot_cron,
    retry_backoff,
    validate_job_fields,
)
from shared.errors import ValidationError

WARSAW = ZoneInfo("Europe/Warsaw")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type,misc]


def firings(cron: str, time_zone: str, start: datetime, end: datetime) -> list[datetime]:
    """Every firing of cron in (start, end]."""
    found, after = [], start
    while (after := cron_instant(cron, time_zone, after)) <= end:
        found.append(after)
    return found


# --- one_shot_cron ----------------------------------------------------------------------------


def test_one_shot_cron_pins_minute_hour_day_month_in_utc() -> None:
    assert one_shot_cron(utc(2026, 11, 24, 5, 0)) == ("0 5 24 11 *", "Etc/UTC")


def test_one_shot_cron_converts_an_offset_instant_to_utc() -> None:
    assert one_shot_cron(datetime(2026, 11, 24, 7, 0, tzinfo=WARSAW)) == ("0 6 24 11 *", "Etc/UTC")


@pytest.mark.parametrize(
    ("instant", "cron"),
    [
        (utc(2026, 11, 24, 5, 0, 1), "1 5 24 11 *"),
        (datetime(2026, 11, 24, 5, 0, 0, 1, tzinfo=UTC), "1 5 24 11 *"),
        (utc(2026, 11, 24, 5, 59, 30), "0 6 24 11 *"),
        (utc(2026, 11, 24, 23, 59, 59), "0 0 25 11 *"),
    ],
)
def test_one_shot_cron_rounds_seconds_up_so_the_job_never_fires_early(instant: datetime, cron: str) -> None:
    assert one_shot_cron(instant) == (cron, "Etc/UTC")


def test_one_shot_cron_refuses_a_naive_instant() -> None:
    with pytest.raises(ValueError, match="aware"):
        one_shot_cron(datetime(2026, 11, 24, 5, 0))


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)))
def test_one_shot_job_fires_within_the_minute_after_its_instant_never_before(instant: datetime) -> None:
    cron, zone = one_shot_cron(instant)
    fires = cron_instant(cron, zone, instant - timedelta(microseconds=1))
    assert instant <= fires < instant + timedelta(minutes=1)
    assert fires.second == 0 and fires.microsecond == 0


def test_spring_night_local_0230_send_maps_to_one_utc_minute() -> None:
    # 2026-03-29: Warsaw jumps 02:00 -> 03:00, so 02:30 local does not exist on the wall clock.
    # zoneinfo reads it with the winter offset (+01:00): 01:30 UTC, fired exactly once.
    send_at = datetime(2026, 3, 29, 2, 30, tzinfo=WARSAW)
    cron, zone = one_shot_cron(send_at)
    assert (cron, zone) == ("30 1 29 3 *", "Etc/UTC")
    night = firings(cron, zone, utc(2026, 3, 28, 12), utc(2026, 3, 30, 12))
    assert night == [utc(2026, 3, 29, 1, 30)]


def test_autumn_night_local_0230_maps_to_one_utc_minute_for_each_reading() -> None:
    # 2026-10-25: Warsaw goes 03:00 -> 02:00, so 02:30 local happens twice (fold 0 and fold 1).
    first = datetime(2026, 10, 25, 2, 30, tzinfo=WARSAW)
    second = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=WARSAW)
    assert one_shot_cron(first) == ("30 0 25 10 *", "Etc/UTC")
    assert one_shot_cron(second) == ("30 1 25 10 *", "Etc/UTC")
    for instant in (first, second):
        cron, zone = one_shot_cron(instant)
        assert firings(cron, zone, utc(2026, 10, 24, 12), utc(2026, 10, 26, 12)) == [instant.astimezone(UTC)]


def test_a_local_time_cron_repeats_or_moves_on_daylight_saving_nights() -> None:
    # Why one-shot jobs use Etc/UTC: a daily 02:30 Warsaw cron fires twice when clocks go back,
    # and at 03:00 local (01:00 UTC, half an hour before 02:30+01:00) when they jump forward.
    autumn = firings("30 2 * * *", "Europe/Warsaw", utc(2026, 10, 24, 12), utc(2026, 10, 25, 4))
    assert autumn == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)]
    spring = firings("30 2 * * *", "Europe/Warsaw", utc(2026, 3, 28, 12), utc(2026, 3, 29, 4))
    assert spring == [utc(2026, 3, 29, 1, 0)]


def test_year_end_rounds_into_the_new_year() -> None:
    instant = utc(2026, 12, 31, 23, 59, 30)
    cron, zone = one_shot_cron(instant)
    assert cron == "0 0 1 1 *"
    assert cron_instant(cron, zone, instant) == utc(2027, 1, 1, 0, 0)


@pytest.mark.parametrize(
    ("instant", "cron", "fires"),
    [
        (utc(2026, 1, 31, 23, 59, 30), "0 0 1 2 *", utc(2026, 2, 1)),
        (utc(2026, 2, 28, 23, 59, 1), "0 0 1 3 *", utc(2026, 3, 1)),  # 2026 is not a leap year
        (utc(2028, 2, 28, 23, 59, 30), "0 0 29 2 *", utc(2028, 2, 29)),  # 2028 is
        (datetime(2026, 4, 30, 23, 59, 59, 500000, tzinfo=UTC), "0 0 1 5 *", utc(2026, 5, 1)),
        (utc(2026, 6, 30, 23, 59), "59 23 30 6 *", utc(2026, 6, 30, 23, 59)),
    ],
)
def test_month_ends(instant: datetime, cron: str, fires: datetime) -> None:
    assert one_shot_cron(instant) == (cron, "Etc/UTC")
    assert cron_instant(cron, "Etc/UTC", instant - timedelta(microseconds=1)) == fires


def test_a_one_shot_cron_recurs_a_year_later_so_the_job_must_delete_itself() -> None:
    assert cron_instant("0 5 24 11 *", "Etc/UTC", utc(2026, 11, 24, 5, 0)) == utc(2027, 11, 24, 5, 0)


# --- cron_instant -----------------------------------------------------------------------------


def test_cron_instant_is_strictly_after() -> None:
    assert cron_instant("0 12 * * *", "Etc/UTC", utc(2026, 1, 1, 12, 0)) == utc(2026, 1, 2, 12, 0)
    assert cron_instant("* * * * *", "Etc/UTC", utc(2026, 1, 1, 12, 0, 30)) == utc(2026, 1, 1, 12, 1)


def test_cron_instant_reads_the_cron_in_its_time_zone_and_answers_in_utc() -> None:
    # 07:00 Warsaw is 06:00 UTC in winter and 05:00 UTC once summer time started (2026-03-29).
    assert cron_instant("0 7 * * *", "Europe/Warsaw", utc(2026, 3, 27, 12)) == utc(2026, 3, 28, 6)
    found = cron_instant("0 7 * * *", "Europe/Warsaw", utc(2026, 3, 28, 12))
    assert found == utc(2026, 3, 29, 5)
    assert found.tzinfo is UTC


@pytest.mark.parametrize(
    ("cron", "zone"),
    [
        ("61 0 1 1 *", "Etc/UTC"),
        ("not a cron", "Etc/UTC"),
        ("0 0 1 1 * *", "Etc/UTC"),  # croniter's seconds field; Cloud Scheduler takes five fields
        ("0 0 31 2 *", "Etc/UTC"),  # valid fields, but never a date
        ("0 0 1 1 *", "Mars/Olympus"),
        ("0 0 1 1 *", ""),
    ],
)
def test_cron_instant_refuses_what_cannot_fire(cron: str, zone: str) -> None:
    with pytest.raises(ValidationError):
        cron_instant(cron, zone, utc(2026, 1, 1))


def test_cron_instant_refuses_a_naive_instant() -> None:
    with pytest.raises(ValueError, match="aware"):
        cron_instant("0 0 1 1 *", "Etc/UTC", datetime(2026, 1, 1))


# --- job names --------------------------------------------------------------------------------


def test_job_names_replace_underscores_with_hyphens() -> None:
    assert job_name("send", "special_1_20261124_0700") == "special-send-special-1-20261124-0700"
    assert job_name("cleanup", "special_1_20261124_0700") == "special-cleanup-special-1-20261124-0700"


def test_job_names_are_valid_cloud_scheduler_job_ids() -> None:
    assert is_valid_job_id(job_name("cleanup", "special_12_20261231_2359"))


@pytest.mark.parametrize("session_id", ["", "special 1", "special/1", "spécial_1", "x" * 490])
def test_job_name_refuses_a_session_id_that_makes_an_invalid_job_id(session_id: str) -> None:
    with pytest.raises(ValidationError):
        job_name("send", session_id)


def test_job_name_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        job_name("wake", "special_1_20261124_0700")


@pytest.mark.parametrize(
    ("name", "special"),
    [
        ("special-send-special-1-20261124-0700", True),
        ("special-cleanup-special-1-20261124-0700", True),
        ("nightly-run-cycle", False),
        ("daily-special-charging-check", False),
    ],
)
def test_is_special_job(name: str, special: bool) -> None:
    assert is_special_job(name) is special


@pytest.mark.parametrize(
    ("name", "valid"),
    [("a", True), ("A-z_0-9", True), ("x" * 500, True), ("x" * 501, False), ("", False), ("a.b", False)],
)
def test_job_id_pattern(name: str, valid: bool) -> None:
    assert is_valid_job_id(name) is valid


# --- validation and retry policy --------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"http_method": "FETCH"},
        {"retry_count": 6},
        {"retry_count": -1},
        {"attempt_deadline_seconds": 14},
        {"attempt_deadline_seconds": 1801},
    ],
)
def test_validate_job_fields_keeps_cloud_scheduler_limits(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        validate_job_fields("special-send-x", "0 5 24 11 *", "Etc/UTC", **kwargs)  # type: ignore[arg-type]


def test_validate_job_fields_accepts_a_one_shot_job() -> None:
    validate_job_fields("special-send-x", "0 5 24 11 *", "Etc/UTC", retry_count=5, attempt_deadline_seconds=1800)


def test_retry_backoff_doubles_then_grows_linearly_up_to_the_cap() -> None:
    waits = [retry_backoff(n).total_seconds() for n in range(1, 9)]
    assert waits[:6] == [60, 120, 240, 480, 600, 600]
    assert max(waits) <= MAX_BACKOFF_SECONDS
    assert retry_backoff(100) == timedelta(seconds=MAX_BACKOFF_SECONDS)
