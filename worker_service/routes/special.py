"""Special charging: needs, the daily check, the two one-shot job handlers, and session views."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from worker_service.http import check_need_id, check_session_id, json_body, services, session_id_from
from worker_service.roles import audit
from worker_service.services import alerts, needs, night_alerts, special_charging, special_steps
from worker_service.services.session_store import SESSIONS, get_session

bp = Blueprint("special", __name__)


@bp.post("/special-charging-needs")
def create_need() -> Any:
    need = needs.create_need(services(), json_body())
    audit(
        f"owner registered need {need['need_id']}: {need['target_soc']} % by {need['departure']}",
        need_id=need["need_id"],
    )
    return jsonify({"status": "success", "need": need}), 201


@bp.get("/special-charging-needs")
def list_needs() -> Any:
    return jsonify({"needs": needs.list_needs(services())})


@bp.delete("/special-charging-needs/<need_id>")
def cancel_need(need_id: str) -> Any:
    answer = needs.cancel_need(services(), check_need_id(need_id))
    audit(f"owner cancelled need {need_id}", need_id=need_id, session_id=answer["need"].get("session_id"))
    return jsonify(answer)


@bp.get("/special-charging-sessions")
def list_sessions() -> Any:
    sessions = sorted(services().store.list(SESSIONS), key=lambda x: x.get("departure", ""))
    return jsonify({"sessions": sessions})


@bp.get("/special-charging-sessions/<session_id>")
def show_session(session_id: str) -> Any:
    return jsonify({"session": get_session(services().store, check_session_id(session_id))})


@bp.post("/daily-special-charging-check")
def daily_check() -> Any:
    json_body(required=False)
    s = services()
    audit("owner ran the daily special-charging check")
    failure = alerts.on_failure(
        s,
        alerts.DAILY_CHECK_FAILED,
        key=alerts.local_day(s),
        message="The daily special-charging check failed",
        remedy=night_alerts.DAILY_CHECK_REMEDY,
    )
    with failure:
        return jsonify(special_charging.daily_check(s))


@bp.post("/send-special-schedule")
def send_special_schedule() -> Any:
    body, status = special_steps.send_special_schedule(services(), session_id_from(json_body()))
    return jsonify(body), status


@bp.post("/cleanup-single-session")
def cleanup_single_session() -> Any:
    body, status = special_steps.cleanup_single_session(services(), session_id_from(json_body()))
    return jsonify(body), status
