"""The simulator's HTTP face: Tesla's token endpoint, the Fleet API, its proxy path and /sim controls.

`/api/1/...` is the Fleet API; `/proxy/api/1/...` is the same API as seen through Tesla's
vehicle-command proxy (TESLA_PROXY_URL = `<sim>/proxy`): commands there are signed by the proxy
(so they need the app's key paired, command_routes.py), data calls pass through. Armed faults
answer before anything else, as if Tesla's edge failed; a fault with `lose_answer` lets the request
act and replaces only its answer; a fault armed for `.../command/<name>` also hits a signed command
carrying that action. Then every /api/1 call passes `TeslaSim.authorize`: the proxy's
token check, 401, 421 (wrong region, regions.py) and 403 (missing scopes, scopes.py).
"""

from __future__ import annotations

import json
import time
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from simulator.tesla_sim.car_actions import ActionRefused, rest_command
from simulator.tesla_sim.command_routes import decode_signed
from simulator.tesla_sim.control import control_blueprint
from simulator.tesla_sim.errors import PARSE_ERROR, SimError
from simulator.tesla_sim.model import TeslaSim

# Billing category of each Fleet API endpoint (FACTS): GET /vehicles/{vin} is treated as free;
# fleet_status as data (fleet_status.py); users/region, a user endpoint, is counted but not billed.
CATEGORIES = {
    "list_vehicles": "state_calls",
    "vehicle": "state_calls",
    "vehicle_data": "data",
    "wake_up": "wakes",
    "command": "commands",
    "signed_command": "commands",
    "fleet_status": "data",
    "user_region": "region_calls",
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
        body = _json_body(billed=False if request.blueprint == PROXY else None)  # the proxy parses it itself
        return {"response": sim.command(vin, name, body, via_proxy=request.blueprint == PROXY)}

    @fleet.post("/api/1/vehicles/<vin>/signed_command")
    def signed_command(vin: str) -> Any:
        return {"response": sim.signed_command(vin, _json_body().get("routable_message"))}

    @fleet.post("/api/1/vehicles/fleet_status")
    def fleet_status() -> Any:
        vins = _json_body().get("vins")
        if not isinstance(vins, list) or not all(isinstance(v, str) for v in vins):
            raise SimError(400, PARSE_ERROR)
        return {"response": sim.fleet_status(vins)}

    @fleet.get("/api/1/users/region")
    def user_region() -> Any:
        return {"response": sim.user_region()}

    return fleet


def _json_body(*, billed: bool | None = None) -> dict[str, Any]:
    raw = request.get_data()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        raise SimError(400, PARSE_ERROR, billed=billed) from None
    if not isinstance(body, dict):
        raise SimError(400, PARSE_ERROR, billed=billed)
    return body


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
        fault = None
        command_path = _signed_command_alias(request.path)
        g.signed_command = command_path.rsplit("/", 1)[-1] if command_path else None
        if command_path is not None:
            fault = sim.faults.take(request.method, command_path)
        if fault is None:
            fault = sim.faults.take(request.method, request.path)
        if fault is not None:
            if fault.delay_s > 0:
                time.sleep(fault.delay_s)  # real time: this is for client timeouts
            if fault.lose_answer:
                g.lost_answer = fault  # served normally; after_request swaps the answer
            elif fault.status is not None:
                return _fault_response(fault.status, fault.body, fault.retry_after)
        if g.category is not None:
            sim.authorize(
                _bearer(),
                (request.endpoint or "").rsplit(".", 1)[-1],
                data_endpoints=request.args.get("endpoints"),
                command=(request.view_args or {}).get("name"),
                via_proxy=request.blueprint == PROXY,
            )
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
                g.get("billed"),
                g.get("signed_command"),
            )
        return response

    @app.errorhandler(SimError)
    def sim_error(error: SimError) -> Any:
        g.billed = error.billed
        return jsonify(error.body()), error.status, error.headers

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        return jsonify({"response": None, "error": error.name, "error_description": ""}), error.code or 500

    return app


def _signed_command_alias(path: str) -> str | None:
    """`.../command/<name>` for a signed command carrying that action, so a fault armed for a command
    hits it however it is sent (REST or signed); None for handshakes and other requests."""
    if not path.endswith("/signed_command"):
        return None
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None
    try:
        message = decode_signed(body.get("routable_message"))
        payload = message.protobuf_message_as_bytes
        if not payload:
            return None
        name, _ = rest_command(payload)
    except (SimError, ActionRefused):
        return None
    return path.removesuffix("signed_command") + f"command/{name}"


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
