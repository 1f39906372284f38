"""GET /health: the only endpoint an unauthenticated caller gets an answer from; no Tesla or cloud calls."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from worker_service.http import services

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> Any:
    """ok, or degraded with the reasons the owner must act on (token, signing, pairing, firmware, scope)."""
    s = services()
    body: dict[str, Any] = {"status": "ok", "service": "tesla-offpeak-worker", "backend": s.settings.backend}
    reasons = []
    token_status = s.tokens.cached_status()
    if token_status["state"] != "ok":
        reasons.append(token_status["reason"])
    actions = s.owner_actions.open_actions()
    reasons += [f"{a.get('code')} ({a.get('vin')}): {a.get('remedy')}" for a in actions]
    if reasons:
        body["status"] = "degraded"
        body["reason"] = "; ".join(reasons)
    if actions:
        body["owner_actions"] = [
            {k: a.get(k) for k in ("vin", "code", "message", "remedy", "first_seen", "last_seen")} for a in actions
        ]
    vehicles = s.owner_actions.vehicles()
    if vehicles:
        body["signing_mode"] = s.settings.tesla_command_signing
        body["vehicles"] = vehicles
    return jsonify(body)
