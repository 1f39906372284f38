"""Stored plan (JSON) → the `add_charge_schedule` bodies, with the ids this system keeps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.domain.charging_schedule import charge_schedule_payload
from shared.domain.planner import ChargingWindow
from shared.errors import ConfigError
from shared.settings import Settings


def schedule_payloads_from_plan(settings: Settings, plan: dict[str, Any], first_id: int) -> list[dict[str, Any]]:
    """One schedule per window, ids first_id, first_id+1, ... (so ours can be removed exactly)."""
    if settings.home_latitude is None or settings.home_longitude is None:
        raise ConfigError("HOME_LATITUDE and HOME_LONGITUDE are required: a Tesla schedule is tied to a place")
    payloads = []
    for index, window in enumerate(plan.get("windows") or []):
        span = ChargingWindow(datetime.fromisoformat(window["start"]), datetime.fromisoformat(window["end"]))
        payloads.append(
            charge_schedule_payload(
                span,
                settings.timezone,
                schedule_id=first_id + index,
                latitude=settings.home_latitude,
                longitude=settings.home_longitude,
            )
        )
    return payloads
