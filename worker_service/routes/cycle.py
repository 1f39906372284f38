"""POST /scout-trigger and POST /run-cycle: the normal OFF PEAK cycle."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, jsonify

from shared.errors import ValidationError
from worker_service.http import json_body, services
from worker_service.services import alerts, night_alerts
from worker_service.services.charging_cycle import run_cycle

bp = Blueprint("cycle", __name__)

# What the scout sends (shared/scout/tick.py); each field may be absent or null, never another type.
TRIGGER_FIELDS: dict[str, tuple[type, ...]] = {
    "reason": (str,),
    "vin": (str,),
    "vehicle_state": (str,),
    "observed_at": (str,),
    "at_home": (bool,),
    "distance_m": (int, float),
    "charge_state": (dict,),
    "charge_schedules": (list,),
}
MAX_TEXT = 200
MAX_SCHEDULES = 50


def check_trigger(body: dict[str, Any]) -> dict[str, Any]:
    """The scout's trigger body with every known field of the right type (400 otherwise)."""
    for name, types in TRIGGER_FIELDS.items():
        value = body.get(name)
        if value is None:
            continue
        wrong = not isinstance(value, types) or (name == "distance_m" and isinstance(value, bool))
        if wrong or (isinstance(value, str) and len(value) > MAX_TEXT):
            raise ValidationError(f"{name} has the wrong type or is too long")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(f"{name} must be a finite number")
    schedules = body.get("charge_schedules")
    if isinstance(schedules, list) and (
        len(schedules) > MAX_SCHEDULES or not all(isinstance(x, dict) for x in schedules)
    ):
        raise ValidationError(f"charge_schedules must be a list of at most {MAX_SCHEDULES} schedule objects")
    return body


@bp.post("/scout-trigger")
def scout_trigger() -> Any:
    """The scout saw a change: plan with what it saw; never wakes the car."""
    body = check_trigger(json_body(required=False))
    return jsonify(run_cycle(services(), trigger=body, may_wake=False))


@bp.post("/run-cycle")
def run_cycle_now() -> Any:
    """The nightly failsafe: the same cycle, allowed to wake the car once."""
    json_body(required=False)
    s = services()
    failure = alerts.on_failure(
        s,
        alerts.FAILSAFE_FAILED,
        key=alerts.local_day(s),
        message="The 00:00 failsafe charging cycle failed",
        remedy=night_alerts.FAILSAFE_REMEDY,
    )
    with failure:
        return jsonify(run_cycle(s, trigger=None, may_wake=True))
