"""The two one-shot job handlers: send a session's limit and schedule, and clean up after it.

Both are safe under duplicate and concurrent deliveries (Cloud Scheduler is at-least-once):
a run first claims the session in a transaction; a second delivery finds it claimed or done and
answers 200 without sending anything. Every step is written to the session before the next one,
and intent is written before each command — a command that timed out may still have reached
the car, so cleanup treats "maybe changed" as "changed" and restores anyway.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from shared.domain import geofence
from shared.domain import session as S
from shared.errors import Conflict, UpstreamError
from shared.log import get_logger
from shared.tesla.errors import OwnerActionRequired
from worker_service.services import home_schedule, night_alerts
from worker_service.services.session_store import change_session, get_session

if TYPE_CHECKING:
    from worker_service.container import Services

log = get_logger("SPECIAL")
MAX_SEND_ATTEMPTS = 4  # the first delivery and Cloud Scheduler's three retries
SEND_COMMANDS = ("set_charge_limit", "add_charge_schedule", "remove_charge_schedule")
# Send failures that say the car itself is not cooperating (rather than Tesla's servers): worth a word
# to the owner at once, while the retries run.
CAR_SIDE_FAILURES = ("vehicle_unavailable", "tesla_command_failed", "signed_command_fault")


class SessionRun:
    """One handler run holding the session's claim; each step is persisted as it happens."""

    def __init__(self, s: Services, session_id: str, step: str) -> None:
        self.s = s
        self.session_id = session_id
        self.step = step
        self.owner = uuid.uuid4().hex
        self.session: S.Session = {}

    def try_claim(self, allowed: tuple[str, ...]) -> bool:
        now = self.s.clock.now()

        def take(current: S.Session) -> S.Session | None:
            if current.get("status") not in allowed:
                return None
            return S.claim(current, self.owner, self.step, now)

        self.session = change_session(self.s.store, self.session_id, take)
        claim = self.session.get("claim") or {}
        return claim.get("owner") == self.owner and self.session.get("status") in allowed

    def note(self, event: str, *, status: str | None = None, error: str | None = None, **fields: Any) -> None:
        now, tz = self.s.clock.now(), self.s.settings.timezone

        def write(current: S.Session) -> S.Session | None:
            if (current.get("claim") or {}).get("owner") != self.owner:
                raise Conflict("The session was taken over by another run")
            noted = S.record(current, event, now, tz, status=status, error=error, **fields)
            return S.claim(noted, self.owner, self.step, now)  # each step renews the claim

        self.session = change_session(self.s.store, self.session_id, write)
        line = f"{self.session_id}: {event}" + (f" -> {status}" if status else "")
        (log.warning if error else log.info)(line, fields={"session_id": self.session_id, "step": self.step})

    def release(self) -> None:
        try:
            self.session = change_session(self.s.store, self.session_id, lambda cur: S.release(cur, self.owner))
        except UpstreamError:
            log.warning(f"{self.session_id}: releasing the claim failed; it expires by itself")


def _already(session: S.Session, what: str) -> dict[str, Any]:
    return {
        "status": "success",
        "already_done": True,
        "session_id": session["session_id"],
        "session_status": session.get("status"),
        "message": f"{what} was already handled for this session",
    }


def _in_progress(session: S.Session) -> dict[str, Any]:
    # Not 2xx: if the run holding the claim dies, Cloud Scheduler's retry must come back.
    return {
        "status": "error",
        "error": "in_progress",
        "in_progress": True,
        "session_id": session["session_id"],
        "session_status": session.get("status"),
        "message": "another delivery of this job is handling the session; retry later",
    }


def delete_job_quietly(s: Services, name: str | None) -> None:
    """Delete a one-shot job; a failure is logged and left to the daily sweeper."""
    if not name:
        return
    try:
        if s.scheduler.delete(name):
            log.info(f"job {name} deleted")
    except UpstreamError as error:
        log.warning(f"job {name} not deleted ({error.code}); the daily sweep removes it")


def ensure_awake(s: Services, vin: str) -> None:
    """Wake the car (bounded) unless it is online; UpstreamError when it stays asleep."""
    vehicle = s.vehicle()
    if vehicle.vehicle_state(vin) == "online":
        return
    if not vehicle.wake_up(vin):
        raise UpstreamError("The car did not wake up in time", code="vehicle_unavailable")


def send_special_schedule(s: Services, session_id: str) -> tuple[dict[str, Any], int]:
    """Wake, remember the original limit, set the target limit, send the schedule, go ACTIVE."""
    session = get_session(s.store, session_id)
    if session["status"] != S.SCHEDULED:
        delete_job_quietly(s, session.get("send_job_name"))
        return _already(session, "sending"), 200
    run = SessionRun(s, session_id, "send")
    if not run.try_claim((S.SCHEDULED,)):
        if run.session.get("status") != S.SCHEDULED:
            return _already(run.session, "sending"), 200
        return _in_progress(run.session), 503
    s.owner_actions.sync()
    try:
        _send_steps(s, run)
    except OwnerActionRequired as error:
        return _send_needs_owner(s, run, error)
    except UpstreamError as error:
        return _send_failed(s, run, error)
    finally:
        run.release()
    delete_job_quietly(s, run.session.get("send_job_name"))
    return {
        "status": "success",
        "session_id": session_id,
        "session_status": run.session["status"],
        "original_charge_limit": run.session.get("original_charge_limit"),
        "target_soc": run.session["target_soc"],
    }, 200


