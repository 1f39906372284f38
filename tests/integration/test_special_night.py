"""Special charging end to end: a need becomes a session whose two jobs fire by themselves."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from simulator.harness import System

NIGHT = datetime(2026, 11, 23, 20, 0)  # a Monday; G12w is cheap 22:00-06:00
DEPARTURE = "2026-11-24T06:00:00+01:00"


def plan_night(make_system: Callable[..., System], **vehicle: Any) -> System:
    car = {"battery_level": 40, "charge_limit": 80, "plugged_in": True, **vehicle}
    system = make_system(NIGHT, vehicle=car)
    status, body = system.call_worker("POST", "/special-charging-needs", {"target_soc": 90, "departure": DEPARTURE})
    assert status == 201, body
    system.advance(timedelta(hours=3))  # to 23:00, the daily check's time
    status, body = system.call_worker("POST", "/daily-special-charging-check")
    assert status == 200, body
    return system


def session(system: System) -> dict[str, Any]:
    status, body = system.call_worker("GET", "/special-charging-sessions/special_1_20261124_0600")
    assert status == 200, body
    return body["session"]


def schedule_ids(system: System) -> list[int]:
    return [s["id"] for s in system.sim.snapshot(system.vin)["schedules"]]


def jobs(system: System) -> list[str]:
    return sorted(job["name"] for job in system.call_worker("GET", "/scheduler-jobs")[1]["jobs"])


def test_a_need_becomes_a_session_whose_jobs_fire_and_leave_nothing_behind(make_system: Callable[..., System]) -> None:
    system = plan_night(make_system)
    created = session(system)
    assert created["status"] == "SCHEDULED"
    assert created["charging_end"] == "2026-11-24T05:00:00+01:00"  # departure minus the 60 min margin
    send_at = datetime.fromisoformat(created["send_schedule_at"])
    assert send_at == datetime.fromisoformat(created["charging_start"]) - timedelta(minutes=120)
    assert jobs(system) == ["special-cleanup-special-1-20261124-0600", "special-send-special-1-20261124-0600"]
    listed = {j["name"]: j for j in system.call_worker("GET", "/scheduler-jobs")[1]["jobs"]}
    send_job = listed["special-send-special-1-20261124-0600"]
    assert send_job["time_zone"] == "Etc/UTC" and send_job["body"] == {"session_id": "special_1_20261124_0600"}
    utc = send_at.utctimetuple()
    assert send_job["schedule"] == f"{utc.tm_min} {utc.tm_hour} {utc.tm_mday} {utc.tm_mon} *"

    system.advance(timedelta(hours=7))  # to 06:00, departure
    car = system.sim.snapshot(system.vin)
    done = session(system)
    assert done["status"] == "COMPLETED"
    assert done["original_charge_limit"] == 80 and car["charge_limit"] == 80  # the old limit is back
    assert car["battery_level"] >= 90  # the need was met by departure
    # the session's windows are gone: the car holds the everyday home schedule it held before, recurring
    assert schedule_ids(system) == [p["id"] for p in done["home_schedule_before"]]
    assert all(not s["one_time"] for s in system.sim.snapshot(system.vin)["schedules"])
    assert jobs(system) == []  # both jobs deleted themselves
    assert [(f.name.split("-")[1], f.status) for f in system.fired] == [("send", 200), ("cleanup", 200)]
    events = [h["event"] for h in done["history"]]
    assert "original charge limit 80 % remembered" in events and "charge limit restored to 80 %" in events


def test_charging_happens_inside_the_planned_window(make_system: Callable[..., System]) -> None:
    system = plan_night(make_system)
    planned = session(system)
    system.advance(timedelta(hours=7))
    start = datetime.fromisoformat(planned["charging_start"])
    end = datetime.fromisoformat(planned["charging_end"])
    night_charging = [(a, b) for a, b, _ in system.sim.charge_log(system.vin) if a >= start - timedelta(hours=3)]
    assert night_charging and all(start <= a and b <= end for a, b in night_charging)


def test_running_the_daily_check_twice_creates_nothing_twice(make_system: Callable[..., System]) -> None:
    system = plan_night(make_system)
    before = jobs(system)
    status, body = system.call_worker("POST", "/daily-special-charging-check")
    assert status == 200 and body["sessions"] == []
    assert jobs(system) == before
    assert len(system.call_worker("GET", "/special-charging-sessions")[1]["sessions"]) == 1


def test_send_time_already_passed_sends_at_once_without_a_send_job(make_system: Callable[..., System]) -> None:
    system = make_system(NIGHT, vehicle={"battery_level": 20, "charge_limit": 80, "plugged_in": True})
    system.call_worker("POST", "/special-charging-needs", {"target_soc": 100, "departure": DEPARTURE})
    system.advance(timedelta(hours=3))
    system.call_worker("POST", "/daily-special-charging-check")
    assert session(system)["status"] == "ACTIVE"
    assert jobs(system) == ["special-cleanup-special-1-20261124-0600"]
    assert system.sim.snapshot(system.vin)["charge_limit"] == 100


def test_duplicate_and_concurrent_deliveries_send_one_set_of_commands(make_system: Callable[..., System]) -> None:
    system = plan_night(make_system)
    system.clock.set(datetime.fromisoformat(session(system)["send_schedule_at"]))
    before = system.sim.counters()["commands"]
    answers: list[tuple[int, dict[str, Any]]] = []

    def deliver() -> None:
        answers.append(system.call_worker("POST", "/send-special-schedule", {"session_id": "special_1_20261124_0600"}))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # one delivery sends; one that finds it mid-way answers 503 (Cloud Scheduler retries it later)
    assert all(status == 200 or (status == 503 and body["in_progress"]) for status, body in answers)
    again = system.call_worker("POST", "/send-special-schedule", {"session_id": "special_1_20261124_0600"})
    assert again[0] == 200 and again[1]["already_done"] is True
    # one set_charge_limit and one add_charge_schedule: the session's window replaces the everyday one
    # in the same home-schedule slot (no separate remove)
    assert system.sim.counters()["commands"] - before == 2
    assert session(system)["status"] == "ACTIVE"


def test_a_tesla_outage_during_cleanup_is_retried_and_the_limit_still_comes_back(
    make_system: Callable[..., System],
) -> None:
    system = plan_night(make_system)
    cleanup_at = datetime.fromisoformat(session(system)["cleanup_at"])
    system.advance(cleanup_at - system.clock.now() - timedelta(minutes=1))
    assert session(system)["status"] == "ACTIVE"
    system.sim.faults.add("*/command/set_charge_limit", status=503, count=8)
    system.advance(timedelta(minutes=2))
    failed = session(system)
    assert failed["status"] == "ACTIVE" and "tesla_unavailable" in (failed["last_error"] or "")
    assert "special-cleanup-special-1-20261124-0600" in jobs(system)  # kept for the retry
    system.advance(timedelta(minutes=30))  # the scheduler's retry after the outage
    assert session(system)["status"] == "COMPLETED"
    assert system.sim.snapshot(system.vin)["charge_limit"] == 80
    assert jobs(system) == []


def test_cancel_in_each_state(make_system: Callable[..., System]) -> None:
    # SCHEDULED: cancelled, jobs gone, no command sent
    system = plan_night(make_system)
    commands = system.sim.counters()["commands"]
    status, body = system.call_worker("DELETE", "/special-charging-needs/need_1")
    assert status == 200 and body["need"]["status"] == "CANCELLED"
    assert session(system)["status"] == "CANCELLED" and jobs(system) == []
    assert system.sim.counters()["commands"] == commands


def test_cancelling_an_active_session_restores_the_limit(make_system: Callable[..., System]) -> None:
    system = plan_night(make_system)
    system.advance(timedelta(hours=2))  # past the send, inside the night
    assert session(system)["status"] == "ACTIVE" and system.sim.snapshot(system.vin)["charge_limit"] == 90
    status, _ = system.call_worker("DELETE", "/special-charging-needs/need_1")
    assert status == 200
    cancelled = session(system)
    assert cancelled["status"] == "CANCELLED" and cancelled["limit_restored"] is True
    assert system.sim.snapshot(system.vin)["charge_limit"] == 80
    assert schedule_ids(system) == [p["id"] for p in cancelled["home_schedule_before"]]  # the everyday one is back
    assert jobs(system) == []
    assert system.call_worker("DELETE", "/special-charging-needs/need_1")[0] == 200  # twice is fine


def test_a_completed_session_cannot_be_cancelled_into_another_state(make_system: Callable[..., System]) -> None:
    system = plan_night(make_system)
    system.advance(timedelta(hours=7))
    system.call_worker("DELETE", "/special-charging-needs/need_1")
    assert session(system)["status"] == "COMPLETED"


def test_the_sweeper_deletes_jobs_of_finished_sessions_and_closes_overdue_ones(
    make_system: Callable[..., System],
) -> None:
    system = plan_night(make_system)
    system.advance(timedelta(hours=2))
    assert session(system)["status"] == "ACTIVE"
    # the cleanup job is lost (e.g. deleted by hand) and its time passes
    system.services.scheduler.delete("special-cleanup-special-1-20261124-0600")
    system.advance(timedelta(hours=20))  # next evening, 23:00 daily check
    assert session(system)["status"] == "ACTIVE" and system.sim.snapshot(system.vin)["charge_limit"] == 90
    status, body = system.call_worker("POST", "/daily-special-charging-check")
    assert status == 200 and body["swept"]["sessions_closed"] == 1
    assert session(system)["status"] == "COMPLETED" and system.sim.snapshot(system.vin)["charge_limit"] == 80


def test_normal_cycle_is_blocked_while_a_session_is_active(make_system: Callable[..., System]) -> None:
    system = plan_night(make_system)
    system.advance(timedelta(hours=2))
    commands = system.sim.counters()["commands"]
    for path in ("/scout-trigger", "/run-cycle"):
        status, body = system.call_worker("POST", path, {})
        assert status == 200 and body["skipped"] is True and body["reason"] == "special_charging_active"
    assert system.sim.counters()["commands"] == commands


def test_a_send_whose_run_died_holding_the_session_is_retried_after_the_claim_lapses(
    make_system: Callable[..., System],
) -> None:
    from shared.domain import session as S

    system = plan_night(make_system)
    send_at = datetime.fromisoformat(session(system)["send_schedule_at"])
    system.advance(send_at - system.clock.now() - timedelta(minutes=1))
    # an instance died a moment ago in the middle of this send, still holding the session
    system.services.store.update(
        "special_charging_sessions",
        "special_1_20261124_0600",
        lambda cur: S.claim(cur, "dead-instance", "send", system.clock.now()),
    )
    system.advance(timedelta(minutes=6))
    statuses = [f.status for f in system.fired if "send" in f.name]
    assert statuses[0] == 503 and statuses[-1] == 200  # refused while claimed, then retried and sent
    assert session(system)["status"] == "ACTIVE" and system.sim.snapshot(system.vin)["charge_limit"] == 90


def test_the_everyday_schedule_makes_way_for_the_session_and_comes_back_after(
    make_system: Callable[..., System],
) -> None:
    from worker_service.services.charging_cycle import cycle_schedule_id

    system = make_system(datetime(2026, 11, 23, 18, 0), vehicle={"battery_level": 40, "charge_limit": 80})
    system.call_worker("POST", "/run-cycle", {})
    everyday = cycle_schedule_id(system.vin)
    assert everyday in schedule_ids(system)
    system.call_worker("POST", "/special-charging-needs", {"target_soc": 90, "departure": DEPARTURE})
    system.advance(timedelta(hours=5))  # 23:00 daily check, then the send
    system.call_worker("POST", "/daily-special-charging-check")
    system.advance(timedelta(hours=2))
    active = session(system)
    assert active["status"] == "ACTIVE"
    on_car = system.sim.snapshot(system.vin)["schedules"]
    session_minutes = [p["start_time"] for p in active["home_schedule_before"]]
    # only the session's window charges tonight: the everyday slot holds the session's window now
    assert [s["id"] for s in on_car] == [everyday] and [s["start_time"] for s in on_car] != session_minutes
    system.advance(timedelta(hours=6))
    done = session(system)
    assert done["status"] == "COMPLETED"
    assert [s["start_time"] for s in system.sim.snapshot(system.vin)["schedules"]] == session_minutes  # back
    status, body = system.call_worker("POST", "/run-cycle", {})
    # at 90 % of an 80 % limit there is nothing to do
    assert status == 200 and body["reason"] == "already_at_limit"
