"""TESLA_API_BASE_URL unset: the worker asks GET /api/1/users/region once and keeps the answer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.clock import ManualClock
from shared.settings import DEFAULT_API_BASE_URL, load_settings
from shared.tesla.vehicle_api import account_base_url
from tests.fakes.stores import InMemoryDocumentStore

NA = "https://fleet-api.prd.na.vn.cloud.tesla.com"


def test_an_unset_base_url_is_asked_once_from_users_region_and_remembered(tmp_path: Path) -> None:
    settings = load_settings({"BACKEND": "local", "STATE_DIR": str(tmp_path)})
    store, clock, asked = InMemoryDocumentStore(), ManualClock(datetime(2026, 12, 3, tzinfo=UTC)), []

    def ask(base: str) -> dict[str, Any]:
        asked.append(base)
        return {"region": "na", "fleet_api_base_url": NA + "/"}

    assert account_base_url(settings, store, clock, ask) == NA
    assert account_base_url(settings, store, clock, ask) == NA  # a second instance reads the store
    assert asked == [DEFAULT_API_BASE_URL]


def test_a_configured_base_url_is_used_without_asking(tmp_path: Path) -> None:
    settings = load_settings({"BACKEND": "local", "STATE_DIR": str(tmp_path), "TESLA_API_BASE_URL": NA})

    def ask(base: str) -> dict[str, Any]:
        raise AssertionError("users/region must not be asked when TESLA_API_BASE_URL is set")

    assert (
        account_base_url(settings, InMemoryDocumentStore(), ManualClock(datetime(2026, 12, 3, tzinfo=UTC)), ask) == NA
    )