def _send_steps(s: Services, run: SessionRun) -> None:
    session, vin = run.session, run.session["vin"]
    run.note("send started", send_attempts=int(session.get("send_attempts") or 0) + 1)
    # Signing, pairing and firmware are checked before the car is woken or its limit touched.
    s.vehicle().check_commands(vin, SEND_COMMANDS)
    ensure_awake(s, vin)
    run.note("car awake")
    vehicle = s.vehicle()
    data = vehicle.vehicle_data(vin)
    charge_state = data.get("charge_state") or {}
    # Read anyway, no extra call: the limit and schedule still go out, so plugging in later still works.
    _warn_if_need_at_risk(s, run.session, data, charge_state)
    if run.session.get("original_charge_limit") is None:
        original = charge_state.get("charge_limit_soc")
        if not isinstance(original, int | float):
            raise UpstreamError("The car did not report its charge limit", code="bad_vehicle_data")
        # Stored before the limit changes: it is what cleanup restores.
        run.note(f"original charge limit {int(original)} % remembered", original_charge_limit=int(original))
    target = int(run.session["target_soc"])
    run.note(f"setting charge limit {target} %", limit_changed=True)
    vehicle.set_charge_limit(vin, target)
    run.note(f"charge limit set to {target} %")
    # The session's windows take the home schedule's place for its night (the everyday windows would
    # charge to the raised limit too, maybe at a dearer hour); cleanup puts the everyday plan back.
    everyday = run.session.get("home_schedule_before")
    if everyday is None:
        everyday = home_schedule.expected(s, vin)
    windows = home_schedule.windows_of(run.session.get("plan") or {})
    wanted, diff = home_schedule.changes(s, vin, windows, home_schedule.schedules_on_car(data))
    run.note(
        f"sending {diff.changes} home schedule change(s) for this session",
        schedule_added=True,
        schedule_id=wanted[0]["id"] if wanted else None,
        schedule_ids=[p["id"] for p in wanted],
        home_schedule_before=everyday,
    )
    home_schedule.put_on_car(s, vin, wanted, diff, purpose=run.session_id)
    run.note("charge schedule sent; session active", status=S.ACTIVE, last_error=None)


def _warn_if_need_at_risk(s: Services, session: S.Session, data: dict[str, Any], charge_state: dict[str, Any]) -> None:
    """Tell the owner when the car, as read at send time, cannot charge tonight: away, or not plugged in."""
    distance = _distance_from_home(s, data)
    radius = geofence.radius_m(s.settings.home_radius_meters, s.settings.home_radius_degrees)
    if distance is not None and not geofence.is_home(distance, radius):
        log.warning(
            f"{session['session_id']}: the car is away from home at send time",
            fields={"session_id": session["session_id"], "distance_m": round(distance)},
        )
        night_alerts.away_from_home(s, session, distance)
    elif charge_state.get("charging_state") == night_alerts.UNPLUGGED:
        night_alerts.not_plugged_in(s, session)


def _distance_from_home(s: Services, data: dict[str, Any]) -> float | None:
    """Metres from home when the reading has a position (it needs the vehicle_location scope)."""
    drive = data.get("drive_state") or {}
    lat, lon = drive.get("latitude"), drive.get("longitude")
    home_lat, home_lon = s.settings.home_latitude, s.settings.home_longitude
    if not isinstance(lat, int | float) or not isinstance(lon, int | float) or home_lat is None or home_lon is None:
        return None
    return geofence.distance_m(float(lat), float(lon), home_lat, home_lon)


def _send_needs_owner(s: Services, run: SessionRun, error: OwnerActionRequired) -> tuple[dict[str, Any], int]:
    """A failure only the owner can fix: FAILED at once with the code and remedy; retrying would not help."""
    s.owner_actions.record(run.session["vin"], error, during=f"send {run.session_id}", session_id=run.session_id)
    run.note(
        f"send failed: {error.code}; the owner must act",
        status=S.FAILED,
        error=f"{error.code}: {error.message}",
        error_code=error.code,
        remedy=error.remedy,
    )
    night_alerts.session_failed(s, run.session, f"{error.code}: {error.message}", error.remedy)
    delete_job_quietly(s, run.session.get("send_job_name"))
    if not S.limit_unrestored(run.session):
        delete_job_quietly(s, run.session.get("cleanup_job_name"))
    return {
        "status": "error",
        "error": error.code,
        "session_id": run.session_id,
        "session_status": S.FAILED,
        "message": error.message,
        "remedy": error.remedy,
    }, 200


