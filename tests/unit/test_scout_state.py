"""The scout's state-transition table and its decision to pay for vehicle_data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.scout_state import Observation, ScoutState, decide, needs_vehicle_data, next_state

NOW = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
VIN = "5YJ3E7EB2NF000001"


def state(vehicle_state: str, at_home: bool | None, data_age_min: float | None = 5) -> ScoutState:
    data_at = None if data_age_min is None else (NOW - timedelta(minutes=data_age_min)).isoformat()
    return ScoutState(VIN, vehicle_state, at_home, 10.0 if at_home else 5000.0, data_at, NOW.isoformat())


@pytest.mark.parametrize(
    ("previous", "seen", "trigger", "reason"),
    [
        (None, Observation("asleep"), True, "first_detection"),
        (None, Observation("online", True, 5.0, True), True, "first_detection"),
        (state("online", False), Observation("online", True, 20.0, True), True, "arrived_home"),
        (state("online", True), Observation("online", False, 900.0, True), False, "no_change"),  # leaving
        (state("online", True), Observation("online", True, 3.0, True), False, "no_change"),
        (state("online", True), Observation("asleep"), True, "online_state_changed"),
        (state("asleep", True), Observation("online", True, 3.0, True), True, "online_state_changed"),
        (state("asleep", True), Observation("offline"), False, "no_change"),  # asleep -> offline: still not online
        (state("offline", None), Observation("asleep"), False, "no_change"),
        (state("asleep", True), Observation("asleep"), False, "no_change"),
        (state("online", False), Observation("online", False, 700.0, True), False, "no_change"),
    ],
)
def test_transition_table(previous: ScoutState | None, seen: Observation, trigger: bool, reason: str) -> None:
    decision = decide(previous, seen)
    assert (decision.trigger, decision.reason) == (trigger, reason)


def test_asleep_or_offline_cars_are_never_asked_for_vehicle_data() -> None:
    for vehicle_state in ("asleep", "offline"):
        assert not needs_vehicle_data(None, vehicle_state, NOW)
        assert not needs_vehicle_data(state("online", False), vehicle_state, NOW)


@pytest.mark.parametrize(
    ("previous", "expected"),
    [
        (None, True),  # first sighting
        (state("online", False), True),  # away or driving: it may be arriving
        (state("asleep", True), True),  # just woke: may have been moved by someone else
        (state("online", None), True),
        (state("online", True, data_age_min=20), False),  # parked at home, seen recently: free tick
        (state("online", True, data_age_min=239), False),
        (state("online", True, data_age_min=240), True),  # re-checked every four hours while it stays awake
        (state("online", True, data_age_min=None), True),
    ],
)
def test_vehicle_data_is_paid_for_only_when_the_position_matters(previous: ScoutState | None, expected: bool) -> None:
    assert needs_vehicle_data(previous, "online", NOW) is expected


def test_position_is_carried_over_when_not_read() -> None:
    previous = state("online", True)
    after = next_state(previous, VIN, Observation("asleep"), NOW)
    assert after.at_home is True and after.distance_m == previous.distance_m
    assert after.vehicle_state == "asleep" and after.last_data_at == previous.last_data_at
    read = next_state(previous, VIN, Observation("online", False, 1234.0, True), NOW)
    assert read.at_home is False and read.distance_m == 1234.0 and read.last_data_at == NOW.isoformat()


def test_state_round_trips_through_a_document() -> None:
    original = state("online", True)
    assert ScoutState.from_doc(original.to_doc()) == original


def test_only_a_real_change_is_worth_a_write() -> None:
    previous = state("asleep", True)
    later = next_state(previous, VIN, Observation("asleep"), NOW + timedelta(minutes=15))
    assert not later.differs_from(previous)
    woke = next_state(previous, VIN, Observation("online", True, 3.0, True), NOW + timedelta(minutes=15))
    assert woke.differs_from(previous)
