"""Special-charging needs: "reach 80 % by 07:00 on Tuesday" — registered, listed, cancelled."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.domain import session as S
from shared.domain.iso_time import parse_aware
from shared.errors import Conflict, NotFound, UpstreamError, ValidationError
from shared.log import get_logger
from worker_service.services.planning import check_target_soc
from worker_service.services.session_store import NEEDS, SESSIONS
from worker_service.services.special_steps import SessionRun, delete_job_quietly, restore_session

if TYPE_CHECKING:
    from worker_service.container import Services

log = get_logger("SPECIAL")
COUNTERS = "counters"
PENDING, PLANNED, CANCELLED, DONE, MISSED = "PENDING", "PLANNED", "CANCELLED", "DONE", "MISSED"
MAX_AHEAD = timedelta(days=366)


def parse_departure(value: Any, now: datetime) -> datetime:
    """An offset-aware ISO 8601 departure in the future (at most a year ahead)."""
    try:
        departure = parse_aware(value)
    except ValueError as problem:
        raise ValidationError(f"departure {problem}") from None
    if departure <= now:
        raise ValidationError("departure must be in the future")
    if departure - now > MAX_AHEAD:
        raise ValidationError("departure must be within a year")
    return departure


def create_need(s: Services, body: dict[str, Any]) -> dict[str, Any]:
    """Validate and store a need; it waits for the daily check."""
    now = s.clock.now()
    unknown = set(body) - {"target_soc", "departure", "vin"}
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(sorted(unknown))[:200]}")
    if "target_soc" not in body or "departure" not in body:
        raise ValidationError("target_soc and departure are required")
    target = check_target_soc(body["target_soc"])
    departure = parse_departure(body["departure"], now)
    vin = _vin(s, body.get("vin"))
    sequence = _next_sequence(s)
    need_id = f"need_{sequence}"
    need: dict[str, Any] = {
        "need_id": need_id,
        "sequence": sequence,
        "vin": vin,
        "target_soc": target,
        "departure": departure.isoformat(),
        "status": PENDING,
        "session_id": None,
        "created_at": now.astimezone(s.settings.timezone).isoformat(),
    }
    s.store.set(NEEDS, need_id, need)
    log.info(f"need {need_id} registered: {target} % by {need['departure']}")
    return need


def _vin(s: Services, value: Any) -> str:
    if value is None:
        if not s.settings.vins:
            raise ValidationError("no vehicle is configured (TESLA_VIN)")
        return s.settings.vins[0]
    if not isinstance(value, str) or value.upper() not in s.settings.vins:
        raise ValidationError("vin must be one of the configured vehicles")
    return value.upper()


def _next_sequence(s: Services) -> int:
    stored = s.store.update(COUNTERS, "needs", lambda cur: {"value": int((cur or {}).get("value", 0)) + 1})
    assert stored is not None
    return int(stored["value"])


def list_needs(s: Services) -> list[dict[str, Any]]:
    """Every need, soonest departure first."""
    return sorted(s.store.list(NEEDS), key=lambda n: n.get("departure", ""))


def cancel_need(s: Services, need_id: str) -> dict[str, Any]:
    """Cancel a need, its session and jobs; an ACTIVE session gets its charge limit back first."""
    need = s.store.get(NEEDS, need_id)
    if need is None:
        raise NotFound(f"No special-charging need {need_id}")
    if need["status"] == CANCELLED:
        return {"status": "success", "need": need, "message": "already cancelled"}
    session_id = need.get("session_id")
    session = s.store.get(SESSIONS, session_id) if session_id else None
    if session is not None and not S.is_finished(session):
        _cancel_session(s, session)
    need = s.store.update(NEEDS, need_id, lambda cur: {**cur, "status": CANCELLED} if cur else None) or need
    log.info(f"need {need_id} cancelled")
    return {"status": "success", "need": need}


def _cancel_session(s: Services, session: S.Session) -> None:
    run = SessionRun(s, session["session_id"], "cancel")
    if not run.try_claim((S.SCHEDULED, S.ACTIVE, S.FAILED)):
        raise Conflict("The session is being handled right now; try cancelling again in a minute")
    try:
        if not run.session.get("limit_changed") and not run.session.get("schedule_added"):
            run.note("cancelled before anything was sent", status=S.CANCELLED)
        else:
            run.note("cancel requested; restoring the car", cancel_requested=True)
            restore_session(s, run, final_status=S.CANCELLED)
    except UpstreamError as error:
        run.note("restoring on cancel failed; the cleanup job will retry", error=f"{error.code}: {error.message}")
        delete_job_quietly(s, run.session.get("send_job_name"))
        raise UpstreamError(
            "The charge limit could not be restored yet; the session is marked for cancellation and its "
            "cleanup job will restore it",
            code=error.code,
            status=502,
        ) from None
    finally:
        run.release()
    delete_job_quietly(s, run.session.get("send_job_name"))
    delete_job_quietly(s, run.session.get("cleanup_job_name"))
