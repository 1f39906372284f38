"""POST /plan-preview: the plan the planner would make, with no side effects."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, jsonify

from shared.errors import ValidationError
from worker_service.http import json_body, services
from worker_service.roles import audit
from worker_service.services import vehicle_readings
from worker_service.services.needs import MAX_AHEAD
from worker_service.services.planning import PlanRequest, parse_plan_request, plan_charging

bp = Blueprint("plan", __name__)
# `now` may move the preview in time, but not to year 1 or 9999: the tariff calendar overflows there.
MAX_NOW_SHIFT = timedelta(days=3660)


def check_span(request: PlanRequest, clock_now: datetime) -> PlanRequest:
    """Refuse previews the planner should never be asked for: a span of centuries costs minutes of CPU."""
    if abs(request.now - clock_now) > MAX_NOW_SHIFT:
        raise ValidationError("now must be within ten years of the present")
    if request.departure - request.now > MAX_AHEAD:
        raise ValidationError("departure must be within a year of now")
    return request


@bp.post("/plan-preview")
def plan_preview() -> Any:
    s = services()
    request = check_span(parse_plan_request(json_body(), s.clock.now()), s.clock.now())
    current_soc = request.current_soc
    if current_soc is None:
        if not s.settings.vins:
            raise ValidationError("current_soc is required when no vehicle is configured")
        reading = vehicle_readings.current_reading(
            s.vehicle(), s.store, s.clock, s.settings.vins[0], may_wake=False, keep=False
        )
        if reading is None:
            from shared.errors import UpstreamError

            raise UpstreamError(
                "The car is asleep and has no recent reading; pass current_soc", status=503, code="vehicle_asleep"
            )
        current_soc = reading.battery_level
    plan = plan_charging(
        s.settings,
        s.price_source(),
        current_soc=current_soc,
        target_soc=request.target_soc,
        departure=request.departure,
        now=request.now,
    )
    audit(f"owner previewed a plan: {request.target_soc} % by {request.departure.isoformat()}")
    return jsonify({"plan": plan.to_dict()})
