"""GET /openapi.json and GET /scheduler-jobs: what the worker serves and which jobs the backend holds."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, current_app, jsonify

from worker_service.http import services
from worker_service.openapi import build_spec

bp = Blueprint("meta", __name__)

SKIPPED_METHODS = {"HEAD", "OPTIONS"}


@bp.get("/openapi.json")
def openapi() -> Any:
    """The OpenAPI 3 description of the endpoints this app serves."""
    served = {
        (rule.rule, method.lower())
        for rule in current_app.url_map.iter_rules()
        for method in (rule.methods or set()) - SKIPPED_METHODS
        if rule.endpoint != "static"
    }
    return jsonify(build_spec(served))


@bp.get("/scheduler-jobs")
def scheduler_jobs() -> Any:
    """The dynamic jobs as the backend holds them."""
    jobs = [asdict(job) for job in services().scheduler.list("special-")]
    for job in jobs:
        job["body"] = dict(job["body"])
    return jsonify({"jobs": jobs})
