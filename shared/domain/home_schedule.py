"""The home schedule: recurring, every-day charge schedules at home that always hold the current plan.

Nothing on the car is one-time any more for the everyday cycle: a plugged-in car at home charges
only inside these windows, from the first plug-in on, and keeps charging in the last plan's
windows every night when the cloud is down. Tesla leaves open whether a day no schedule covers
charges at once on plug-in (FACTS); every schedule here covers all seven days, so both readings
block plug-in charging the same way. The ids are ours (a fixed block per car), so we replace and
remove exactly ours and can tell the owner's schedules and vanished ones apart (drift).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from shared.domain.charging_schedule import ALL_DAYS, charge_schedule_payload
from shared.domain.planner import ChargingWindow

ALL_DAYS_MASK = 127  # SUN=1 ... SAT=64, as the car reports days_of_week
# The car stores coordinates as float32 (it reports 52.229698181152344 for 52.2297): compare rounded.
COORD_DIGITS = 4
SAME_PLACE_M_DEGREES = 0.003  # ~300 m: the car's own "this place" radius is about 250 m


@dataclass(frozen=True)
class ScheduleDiff:
    """What to send so the car holds the desired home schedule, and what differs from what we expect."""

    send: list[dict[str, Any]] = field(default_factory=list)
    remove: list[int] = field(default_factory=list)
    foreign: list[int] = field(default_factory=list)  # schedules at home that are not ours (the owner's)
    vanished: list[int] = field(default_factory=list)  # ours that we sent and the car no longer has

    @property
    def changes(self) -> int:
        """Billed commands this diff costs."""
        return len(self.send) + len(self.remove)


def home_schedule(
    windows: Sequence[ChargingWindow], timezone: tzinfo, *, ids: Sequence[int], latitude: float, longitude: float
) -> list[dict[str, Any]]:
    """One recurring all-days schedule per window (wall-clock start and end), using ids in order."""
    if len(windows) > len(ids):
        raise ValueError(f"{len(windows)} windows need as many home schedule ids, got {len(ids)}")
    return [
        charge_schedule_payload(
            window, timezone, schedule_id=int(schedule_id), latitude=latitude, longitude=longitude, every_day=True
        )
        for window, schedule_id in zip(windows, ids, strict=False)
    ]


def comparable(schedule: Mapping[str, Any]) -> tuple[Any, ...]:
    """A schedule as sent (days by name) or as the car reports it (days as a mask), in one comparable form."""
    days = schedule.get("days_of_week")
    mask = ALL_DAYS_MASK if days == ALL_DAYS else days
    latitude = schedule.get("lat", schedule.get("latitude"))
    longitude = schedule.get("lon", schedule.get("longitude"))
    end_enabled = bool(schedule.get("end_enabled"))
    return (
        mask,
        bool(schedule.get("enabled")),
        bool(schedule.get("start_enabled")),
        int(schedule.get("start_time") or 0),
        end_enabled,
        int(schedule.get("end_time") or 0) if end_enabled else 0,
        bool(schedule.get("one_time")),
        round(float(latitude or 0.0), COORD_DIGITS),
        round(float(longitude or 0.0), COORD_DIGITS),
    )


def diff(
    desired: Sequence[Mapping[str, Any]],
    *,
    our_ids: Iterable[int],
    expected: Sequence[Mapping[str, Any]],
    on_car: Sequence[Mapping[str, Any]] | None,
    home: tuple[float, float],
) -> ScheduleDiff:
    """The commands that make the car hold `desired`; `on_car` (the car's list, when read) wins over `expected`.

    `expected` is what we last sent. Without a reading of the car, only what changed since then is
    sent; with one, ours that vanished or were changed are sent again and the owner's are reported.
    """
    ours = set(our_ids)
    wanted = {int(s["id"]): comparable(s) for s in desired}
    if on_car is None:
        held = {int(s["id"]): comparable(s) for s in expected}
        foreign: list[int] = []
        vanished: list[int] = []
    else:
        held = {int(s["id"]): comparable(s) for s in on_car if int(s.get("id") or 0) in ours}
        foreign = sorted(int(s.get("id") or 0) for s in on_car if int(s.get("id") or 0) not in ours and _at(s, home))
        vanished = sorted(int(s["id"]) for s in expected if int(s["id"]) not in held)
    send = [dict(s) for s in desired if held.get(int(s["id"])) != wanted[int(s["id"])]]
    remove = sorted(i for i in held if i not in wanted)
    return ScheduleDiff(send=send, remove=remove, foreign=foreign, vanished=vanished)


def _at(schedule: Mapping[str, Any], home: tuple[float, float]) -> bool:
    latitude = float(schedule.get("lat", schedule.get("latitude")) or 0.0)
    longitude = float(schedule.get("lon", schedule.get("longitude")) or 0.0)
    return abs(latitude - home[0]) < SAME_PLACE_M_DEGREES and abs(longitude - home[1]) < SAME_PLACE_M_DEGREES
