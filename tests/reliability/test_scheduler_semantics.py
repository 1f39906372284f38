"""Cloud Scheduler semantics of the send and cleanup jobs, and the promises around the charge limit.

Cloud Scheduler retries a non-2xx answer (three times, from 5 s) and takes any 2xx as done. So a
handler answers non-2xx while a retry can still help, and 2xx when the work is done or is given up
for good. Whatever happens, a session never finishes with its limit unrestored, and none stays
ACTIVE forever: the daily sweep restores and closes what is overdue.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shared.domain import session as S
from shared.tesla.errors import TeslaCommandFailed, TeslaUnavailable
from simulator.harness import System
from tests.reliability.special_world import (
    CLEANUP_JOB,
    SEND_JOB,
    SESSION_ID,
    call,
    car,
    cleanup,
    planned_world,
    send,
    session,
)

OUTAGE = TeslaUnavailable("Tesla answered 503 for /api/1/vehicles/VIN/command/set_charge_limit")


def test_a_tesla_failure_during_send_answers_non_2xx_and_records_the_error(tmp_path: Path) -> None:
    world = planned_world(tmp_path)
    world.car.fail_next("set_charge_limit", OUTAGE)
    status, body = send(world)
    assert status == 502 and body["status"] == "error" and body["message"]
    failed = session(world)
    assert failed["status"] == "SCHEDULED" and "tesla_unavailable" in failed["last_error"]
    assert any("error" in entry for entry in failed["history"])
    assert sorted(world.scheduler.jobs) == [CLEANUP_JOB, SEND_JOB]  # both kept: the retry needs them
    assert failed["claim"] is None  # the retry is not locked out
    assert send(world)[0] == 200 and session(world)["status"] == "ACTIVE"


def test_a_send_that_finally_fails_is_failed_answers_2xx_and_keeps_cleanup_when_the_limit_may_have_changed(
    tmp_path: Path,
) -> None:
    world = planned_world(tmp_path)
    world.car.fail_next("set_charge_limit", OUTAGE, times=4)
    answers = [send(world)[0] for _ in range(4)]
    assert answers == [502, 502, 502, 200]  # the fourth delivery is the last Cloud Scheduler makes
    failed = session(world)
    assert failed["status"] == "FAILED" and failed["send_attempts"] == 4
    assert failed["limit_changed"] is True  # the command may have reached the car
    assert sorted(world.scheduler.jobs) == [CLEANUP_JOB]
    assert not S.is_finished(failed)

    assert cleanup(world)[0] == 200
    closed = session(world)
    assert closed["status"] == "FAILED" and closed["limit_restored"] is True and S.is_finished(closed)
    assert car(world).charge_limit == 80 and world.scheduler.jobs == {}


def test_a_send_that_failed_before_touching_the_limit_leaves_no_job_behind(tmp_path: Path) -> None:
    world = planned_world(tmp_path)
    world.car.fail_next("vehicle_data", TeslaUnavailable("Tesla answered 502"), times=4)
    assert [send(world)[0] for _ in range(4)] == [502, 502, 502, 200]
    failed = session(world)
    assert failed["status"] == "FAILED" and not failed["limit_changed"] and S.is_finished(failed)
    assert world.scheduler.jobs == {}
    assert world.car.count("set_charge_limit") == 0


def test_deliveries_of_finished_work_answer_2xx_and_send_nothing(tmp_path: Path) -> None:
    world = planned_world(tmp_path)
    assert send(world)[0] == 200
    commands = len(world.car.calls)
    status, body = send(world)
    assert status == 200 and body["already_done"] is True
    assert cleanup(world)[0] == 200 and session(world)["status"] == "COMPLETED"
    commands = len(world.car.calls)
    for deliver in (send, cleanup, cleanup):
        status, body = deliver(world)
        assert status == 200 and body["already_done"] is True
    assert len(world.car.calls) == commands and world.scheduler.jobs == {}


@pytest.mark.parametrize(
    "failure",
    [OUTAGE, TeslaCommandFailed("set_charge_limit", "invalid_value")],
    ids=["tesla_down", "command_refused"],
)
def test_a_cleanup_that_cannot_restore_answers_non_2xx_keeps_its_job_and_never_completes(
    tmp_path: Path, failure: Exception
) -> None:
    world = planned_world(tmp_path)
    send(world)
    assert car(world).charge_limit == 90
    world.car.fail_next("set_charge_limit", failure, times=2)
    for attempt in (1, 2):
        status, body = cleanup(world)
        assert status == 502 and body["status"] == "error"
        stuck = session(world)
        assert stuck["status"] == "ACTIVE" and stuck["cleanup_attempts"] == attempt and stuck["last_error"]
        assert CLEANUP_JOB in world.scheduler.jobs
    assert cleanup(world)[0] == 200
    done = session(world)
    assert done["status"] == "COMPLETED" and done["limit_restored"] and car(world).charge_limit == 80
    assert world.scheduler.jobs == {}


def test_the_session_record_refuses_to_finish_while_its_limit_is_unrestored() -> None:
    tz = ZoneInfo("Europe/Warsaw")
    now = datetime(2026, 11, 24, 6, 0, tzinfo=tz)
    changed: S.Session = {"session_id": SESSION_ID, "status": "ACTIVE", "limit_changed": True, "history": []}
    for final in ("COMPLETED", "CANCELLED"):
        with pytest.raises(ValueError, match="unrestored"):
            S.record(changed, "closing", now, tz, status=final)
        done = S.record(changed, "closing", now, tz, status=final, limit_restored=True)
        assert done["status"] == final
    assert not S.is_finished({**changed, "status": "FAILED"})  # a FAILED one stays open until restored


def test_an_active_session_whose_cleanup_never_ran_is_restored_and_closed_by_the_daily_sweep(
    tmp_path: Path,
) -> None:
    world = planned_world(tmp_path)
    send(world)
    # A cleanup run died holding the session (a killed instance), and its job was lost.
    world.store.update(
        "special_charging_sessions",
        SESSION_ID,
        lambda cur: {**cur, "claim": S.claim(cur, "dead-run", "cleanup", world.clock.now())["claim"]},
    )
    status, body = cleanup(world)
    assert status == 503 and body.get("in_progress") is True  # not 2xx: Cloud Scheduler comes back
    world.scheduler.delete(CLEANUP_JOB)
    world.clock.set(datetime.fromisoformat("2026-11-24T23:00:00+01:00"))  # the next daily check
    status, body = call(world, "POST", "/daily-special-charging-check")
    assert status == 200 and body["swept"]["sessions_closed"] == 1
    closed = session(world)
    assert closed["status"] == "COMPLETED" and closed["limit_restored"] and car(world).charge_limit == 80
    assert world.scheduler.jobs == {}


def test_the_sweep_does_not_count_a_session_another_run_is_handling_as_closed(tmp_path: Path) -> None:
    world = planned_world(tmp_path)
    send(world)
    world.scheduler.delete(CLEANUP_JOB)
    world.clock.set(datetime.fromisoformat("2026-11-24T23:00:00+01:00"))
    world.store.update(
        "special_charging_sessions",
        SESSION_ID,
        lambda cur: {**cur, "claim": S.claim(cur, "live-run", "cleanup", world.clock.now())["claim"]},
    )
    status, body = call(world, "POST", "/daily-special-charging-check")
    assert status == 200 and body["swept"]["sessions_closed"] == 0 and session(world)["status"] == "ACTIVE"
    world.clock.advance(timedelta(days=1))  # the holder died: its claim has long expired
    status, body = call(world, "POST", "/daily-special-charging-check")
    assert body["swept"]["sessions_closed"] == 1 and session(world)["status"] == "COMPLETED"


def test_an_overdue_session_whose_restore_fails_stays_open_for_the_next_sweep(tmp_path: Path) -> None:
    world = planned_world(tmp_path)
    send(world)
    world.scheduler.delete(CLEANUP_JOB)
    world.clock.set(datetime.fromisoformat("2026-11-24T23:00:00+01:00"))
    world.car.fail_next("set_charge_limit", OUTAGE)
    status, body = call(world, "POST", "/daily-special-charging-check")
    assert status == 200 and body["swept"]["sessions_closed"] == 0
    assert session(world)["status"] == "ACTIVE" and car(world).charge_limit == 90
    world.clock.advance(timedelta(days=1))
    status, body = call(world, "POST", "/daily-special-charging-check")
    assert status == 200 and body["swept"]["sessions_closed"] == 1
    assert session(world)["status"] == "COMPLETED" and car(world).charge_limit == 80


def test_a_limit_that_reached_the_car_before_its_answer_was_lost_is_restored_by_the_kept_cleanup_job(
    make_system: Callable[..., System],
) -> None:
    system = make_system(datetime(2026, 11, 23, 20, 0), vehicle={"battery_level": 40, "charge_limit": 80})
    status, _ = system.call_worker(
        "POST", "/special-charging-needs", {"target_soc": 90, "departure": "2026-11-24T06:00:00+01:00"}
    )
    assert status == 201
    system.advance(timedelta(hours=3))
    assert system.call_worker("POST", "/daily-special-charging-check")[0] == 200
    sid = "special_1_20261124_0600"
    planned = system.call_worker("GET", f"/special-charging-sessions/{sid}")[1]["session"]
    # Every set_charge_limit of the send reaches the car, but each answer is lost (a gateway timeout).
    system.sim.faults.add("*/command/set_charge_limit", status=504, lose_answer=True, count=None)
    send_at = datetime.fromisoformat(planned["send_schedule_at"])
    system.advance(send_at - system.clock.now() + timedelta(minutes=8))  # retries 1, 2 and 4 min apart
    failed = system.call_worker("GET", f"/special-charging-sessions/{sid}")[1]["session"]
    assert failed["status"] == "FAILED" and failed["send_attempts"] == 4
    assert [(f.name.split("-")[1], f.status) for f in system.fired] == [("send", 502)] * 3 + [("send", 200)]
    assert system.sim.snapshot(system.vin)["charge_limit"] == 90  # it did change
    jobs = [j["name"] for j in system.call_worker("GET", "/scheduler-jobs")[1]["jobs"]]
    assert jobs == [f"special-cleanup-{sid.replace('_', '-')}"]

    system.sim.faults.clear()
    system.advance(datetime.fromisoformat(planned["cleanup_at"]) - system.clock.now() + timedelta(minutes=2))
    closed = system.call_worker("GET", f"/special-charging-sessions/{sid}")[1]["session"]
    assert closed["status"] == "FAILED" and closed["limit_restored"] is True
    assert system.sim.snapshot(system.vin)["charge_limit"] == 80
    assert system.call_worker("GET", "/scheduler-jobs")[1]["jobs"] == []


def test_a_car_that_stays_asleep_fails_the_send_without_changing_anything_or_spamming_wakes(
    make_system: Callable[..., System],
) -> None:
    system = make_system(datetime(2026, 11, 23, 20, 0), vehicle={"battery_level": 40, "charge_limit": 80})
    system.call_worker("POST", "/special-charging-needs", {"target_soc": 90, "departure": "2026-11-24T06:00:00+01:00"})
    system.advance(timedelta(hours=3))
    system.call_worker("POST", "/daily-special-charging-check")
    sid = "special_1_20261124_0600"
    planned = system.call_worker("GET", f"/special-charging-sessions/{sid}")[1]["session"]
    system.sim.force_sleep(system.vin)
    system.sim.set_stay_asleep(system.vin)
    before = system.sim.counters()
    system.advance(datetime.fromisoformat(planned["send_schedule_at"]) - system.clock.now() + timedelta(minutes=20))
    failed = system.call_worker("GET", f"/special-charging-sessions/{sid}")[1]["session"]
    assert failed["status"] == "FAILED" and not failed["limit_changed"]
    assert "vehicle_unavailable" in failed["last_error"]
    after = system.sim.counters()
    assert after["wakes"] - before["wakes"] == 4  # one wake_up per delivery, then polling only
    assert after["commands"] == before["commands"] and system.sim.snapshot(system.vin)["charge_limit"] == 80
    assert system.call_worker("GET", "/scheduler-jobs")[1]["jobs"] == []  # nothing to restore: no job left
