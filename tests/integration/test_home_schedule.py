"""The home schedule is always on the car: no charging outside a planned window, under both readings of Tesla's
undocumented rule for days a schedule does not cover, and it keeps working for nights the cloud is down."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from simulator.harness import System
from simulator.tesla_sim import SimConfig

FRIDAY_EVENING = datetime(2026, 11, 27, 18, 0)


@pytest.mark.parametrize("reading", ["every_day", "covered_days"])
def test_after_the_first_plan_nothing_charges_outside_a_planned_window(
    make_system: Callable[..., System], reading: str
) -> None:
    system = make_system(
        FRIDAY_EVENING,
        vehicle={"battery_level": 40, "charge_limit": 80, "asleep": False, "plugged_in": False},
        sim_config=SimConfig(schedule_reading=reading),
    )
    system.sim.plug(system.vin)
    first = system.scout_tick()  # first sighting: the worker puts the home schedule on the car
    assert first["worker_triggered"] is True
    placed = system.clock.now()
    schedules = system.sim.snapshot(system.vin)["schedules"]
    assert schedules and all(s["days_of_week"] == 127 and not s["one_time"] for s in schedules)
    for day in range(3):  # the weekend: unplug, drive a little, come back and plug in at odd hours
        system.advance(timedelta(hours=15), scout_every=15)
        system.sim.drive(system.vin)
        system.clock.advance(timedelta(minutes=30))
        system.sim.park(system.vin, battery_level=55 - 5 * day)
        system.sim.plug(system.vin)
        system.advance(timedelta(hours=8, minutes=30), scout_every=15)
    system.advance(timedelta(hours=14), scout_every=15)  # through the night: its window charges the car
    unplanned = [seg for seg in system.sim.unscheduled_charging(system.vin) if seg[0] >= placed]
    assert unplanned == [], f"charged outside a planned window under the {reading} reading: {unplanned}"
    # and it still charged, inside the recurring window (the car never left home, so no new plan was made)
    assert system.sim.snapshot(system.vin)["battery_level"] > 60


def test_the_last_plan_keeps_charging_every_night_when_the_cloud_is_down(make_system: Callable[..., System]) -> None:
    system = make_system(FRIDAY_EVENING, vehicle={"battery_level": 40, "charge_limit": 80, "asleep": False})
    system.scout_tick()
    system.advance(timedelta(hours=20), scout_every=None, step=timedelta(hours=1))  # no scout, no jobs
    nights = {a.date() for a, _, _ in system.sim.charge_log(system.vin)}
    system.sim.set_soc(system.vin, 45)  # the owner drove, then plugged in again; the cloud is still down
    system.advance(timedelta(hours=24), scout_every=None, step=timedelta(hours=1))
    later = {a.date() for a, _, _ in system.sim.charge_log(system.vin)}
    assert len(later) > len(nights)  # charged again the next night, in the same (recurring) window
    assert system.sim.unscheduled_charging(system.vin) == []


def test_the_failsafe_does_not_wake_a_car_that_slept_at_home_since_its_plan_ran(
    make_system: Callable[..., System],
) -> None:
    system = make_system(FRIDAY_EVENING, vehicle={"battery_level": 40, "charge_limit": 80, "asleep": False})
    system.scout_tick()  # plugged in at home: planned, home schedule placed
    system.advance(timedelta(hours=30), scout_every=None)  # charged in the night's window, then slept
    assert system.sim.snapshot(system.vin)["state"] == "asleep"
    wakes = system.sim.counters()["wakes"]
    status, body = system.call_worker("POST", "/run-cycle")
    assert status == 200 and body["reason"] in ("already_at_limit", "schedule_unchanged", "schedule_current"), body
    assert system.sim.counters()["wakes"] == wakes  # the completed plan says it is full: no $0.02 wake


def test_the_failsafe_leaves_an_unplugged_sleeping_car_alone(make_system: Callable[..., System]) -> None:
    system = make_system(
        FRIDAY_EVENING, vehicle={"battery_level": 40, "charge_limit": 80, "asleep": False, "plugged_in": False}
    )
    system.scout_tick()  # at home, not plugged in: the home schedule is there for when it is
    system.advance(timedelta(hours=30), scout_every=None)  # past the plan's window: the plan is not current
    wakes = system.sim.counters()["wakes"]
    status, body = system.call_worker("POST", "/run-cycle")
    assert status == 200 and body["reason"] == "not_plugged_in", body
    assert system.sim.counters()["wakes"] == wakes  # plugging in wakes the car; the scout plans then
