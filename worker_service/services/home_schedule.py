"""Keeping the home schedule on the car: recurring every-day windows at home holding the current plan.

The everyday cycle puts tonight's plan there, a special session puts its own windows there for its
night, and the session's cleanup puts the everyday plan back. Only what differs from what the car
holds (read with vehicle_data when a reading is at hand, else what we last sent) is sent: each
command is billed. Our ids are a fixed block per car, so the owner's own schedules are never
touched — they are reported as drift, as are ours that vanished from the car.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.domain import home_schedule as home
from shared.domain.planner import ChargingWindow
from shared.errors import ConfigError
from shared.log import get_logger

if TYPE_CHECKING:
    from worker_service.container import Services

log = get_logger("WORKER")
CYCLE_STATE = "cycle_state"
HOME_SLOTS = 24  # MAX_WINDOWS' ceiling: one id per possible window


def base_id(vin: str) -> int:
    """The first id of the car's block of home-schedule ids (stable per VIN, below 100,000)."""
    return 10_000 + int(hashlib.sha256(f"cycle:{vin}".encode()).hexdigest()[:6], 16) % 90_000


def home_ids(vin: str) -> list[int]:
    """Every id this system may use for the car's home schedule."""
    return [base_id(vin) + i for i in range(HOME_SLOTS)]


def expected(s: Services, vin: str) -> list[dict[str, Any]]:
    """The home schedule we last put on the car ([] before the first)."""
    return list((s.store.get(CYCLE_STATE, vin) or {}).get("home_schedule") or [])


def windows_of(plan: dict[str, Any]) -> list[ChargingWindow]:
    """A stored plan's windows as ChargingWindows."""
    return [
        ChargingWindow(datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"]))
        for w in plan.get("windows") or []
    ]


def schedules_on_car(data: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The car's charge schedules from a vehicle_data answer (charge_schedule_data), None when not read."""
    if not data:
        return None
    block = data.get("charge_schedule_data")
    schedules = block.get("charge_schedules") if isinstance(block, dict) else None
    if schedules is None:
        schedules = (data.get("charge_state") or {}).get("charge_schedules")
    return [x for x in schedules if isinstance(x, dict)] if isinstance(schedules, list) else None


def _home(s: Services) -> tuple[float, float]:
    settings = s.settings
    if settings.home_latitude is None or settings.home_longitude is None:
        raise ConfigError("HOME_LATITUDE and HOME_LONGITUDE are required: a Tesla schedule is tied to a place")
    return settings.home_latitude, settings.home_longitude


def desired(s: Services, vin: str, windows: Sequence[ChargingWindow]) -> list[dict[str, Any]]:
    """The home schedule holding these windows."""
    latitude, longitude = _home(s)
    ids = home_ids(vin)[: len(windows)]
    return home.home_schedule(windows, s.settings.timezone, ids=ids, latitude=latitude, longitude=longitude)


def changes(
    s: Services, vin: str, windows: Sequence[ChargingWindow], on_car: list[dict[str, Any]] | None
) -> tuple[list[dict[str, Any]], home.ScheduleDiff]:
    """The wanted home schedule and the commands that would put it on the car (nothing is sent)."""
    wanted = desired(s, vin, windows)
    return wanted, diff_to(s, vin, wanted, on_car)


def diff_to(
    s: Services, vin: str, wanted: Sequence[dict[str, Any]], on_car: list[dict[str, Any]] | None
) -> home.ScheduleDiff:
    """The commands that make the car hold these home-schedule payloads (nothing is sent)."""
    return home.diff(wanted, our_ids=home_ids(vin), expected=expected(s, vin), on_car=on_car, home=_home(s))


def put_on_car(
    s: Services, vin: str, wanted: list[dict[str, Any]], diff: home.ScheduleDiff, *, purpose: str
) -> home.ScheduleDiff:
    """Send the diff (the car must be awake), then remember what the car now holds."""
    vehicle = s.vehicle()
    for payload in diff.send:
        vehicle.add_charge_schedule(vin, payload)  # our id: replaces our previous one
    for schedule_id in diff.remove:
        vehicle.remove_charge_schedule(vin, schedule_id)
    if diff.foreign or diff.vanished:
        log.warning(
            "the car's schedules at home differ from ours: "
            + (f"{len(diff.foreign)} of the owner's; " if diff.foreign else "")
            + (f"{len(diff.vanished)} of ours vanished (sent again)" if diff.vanished else ""),
            fields={"vin": vin, "foreign_ids": diff.foreign, "vanished_ids": diff.vanished},
        )

    def remember(current: dict[str, Any] | None) -> dict[str, Any]:
        doc = dict(current or {})
        doc.update(
            home_schedule=wanted,
            home_schedule_for=purpose,
            home_schedule_at=s.clock.now().isoformat(),
            drift={"foreign": diff.foreign, "vanished": diff.vanished},
        )
        return doc

    s.store.update(CYCLE_STATE, vin, remember)
    if diff.changes:
        log.info(
            f"home schedule for {purpose}: {len(diff.send)} sent, {len(diff.remove)} removed",
            fields={"vin": vin, "commands": diff.changes},
        )
    return diff
