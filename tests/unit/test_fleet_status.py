"""fleet_status: parsing Tesla's answer, the firmware rule for schedules, and the one-a-day cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.clock import ManualClock
from shared.tesla.fleet_status import FleetStatusCache, firmware_at_least, parse_fleet_status
from tests.fakes.stores import InMemoryDocumentStore

PAIRED, UNPAIRED, UNKNOWN = "5YJ3E7EB2NF000001", "5YJ3E7EB2NF000002", "5YJ3E7EB2NF000003"
# The documented shape of POST /api/1/vehicles/fleet_status (developer.tesla.com, Fleet API, Vehicle Endpoints).
ANSWER = {
    "key_paired_vins": [PAIRED],
    "unpaired_vins": [UNPAIRED],
    "vehicle_info": {
        PAIRED: {"firmware_version": "2024.44.25", "vehicle_command_protocol_required": True},
        UNPAIRED: {"firmware_version": "2024.20.9", "vehicle_command_protocol_required": True},
    },
}
NOW = datetime(2026, 12, 3, 22, 0, tzinfo=UTC)


def test_fleet_status_names_paired_unpaired_and_unknown_cars() -> None:
    profiles = parse_fleet_status(ANSWER, [PAIRED, UNPAIRED, UNKNOWN], NOW)
    assert (profiles[PAIRED].key_paired, profiles[PAIRED].protocol_required) == (True, True)
    assert profiles[PAIRED].firmware_version == "2024.44.25"
    assert profiles[UNPAIRED].key_paired is False
    assert profiles[UNKNOWN].key_paired is None and profiles[UNKNOWN].protocol_required is None


@pytest.mark.parametrize(
    ("version", "ok"),
    [("2024.26", True), ("2024.26.3 abc123", True), ("2025.2.1", True), ("2024.20.9", False), ("2023.44.30", False)],
)
def test_charge_schedules_need_firmware_2024_26(version: str, ok: bool) -> None:
    assert firmware_at_least(version) is ok


def test_unreadable_firmware_is_unknown_not_too_old() -> None:
    assert firmware_at_least(None) is None
    assert firmware_at_least("develop") is None


def test_a_healthy_car_is_asked_again_after_a_week_only() -> None:
    clock, store, asked = ManualClock(NOW), InMemoryDocumentStore(), []

    def fetch(vins: list[str]) -> dict[str, Any]:
        asked.append(vins)
        return ANSWER

    cache = FleetStatusCache(store, clock, fetch)
    cache.profile(PAIRED)
    clock.sleep(timedelta(days=6).total_seconds())
    cache.profile(PAIRED)
    assert len(asked) == 1
    clock.sleep(timedelta(days=1, seconds=1).total_seconds())
    cache.profile(PAIRED)
    assert len(asked) == 2


def test_fleet_status_is_asked_once_a_day_and_corrections_stick() -> None:
    clock, store, asked = ManualClock(NOW), InMemoryDocumentStore(), []

    def fetch(vins: list[str]) -> dict[str, Any]:
        asked.append(list(vins))
        return {"key_paired_vins": [], "unpaired_vins": [], "vehicle_info": {PAIRED: {"firmware_version": "2024.44"}}}

    cache = FleetStatusCache(store, clock, fetch)
    assert cache.profile(PAIRED).protocol_required is None
    clock.sleep(3600)
    cache.profile(PAIRED)
    assert len(asked) == 1  # a second instance on the same store would not ask either
    assert FleetStatusCache(store, clock, fetch).profile(PAIRED).firmware_version == "2024.44"
    assert len(asked) == 1
    cache.correct(PAIRED, protocol_required=True)  # the car refused an unsigned command
    assert cache.profile(PAIRED).protocol_required is True
    clock.sleep(timedelta(days=1, seconds=1).total_seconds())
    cache.profile(PAIRED)
    assert len(asked) == 2
