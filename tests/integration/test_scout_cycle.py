"""Scout and normal cycle end to end: through functions-framework, the real worker and the Tesla simulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from simulator.harness import HOME, System, simulation_env
from worker_service.services.charging_cycle import cycle_schedule_id

EVENING = datetime(2026, 11, 23, 16, 0)  # Monday
AWAY = (HOME[0] + 0.05, HOME[1])  # about 5.6 km north
VIN2 = "5YJ3E7EB2NF000002"


def settle(system: System) -> None:
    """Let the first sighting pass and the car fall asleep away from home."""
    system.sim.move(system.vin, *AWAY)
    system.sim.plug(system.vin, False)
    system.scout_tick()
    system.sim.force_sleep(system.vin)
    system.scout_tick()


def test_arriving_home_triggers_exactly_one_cycle_with_a_cheapest_window_schedule(
    make_system: Callable[..., System],
) -> None:
    system = make_system(EVENING, vehicle={"battery_level": 35, "charge_limit": 80, "plugged_in": False})
    settle(system)
    system.sim.drive(system.vin)
    system.advance(timedelta(minutes=15))
    system.sim.park(system.vin, *HOME, battery_level=30)
    system.sim.plug(system.vin, True)
    results = []
    for _ in range(8):  # two hours of ticks after arrival
        system.clock.advance(timedelta(minutes=15))
        results.append(system.scout_tick())
    reasons = [r["reason"] for r in results if r["worker_triggered"]]
    assert reasons.count("arrived_home") == 1
    arrived = next(r for r in results if r["reason"] == "arrived_home")
    assert arrived["at_home"] is True and arrived["distance_m"] < 1
    schedules = system.sim.snapshot(system.vin)["schedules"]
    ours = [s for s in schedules if s["id"] == cycle_schedule_id(system.vin)]
    assert len(ours) == 1
    # G12w on a weekday: cheap 22:00-06:00; 50 % of 75 kWh / 0.9 at 11 kW is ~3.8 h, ending by 07:00
    start, end = ours[0]["start_time"], ours[0]["end_time"]
    assert start >= 22 * 60 or end <= 6 * 60
    assert end <= 6 * 60


def test_an_asleep_car_costs_one_free_state_call_per_tick_and_nothing_billed(
    make_system: Callable[..., System],
) -> None:
    system = make_system(EVENING, vehicle={"battery_level": 60, "charge_limit": 80, "plugged_in": False})
    settle(system)
    before = system.sim.counters()
    for _ in range(12):
        system.clock.advance(timedelta(minutes=15))
        result = system.scout_tick()
        assert result["vehicle_state"] == "asleep" and result["at_home"] is None and not result["worker_triggered"]
    after = system.sim.counters()
    assert after["state_calls"] - before["state_calls"] == 12
    assert (after["data"], after["wakes"], after["commands"]) == (before["data"], before["wakes"], before["commands"])


def test_the_scout_never_wakes_the_car_or_refreshes_tokens_itself(make_system: Callable[..., System]) -> None:
    system = make_system(EVENING, vehicle={"battery_level": 60, "plugged_in": False})
    settle(system)
    for _ in range(40):  # ten hours: the 8-hour access token expires on the way
        system.clock.advance(timedelta(minutes=15))
        system.scout_tick()
    paths = [r.path for r in system.sim.requests()]
    assert not any(p.endswith("/wake_up") for p in paths)
    status, body = system.call_worker("GET", "/get-token")
    assert status == 200 and body["remaining_minutes"] > 5
    assert system.sim.counters()["rejected_refreshes"] == 0


def test_a_special_session_blocks_the_scout_trigger(make_system: Callable[..., System]) -> None:
    system = make_system(EVENING, vehicle={"battery_level": 40, "plugged_in": True})
    settle(system)
    system.services.store.set(
        "special_charging_sessions",
        "special_1_20261124_0600",
        {"session_id": "special_1_20261124_0600", "vin": system.vin, "status": "ACTIVE"},
    )
    system.sim.park(system.vin, *HOME)
    system.clock.advance(timedelta(minutes=10))  # before the idle car falls asleep again
    result = system.scout_tick()
    assert result["reason"] == "blocked_by_special_charging" and result["worker_triggered"] is False


def test_the_cycle_replaces_its_own_schedule_only(make_system: Callable[..., System]) -> None:
    system = make_system(datetime(2026, 11, 23, 21, 0), vehicle={"battery_level": 30, "charge_limit": 80})
    owner_schedule = {
        "id": 777,
        "days_of_week": "All",
        "enabled": True,
        "start_enabled": True,
        "start_time": 120,
        "end_enabled": False,
        "end_time": 0,
        "lat": HOME[0],
        "lon": HOME[1],
        "one_time": False,
    }
    system.services.vehicle().wake_up(system.vin)
    system.services.vehicle().add_charge_schedule(system.vin, owner_schedule)
    status, first = system.call_worker("POST", "/run-cycle", {})
    assert status == 200 and first["skipped"] is False
    status, again = system.call_worker("POST", "/run-cycle", {})
    assert again["skipped"] is True and again["reason"] == "schedule_current"  # nothing moved: no call at all
    system.sim.set_soc(system.vin, 20)  # a trip later: the car comes home with less charge
    arrival = {
        "reason": "arrived_home",
        "vin": system.vin,
        "at_home": True,
        "charge_state": {"battery_level": 20, "charge_limit_soc": 80},
    }
    status, second = system.call_worker("POST", "/scout-trigger", arrival)
    assert status == 200 and second["plan"] != first["plan"]
    ids = sorted(s["id"] for s in system.sim.snapshot(system.vin)["schedules"])
    assert ids == sorted([777, cycle_schedule_id(system.vin)])
    status, third = system.call_worker("POST", "/scout-trigger", arrival)
    assert third.get("unchanged") is True  # repeating sends nothing new


def test_several_vins_get_one_answer_each(make_system: Callable[..., System], tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = simulation_env(tmp_path / "state", TESLA_VIN=f"5YJ3E7EB2NF000001,{VIN2}")
    system = make_system(EVENING, env=env, vehicle={"plugged_in": False})
    result = system.scout_tick()
    assert [v["vin"] for v in result["vehicles"]] == ["5YJ3E7EB2NF000001", VIN2]
    assert all(v["reason"] == "first_detection" for v in result["vehicles"])


def test_the_failsafe_does_not_wake_a_car_whose_schedule_is_current(make_system: Callable[..., System]) -> None:
    system = make_system(datetime(2026, 11, 23, 18, 0), vehicle={"battery_level": 30, "charge_limit": 80})
    status, first = system.call_worker("POST", "/run-cycle", {})
    assert status == 200 and first["skipped"] is False
    system.sim.force_sleep(system.vin)
    system.clock.advance(timedelta(hours=6))  # midnight: the failsafe fires
    before = system.sim.counters()
    status, body = system.call_worker("POST", "/run-cycle", {})
    assert body["reason"] == "schedule_current"
    after = system.sim.counters()
    assert (after["wakes"], after["data"], after["commands"]) == (before["wakes"], before["data"], before["commands"])


def test_the_car_waking_to_charge_does_not_resend_the_schedule(make_system: Callable[..., System]) -> None:
    system = make_system(datetime(2026, 11, 23, 18, 0), vehicle={"battery_level": 30, "charge_limit": 80})
    system.call_worker("POST", "/run-cycle", {})
    commands = system.sim.counters()["commands"]
    woke = {
        "reason": "online_state_changed",
        "vin": system.vin,
        "at_home": True,
        "charge_state": {"battery_level": 31, "charge_limit_soc": 80},
    }
    status, body = system.call_worker("POST", "/scout-trigger", woke)
    assert status == 200 and body["reason"] == "schedule_current"
    assert system.sim.counters()["commands"] == commands
