"""The household's month as a list of timed events: leave, drive, park, plug in, ask for an early departure.

Deterministic for a seed: each day draws from its own random generator (seed and day number), so
changing one day of a scenario leaves the others as they were.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from shared.domain.tariffs import is_public_holiday
from simulator.scenario import Place, Scenario, ScenarioError, SpecialNeed

EN_ROUTE_AFTER = timedelta(minutes=2)  # the car has left the geofence this long after setting off


@dataclass(frozen=True)
class HouseholdEvent:
    """One thing the household does at `at` (aware UTC).

    kinds: `depart` (drive off, unplugging; `need` set when this is a special need's departure),
    `en_route` (halfway between home and `place`), `arrive` (park at `place` after `km` of driving),
    `plug` (plug in at home), `register_need` (POST /special-charging-needs for `need`).
    """

    at: datetime
    kind: str
    place: str = ""
    km: float = 0.0
    need: SpecialNeed | None = None
    day: int = 0


def places(scenario: Scenario) -> dict[str, Place]:
    """Where the car can park: home, work, and a trip destination away from both."""
    home = scenario.home
    return {
        "home": home,
        "work": scenario.work,
        "trip": Place(home.latitude + 0.45, home.longitude + 0.35),
    }


def halfway(scenario: Scenario, place: str) -> Place:
    """Where the car is while driving between home and `place`."""
    home, there = scenario.home, places(scenario)[place]
    return Place((home.latitude + there.latitude) / 2, (home.longitude + there.longitude) / 2)


def household_events(scenario: Scenario, days: int, seed: int) -> list[HouseholdEvent]:
    """Every household event of the first `days` days, in time order."""
    needs_by_day: dict[int, SpecialNeed] = {}
    for need in scenario.special_needs:
        if need.day in needs_by_day:
            raise ScenarioError(f"two special needs on day {need.day}")
        needs_by_day[need.day] = need
    events: list[HouseholdEvent] = []
    for day in range(days):
        rng = random.Random(seed * 1_000_003 + day)
        events.extend(_day_events(scenario, day, rng, needs_by_day))
    return sorted(events, key=lambda e: (e.at, _ORDER[e.kind]))


_ORDER = {"arrive": 0, "plug": 1, "register_need": 2, "depart": 3, "en_route": 4}


def _day_events(
    scenario: Scenario, day: int, rng: random.Random, needs_by_day: dict[int, SpecialNeed]
) -> list[HouseholdEvent]:
    zone = scenario.timezone
    today = scenario.start + timedelta(days=day)

    def at(wall: time, jitter_minutes: int = 0, offset: timedelta = timedelta(0)) -> datetime:
        jitter = timedelta(minutes=rng.randint(-jitter_minutes, jitter_minutes)) if jitter_minutes else timedelta(0)
        return (datetime.combine(today, wall, tzinfo=zone) + jitter + offset).astimezone(zone)

    events: list[HouseholdEvent] = []
    tomorrow_need = needs_by_day.get(day + 1)
    if tomorrow_need is not None:
        events.append(HouseholdEvent(at(tomorrow_need.registered), "register_need", need=tomorrow_need, day=day))
    # The owner who asked for an early departure plugs in that evening.
    plugs = tomorrow_need is not None or rng.random() < scenario.plug_in.probability
    delay = timedelta(minutes=rng.randint(*scenario.plug_in.delay_minutes))

    need = needs_by_day.get(day)
    commute = scenario.commute
    workday = commute is not None and today.weekday() in commute.days and not is_public_holiday(today)
    if need is not None:
        back_wall = commute.come_back if commute else time(17, 0)
        jitter = commute.come_back_jitter_minutes if commute else 30
        # A long trip takes longer than the commute: half the distance at 80 km/h, at least the usual drive.
        usual = commute.drive_minutes if commute else 45
        drive = timedelta(minutes=max(usual, round(need.km / 2 / 80 * 60)))
        leave = datetime.combine(today, need.departure, tzinfo=zone)
        events += _round_trip(leave, at(back_wall, jitter), drive, "trip", need.km, plugs, delay, day, need)
    elif workday and commute is not None:
        leave = at(commute.leave, commute.leave_jitter_minutes)
        back = at(commute.come_back, commute.come_back_jitter_minutes)
        events += _round_trip(
            leave, back, timedelta(minutes=commute.drive_minutes), "work", 2 * commute.km, plugs, delay, day
        )
    elif scenario.weekend_trips is not None:
        trips = scenario.weekend_trips
        goes = rng.random() < trips.probability
        leave = at(trips.leave, trips.leave_jitter_minutes)
        hours = rng.uniform(*trips.hours)
        km = rng.uniform(*trips.km)
        if goes:
            drive = timedelta(minutes=trips.drive_minutes)
            back = leave + drive + timedelta(hours=hours)
            events += _round_trip(leave, back, drive, "trip", round(km, 1), plugs, delay, day)
    return events


def _round_trip(
    leave: datetime,
    back: datetime,
    drive: timedelta,
    place: str,
    km: float,
    plugs: bool,
    delay: timedelta,
    day: int,
    need: SpecialNeed | None = None,
) -> list[HouseholdEvent]:
    """Drive there, park, drive home, park, maybe plug in; `km` is the whole round trip."""
    back = max(back, leave + 2 * drive + timedelta(minutes=30))
    half = km / 2
    events = [
        HouseholdEvent(leave, "depart", place=place, need=need, day=day),
        HouseholdEvent(leave + EN_ROUTE_AFTER, "en_route", place=place, day=day),
        HouseholdEvent(leave + drive, "arrive", place=place, km=half, day=day),
        HouseholdEvent(back, "depart", place="home", day=day),
        HouseholdEvent(back + EN_ROUTE_AFTER, "en_route", place=place, day=day),
        HouseholdEvent(back + drive, "arrive", place="home", km=half, day=day),
    ]
    if plugs:
        events.append(HouseholdEvent(back + drive + delay, "plug", place="home", day=day))
    return events