def _send_failed(s: Services, run: SessionRun, error: UpstreamError) -> tuple[dict[str, Any], int]:
    attempts = int(run.session.get("send_attempts") or 1)
    message = f"{error.code}: {error.message}"
    if attempts >= MAX_SEND_ATTEMPTS:
        run.note(f"send failed for good after {attempts} attempts", status=S.FAILED, error=message)
        night_alerts.session_failed(s, run.session, f"sending failed {attempts} times ({message})")
        delete_job_quietly(s, run.session.get("send_job_name"))
        if not S.limit_unrestored(run.session):
            delete_job_quietly(s, run.session.get("cleanup_job_name"))
        # The failure is recorded; answering 2xx stops Cloud Scheduler retrying a lost cause.
        return {
            "status": "error",
            "error": "send_failed",
            "session_id": run.session_id,
            "session_status": S.FAILED,
            "message": message,
        }, 200
    run.note(f"send attempt {attempts} failed; Cloud Scheduler retries", error=message)
    if error.code in CAR_SIDE_FAILURES:
        night_alerts.send_attempt_failed(s, run.session, error.code, error.message, attempts, MAX_SEND_ATTEMPTS)
    return {
        "status": "error",
        "error": error.code,
        "session_id": run.session_id,
        "message": f"Sending failed ({error.message}); the job will be retried",
    }, 502


def cleanup_single_session(s: Services, session_id: str) -> tuple[dict[str, Any], int]:
    """Restore the original limit, remove our schedule, complete the session, delete the job."""
    session = get_session(s.store, session_id)
    if S.is_finished(session):
        delete_job_quietly(s, session.get("cleanup_job_name"))
        delete_job_quietly(s, session.get("send_job_name"))
        return _already(session, "cleanup"), 200
    run = SessionRun(s, session_id, "cleanup")
    if not run.try_claim((S.SCHEDULED, S.ACTIVE, S.FAILED)):
        if S.is_finished(run.session):
            return _already(run.session, "cleanup"), 200
        return _in_progress(run.session), 503
    try:
        restore_session(s, run)
    except UpstreamError as error:
        if isinstance(error, OwnerActionRequired):
            # Retried all the same: the limit must come back as soon as the owner has acted.
            s.owner_actions.record(run.session["vin"], error, during=f"cleanup {session_id}", session_id=session_id)
        run.note(
            "cleanup failed; it will be retried",
            error=f"{error.code}: {error.message}",
            cleanup_attempts=int(run.session.get("cleanup_attempts") or 0) + 1,
        )
        return {
            "status": "error",
            "error": error.code,
            "session_id": session_id,
            "message": f"Cleanup failed ({error.message}); the job will be retried",
        }, 502
    finally:
        run.release()
    delete_job_quietly(s, run.session.get("cleanup_job_name"))
    delete_job_quietly(s, run.session.get("send_job_name"))
    return {
        "status": "success",
        "session_id": session_id,
        "session_status": run.session["status"],
        "restored_charge_limit": run.session.get("original_charge_limit"),
    }, 200


def restore_session(s: Services, run: SessionRun, *, final_status: str | None = None) -> None:
    """Put the car back as it was (limit, schedule) and close the session."""
    session, vin = run.session, run.session["vin"]
    needs_limit = S.limit_unrestored(session)
    needs_schedule = bool(session.get("schedule_added")) and not session.get("schedule_removed")
    if needs_limit or needs_schedule:
        ensure_awake(s, vin)
        vehicle = s.vehicle()
        if needs_limit:
            original = session.get("original_charge_limit")
            if original is None:
                raise UpstreamError("The original charge limit is unknown; cannot restore", code="limit_unknown")
            vehicle.set_charge_limit(vin, int(original))
            run.note(f"charge limit restored to {int(original)} %", limit_restored=True)
        if needs_schedule:
            _restore_home_schedule(s, run, vin)
            run.note("our charge schedule removed; the everyday home schedule is back", schedule_removed=True)
    status = final_status or _closing_status(run.session)
    before = run.session.get("status")
    run.note(f"session closed as {status}", status=status)
    if status == S.FAILED and before == S.SCHEDULED:
        # Closed without its schedule ever reaching the car (the send job never got through).
        night_alerts.session_failed(s, run.session, "the charge schedule never reached the car before the window ended")


def _restore_home_schedule(s: Services, run: SessionRun, vin: str) -> None:
    """Put back the home schedule the car held before the session (or none, when it held none)."""
    before = list(run.session.get("home_schedule_before") or [])
    diff = home_schedule.diff_to(s, vin, before, None)
    # A session recorded before the home schedule used ids of its own: those go too.
    ours = home_schedule.home_ids(vin)
    legacy = {int(i) for i in run.session.get("schedule_ids") or [] if int(i) not in ours}
    home_schedule.put_on_car(
        s, vin, before, replace(diff, remove=sorted(set(diff.remove) | legacy)), purpose="everyday"
    )


def _closing_status(session: S.Session) -> str:
    if session.get("cancel_requested"):
        return S.CANCELLED
    if session["status"] == S.ACTIVE:
        return S.COMPLETED
    return S.FAILED
