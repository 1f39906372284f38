"""GET /get-token and POST /refresh-tokens (contract section 3): the scout's only way to a token."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from shared.errors import RateLimited, ValidationError
from worker_service.http import json_body, services

bp = Blueprint("tokens", __name__)

ARCHITECTURE = {
    "type": "centralized_token_management",
    "refresher": "worker",
    "note": "only the worker refreshes; refresh tokens are single-use",
}


@bp.get("/get-token")
def get_token() -> Any:
    """A valid access token, refreshed first when under five minutes remain."""
    s = services()
    token = s.tokens.get_access_token()
    record = s.tokens.read_record()
    remaining = record.remaining(s.clock.now()) if record else None
    return jsonify(
        {
            "status": "success",
            "access_token": token,
            "remaining_minutes": int(remaining.total_seconds() // 60) if remaining else 0,
            "architecture": ARCHITECTURE,
        }
    )


@bp.post("/refresh-tokens")
def refresh_tokens() -> Any:
    """Refresh now; at most one attempt per 60 s (429 inside that window)."""
    body = json_body(required=False)
    reason = body.get("reason")
    if reason is None:
        reason = "requested"
    elif not isinstance(reason, str) or len(reason) > 200:
        raise ValidationError("reason must be a text of at most 200 characters")
    s = services()
    try:
        outcome = s.tokens.refresh(reason=reason)
    except RateLimited as limited:
        # The contract's 429 body, plus the fields every error answer carries.
        response = jsonify(
            {
                "success": False,
                "message": "Rate limit",
                "status": "error",
                "error": "rate_limited",
                "retry_after_seconds": limited.retry_after,
            }
        )
        response.status_code = 429
        if limited.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, int(limited.retry_after + 0.999)))
        return response
    remaining = outcome.record.remaining(s.clock.now())
    return jsonify(
        {
            "success": True,
            "refreshed": outcome.refreshed,
            "expires_at": outcome.record.expires_at.isoformat(),
            "remaining_minutes": int(remaining.total_seconds() // 60),
        }
    )
