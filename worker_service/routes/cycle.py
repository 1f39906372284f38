"""POST /scout-trigger and POST /run-cycle: the normal OFF PEAK cycle."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from worker_service.http import json_body, services
from worker_service.services.charging_cycle import run_cycle

bp = Blueprint("cycle", __name__)


@bp.post("/scout-trigger")
def scout_trigger() -> Any:
    """The scout saw a change: plan with what it saw; never wakes the car."""
    body = json_body(required=False)
    return jsonify(run_cycle(services(), trigger=body, may_wake=False))


@bp.post("/run-cycle")
def run_cycle_now() -> Any:
    """The nightly failsafe: the same cycle, allowed to wake the car once."""
    json_body(required=False)
    return jsonify(run_cycle(services(), trigger=None, may_wake=True))
