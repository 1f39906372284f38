"""What the scout remembers per vehicle, and when a tick must call the worker or read vehicle_data (pure).

Billing (FACTS): the state call is free, `vehicle_data` costs $1 per 500. The scout reads
`vehicle_data` only for an online car whose position matters: first sighting, a car that was
away or driving (it may be arriving), a car that just woke, or a long-parked one re-checked hourly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

# A car parked at home and awake (charging, usually) is re-read this often, in case it left and
# came back without sleeping; the nightly failsafe cycle covers the rest.
HOME_RECHECK = timedelta(hours=4)


@dataclass(frozen=True)
class ScoutState:
    """The last state the scout acted on, per VIN (document store `scout_state/<vin>`)."""

    vin: str
    vehicle_state: str
    at_home: bool | None
    distance_m: float | None
    last_data_at: str | None
    updated_at: str

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    def differs_from(self, other: ScoutState) -> bool:
        """A change worth a write: anything but the time of the tick (Firestore writes add up)."""
        return replace(self, updated_at=other.updated_at) != other

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ScoutState:
        return cls(
            vin=str(doc["vin"]),
            vehicle_state=str(doc.get("vehicle_state", "unknown")),
            at_home=doc.get("at_home"),
            distance_m=doc.get("distance_m"),
            last_data_at=doc.get("last_data_at"),
            updated_at=str(doc.get("updated_at", "")),
        )


@dataclass(frozen=True)
class Observation:
    """What this tick saw: the state, and the position when it was read."""

    vehicle_state: str
    at_home: bool | None = None
    distance_m: float | None = None
    data_read: bool = False


@dataclass(frozen=True)
class Decision:
    trigger: bool
    reason: str


def needs_vehicle_data(previous: ScoutState | None, vehicle_state: str, now: datetime) -> bool:
    """Whether this tick should pay for `vehicle_data` (never when the car is not online)."""
    if vehicle_state != "online":
        return False
    if previous is None or previous.vehicle_state != "online" or previous.at_home is not True:
        return True
    if previous.last_data_at is None:
        return True
    return now - datetime.fromisoformat(previous.last_data_at) >= HOME_RECHECK


def decide(previous: ScoutState | None, seen: Observation) -> Decision:
    """Call the worker on first sighting, on arrival home, and when online-ness changes."""
    if previous is None:
        return Decision(True, "first_detection")
    if (previous.vehicle_state == "online") != (seen.vehicle_state == "online"):
        return Decision(True, "online_state_changed")
    if seen.at_home is True and previous.at_home is False:
        return Decision(True, "arrived_home")
    return Decision(False, "no_change")


def next_state(previous: ScoutState | None, vin: str, seen: Observation, now: datetime) -> ScoutState:
    """The state to remember after this tick; a position not read this tick is carried over."""
    stamp = now.isoformat()
    if previous is None:
        previous = ScoutState(vin, seen.vehicle_state, None, None, None, stamp)
    at_home, distance = previous.at_home, previous.distance_m
    if seen.data_read:
        at_home, distance = seen.at_home, seen.distance_m
    return replace(
        previous,
        vehicle_state=seen.vehicle_state,
        at_home=at_home,
        distance_m=distance,
        last_data_at=stamp if seen.data_read else previous.last_data_at,
        updated_at=stamp,
    )
