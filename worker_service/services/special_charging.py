"""The 23:00 daily check: plan pending needs into sessions with two one-shot jobs, and sweep.

The old system computed the right plan but had nothing to run the worker at the send time; the
one-shot jobs are that mechanism. They are pinned to one UTC minute so no daylight-saving night
can skip or repeat them, and each deletes itself after it ran; the sweep removes any left behind.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.domain import cron
from shared.domain import session as S
from shared.errors import UpstreamError
from shared.log import get_logger
from shared.ports import HttpJob
from worker_service.services import alerts, night_alerts, usage, vehicle_readings
from worker_service.services.needs import DONE, MISSED, PENDING, PLANNED
from worker_service.services.session_store import NEEDS, SESSIONS
from worker_service.services.special_steps import cleanup_single_session, send_special_schedule

if TYPE_CHECKING:
    from worker_service.container import Services

log = get_logger("SPECIAL")
JOB_STALE_AFTER = timedelta(days=1)


def daily_check(s: Services) -> dict[str, Any]:
    """Sweep, then plan every pending need departing within the horizon; returns what it created."""
    now = s.clock.now()
    swept = sweep(s, now)
    horizon = now + timedelta(hours=s.settings.planning_horizon_hours)
    created: list[dict[str, Any]] = []
    for need in sorted(s.store.list(NEEDS, {"status": PENDING}), key=lambda n: n["departure"]):
        departure = datetime.fromisoformat(need["departure"])
        if departure <= now:
            s.store.update(NEEDS, need["need_id"], lambda cur: {**cur, "status": MISSED} if cur else None)
            log.warning(f"need {need['need_id']} departed before it could be planned")
            continue
        if departure > horizon:
            continue
        session = plan_need(s, need, now)
        if session is not None:
            created.append(_summary(session))
    for session in s.store.list(SESSIONS, {"status": S.SCHEDULED}):
        ensure_jobs(s, session, now)
    # From the readings already stored: waking the car to ask would cost more than the reminder is worth.
    reminded = night_alerts.plug_in_reminders(s)
    alerts.prune(s.store, now)
    log.info(f"daily check: {len(created)} session(s) created, {swept['jobs_deleted']} job(s) swept")
    return {"status": "success", "sessions": created, "swept": swept, "reminders": reminded}


def plan_need(s: Services, need: dict[str, Any], now: datetime) -> S.Session | None:
    """Create the need's session and jobs, or send at once when the send time has passed."""
    from worker_service.services.planning import plan_charging

    departure = datetime.fromisoformat(need["departure"])
    tz = s.settings.timezone
    session_id = S.session_id_for(int(need["sequence"]), departure, tz)
    if s.store.get(SESSIONS, session_id) is not None:
        _mark_need(s, need["need_id"], PLANNED, session_id)
        return None
    reading = vehicle_readings.reading_for_planning(s.vehicle(), s.store, s.clock, need["vin"])
    plan = plan_charging(
        s.settings,
        s.price_source(),
        current_soc=reading.battery_level,
        target_soc=int(need["target_soc"]),
        departure=departure,
        now=now,
    ).to_dict()
    charging_end = plan.get("charging_end")
    cleanup_at = (
        datetime.fromisoformat(charging_end) + timedelta(minutes=s.settings.cleanup_delay_minutes)
        if charging_end
        else None
    )
    session = S.new_session(
        session_id=session_id,
        need=need,
        plan=plan,
        cleanup_at=cleanup_at,
        send_job_name=cron.job_name("send", session_id),
        cleanup_job_name=cron.job_name("cleanup", session_id),
        now=now,
        tz=tz,
    )
    if not plan.get("windows"):
        session = S.record(
            session, f"already at {reading.battery_level:.0f} %; nothing to charge", now, tz, status=S.COMPLETED
        )
    stored = s.store.update(SESSIONS, session_id, lambda cur: None if cur is not None else session)
    if stored is None or stored.get("created_at") != session["created_at"]:
        return None  # another run created it first
    _mark_need(s, need["need_id"], PLANNED if stored["status"] == S.SCHEDULED else DONE, session_id)
    log.info(
        f"{session_id}: planned {plan.get('charging_start')} – {charging_end}, send at "
        f"{plan.get('send_schedule_at')}, est. {plan.get('estimated_cost')} {plan.get('currency')}",
        fields={"session_id": session_id, "feasible": plan.get("feasible")},
    )
    if stored["status"] == S.SCHEDULED:
        ensure_jobs(s, stored, now)
    return s.store.get(SESSIONS, session_id)


