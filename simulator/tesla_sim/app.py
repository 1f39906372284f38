"""The simulator's HTTP face: Tesla's token endpoint, the Fleet API, its proxy path and /sim controls.

`/api/1/...` is the Fleet API; `/proxy/api/1/...` is the same API as seen through Tesla's
vehicle-command proxy (TESLA_PROXY_URL = `<sim>/proxy`): commands there count as signed, data
calls pass through. Armed faults answer before anything else, as if Tesla's edge failed; a fault
with `lose_answer` lets the request act and replaces only its answer.
"""

from __future__ import annotations

import json
import time
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from simulator.tesla_sim.control import control_blueprint
from simulator.tesla_sim.model import SimError, TeslaSim

# Billing category of each Fleet API endpoint (FACTS): GET /vehicles/{vin} is treated as free.
CATEGORIES = {
    "list_vehicles": "state_calls",
    "vehicle": "state_calls",
    "vehicle_data": "data",
    "wake_up": "wakes",
    "command": "commands",
}
PROXY = "proxy"


def _fleet_blueprint(name: str, sim: TeslaSim) -> Blueprint:
    fleet = Blueprint(name, __name__)

    @fleet.get("/api/1/vehicles")
    def list_vehicles() -> Any:
        return {"response": sim.list_vehicles(), "count": len(sim.vins)}

    @fleet.get("/api/1/vehicles/<vin>")
    def vehicle(vin: str) -> Any:
        return {"response": sim.vehicle(vin)}

    @fleet.get("/api/1/vehicles/<vin>/vehicle_data")
    def vehicle_data(vin: str) -> Any:
        return {"response": sim.vehicle_data(vin, request.args.get("endpoints"))}

    @fleet.post("/api/1/vehicles/<vin>/wake_up")
    def wake_up(vin: str) -> Any:
        return {"response": sim.wake_up(vin)}

    @fleet.post("/api/1/vehicles/<vin>/command/<name>")
    def command(vin: str, name: str) -> Any:
        raw = request.get_data()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            raise SimError(400, "error occurred while parsing request parameters") from None
        if not isinstance(body, dict):
            raise SimError(400, "error occurred while parsing request parameters")
        return {"response": sim.command(vin, name, body, via_proxy=request.blueprint == PROXY)}

    return fleet


def create_app(sim: TeslaSim) -> Flask:
    """The WSGI app serving one TeslaSim."""
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.register_blueprint(_fleet_blueprint("fleet", sim))
    app.register_blueprint(_fleet_blueprint(PROXY, sim), url_prefix="/proxy")
    app.register_blueprint(control_blueprint(sim), url_prefix="/sim")

    @app.post("/oauth2/v3/token")
    def token() -> Any:
        form = request.form.to_dict() if request.form else (request.get_json(silent=True) or {})
        return sim.token({k: str(v) for k, v in form.items()})

    @app.before_request
    def faults_then_auth() -> Response | None:
        g.category = CATEGORIES.get((request.endpoint or "").rsplit(".", 1)[-1])
        if request.path.startswith("/sim/"):
            return None  # the controls never fail, whatever faults are armed
        fault = sim.faults.take(request.method, request.path)
        if fault is not None:
            if fault.delay_s > 0:
                time.sleep(fault.delay_s)  # real time: this is for client timeouts
            if fault.lose_answer:
                g.lost_answer = fault  # served normally; after_request swaps the answer
            elif fault.status is not None:
                return _fault_response(fault.status, fault.body, fault.retry_after)
        if g.category is not None:
            sim.authenticate(_bearer())
        return None

    @app.after_request
    def record(response: Response) -> Response:
        lost = g.pop("lost_answer", None)
        if lost is not None and lost.status is not None:
            response = _fault_response(lost.status, lost.body, lost.retry_after)
        if not request.path.startswith("/sim/"):
            sim.record(
                request.method,
                request.path,
                request.query_string.decode("latin-1"),
                response.status_code,
                g.get("category"),
                request.blueprint == PROXY,
            )
        return response

    @app.errorhandler(SimError)
    def sim_error(error: SimError) -> Any:
        return jsonify(error.body()), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        return jsonify({"response": None, "error": error.name, "error_description": ""}), error.code or 500

    return app


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _fault_response(status: int, body: Any, retry_after: str | None) -> Response:
    if body is None:
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "error"
        body = {"response": None, "error": phrase, "error_description": "injected fault"}
    payload = body if isinstance(body, str) else json.dumps(body)
    response = Response(payload, status=status, mimetype="application/json")
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response
