"""GET /health: the only endpoint an unauthenticated caller gets an answer from; no Tesla or cloud calls."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from worker_service.http import services

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> Any:
    """ok, or degraded with the reason (a rejected refresh token needs the owner)."""
    s = services()
    body: dict[str, Any] = {"status": "ok", "service": "tesla-offpeak-worker", "backend": s.settings.backend}
    token_status = s.tokens.cached_status()
    if token_status["state"] != "ok":
        body["status"] = "degraded"
        body["reason"] = token_status["reason"]
    return jsonify(body)