def ensure_jobs(s: Services, session: S.Session, now: datetime) -> None:
    """Create whichever of the session's two jobs is missing; send at once when its time has passed."""
    session_id = session["session_id"]
    if session.get("cleanup_at"):
        # The cleanup job first: once the send may change the limit, something must restore it.
        _create_job(
            s,
            session["cleanup_job_name"],
            "/cleanup-single-session",
            session_id,
            datetime.fromisoformat(session["cleanup_at"]),
        )
    send_at = datetime.fromisoformat(session["send_schedule_at"]) if session.get("send_schedule_at") else now
    if send_at <= now:
        log.info(f"{session_id}: send time already passed; sending now")
        _, status = send_special_schedule(s, session_id)
        if status >= 300:
            # Hand the retry to the scheduler: a send job one minute from now.
            _create_job(s, session["send_job_name"], "/send-special-schedule", session_id, now + timedelta(minutes=1))
    else:
        _create_job(s, session["send_job_name"], "/send-special-schedule", session_id, send_at)


def _create_job(s: Services, name: str, path: str, session_id: str, at: datetime) -> None:
    schedule, time_zone = cron.one_shot_cron(at)
    base = s.settings.worker_service_url
    job = HttpJob(
        name=name,
        schedule=schedule,
        time_zone=time_zone,
        uri=base + path,
        body={"session_id": session_id},
        description=f"tesla-offpeak one-shot for {session_id}; deletes itself after it ran",
        oidc_service_account=s.settings.scheduler_service_account,
        oidc_audience=base,
    )
    if s.scheduler.create(job):
        usage.count(s.store, s.clock, "jobs_created")
        log.info(
            f"{session_id}: job {name} created for {at.astimezone(s.settings.timezone).isoformat()}",
            fields={"session_id": session_id, "job": name, "cron": schedule},
        )


def _mark_need(s: Services, need_id: str, status: str, session_id: str) -> None:
    s.store.update(NEEDS, need_id, lambda cur: {**cur, "status": status, "session_id": session_id} if cur else None)


def sweep(s: Services, now: datetime) -> dict[str, int]:
    """Close overdue sessions (restoring their limit) and delete special- jobs nothing needs any more."""
    closed = 0
    for session in s.store.list(SESSIONS):
        if S.overdue(session, now):
            log.warning(f"{session['session_id']}: overdue in {session['status']}; restoring and closing")
            try:
                body, status = cleanup_single_session(s, session["session_id"])
                closed += status < 300 and not body.get("in_progress")  # another run holds it: not closed yet
            except UpstreamError as error:
                log.error(f"{session['session_id']}: overdue cleanup failed ({error.code}); tried again next sweep")
    deleted = 0
    for job in s.scheduler.list("special-"):
        if _job_obsolete(s, job, now):
            deleted += bool(s.scheduler.delete(job.name))
            log.info(f"swept job {job.name}")
    return {"sessions_closed": closed, "jobs_deleted": deleted}


def _job_obsolete(s: Services, job: HttpJob, now: datetime) -> bool:
    session_id = job.body.get("session_id") if isinstance(job.body, dict) else None
    session = s.store.get(SESSIONS, session_id) if isinstance(session_id, str) else None
    if session is None or S.is_finished(session):
        return True
    field = "send_schedule_at" if "/send-special-schedule" in job.uri else "cleanup_at"
    moment = session.get(field)
    if field == "send_schedule_at" and session.get("status") != S.SCHEDULED:
        return True
    return isinstance(moment, str) and datetime.fromisoformat(moment) + JOB_STALE_AFTER < now


def _summary(session: S.Session) -> dict[str, Any]:
    keys = (
        "session_id",
        "need_id",
        "status",
        "target_soc",
        "departure",
        "charging_start",
        "charging_end",
        "send_schedule_at",
        "cleanup_at",
        "send_job_name",
        "cleanup_job_name",
        "estimated_cost",
    )
    return {k: session.get(k) for k in keys}
