"""`/sim/...`: the same controls as TeslaSim's Python API, as JSON over HTTP for other processes.

Not part of Tesla's API and not authenticated: the simulator only ever listens on loopback.
Keys and protocol: `POST /sim/app-key {"public_key_pem"}` enrolls the app's key on paired cars;
`POST /sim/vehicles/<vin>/pair_key|unpair_key|restart`. Regions: `POST /sim/region
{"account_region", "served_region"}` (421 while they differ). Scopes: `POST /sim/tokens/scopes
{"scopes": [...]}` for tokens issued from then on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from flask import Blueprint, request

from shared.clock import ManualClock
from simulator.tesla_sim.errors import SimError
from simulator.tesla_sim.model import TeslaSim

Args = Mapping[str, Any]


def _actions(sim: TeslaSim) -> dict[str, Callable[[str, Args], None]]:
    """POST /sim/vehicles/<vin>/<action> → the TeslaSim call, reading its JSON arguments."""
    return {
        "move": lambda vin, a: sim.move(vin, float(a["latitude"]), float(a["longitude"])),
        "drive": lambda vin, a: sim.drive(vin),
        "park": lambda vin, a: sim.park(vin, a.get("latitude"), a.get("longitude"), a.get("battery_level")),
        "plug": lambda vin, a: sim.plug(vin, bool(a.get("plugged", True))),
        "soc": lambda vin, a: sim.set_soc(vin, float(a["percent"])),
        "limit": lambda vin, a: sim.set_limit(vin, int(a["percent"])),
        "sleep": lambda vin, a: sim.force_sleep(vin),
        "offline": lambda vin, a: sim.set_offline(vin, bool(a.get("offline", True))),
        "stay_asleep": lambda vin, a: sim.set_stay_asleep(vin, bool(a.get("stay", True))),
        "signed_commands": lambda vin, a: sim.set_requires_signed_commands(vin, bool(a.get("required", True))),
        "pair_key": lambda vin, a: sim.pair_key(vin),
        "unpair_key": lambda vin, a: sim.unpair_key(vin),
        "restart": lambda vin, a: sim.restart_car(vin),
    }


def control_blueprint(sim: TeslaSim) -> Blueprint:
    """Routes under /sim for tests and the local runner."""
    bp = Blueprint("sim_control", __name__)
    actions = _actions(sim)

    @bp.get("/health")
    def health() -> Any:
        return {"status": "ok", "vehicles": sim.vins}

    @bp.get("/state")
    def state() -> Any:
        return sim.to_json()

    @bp.post("/vehicles")
    def add_vehicle() -> Any:
        args = dict(_args())
        vin = args.pop("vin", None)
        if not isinstance(vin, str) or not vin:
            raise SimError(400, "vin is required")
        try:
            sim.add_vehicle(vin, **args)
        except (TypeError, ValueError) as bad:
            raise SimError(400, str(bad)) from None
        return sim.snapshot(vin), 201

    @bp.get("/vehicles/<vin>")
    def vehicle(vin: str) -> Any:
        return sim.snapshot(vin)

    @bp.post("/vehicles/<vin>/<action>")
    def act(vin: str, action: str) -> Any:
        if action not in actions:
            raise SimError(404, f"unknown action {action}; one of {', '.join(sorted(actions))}")
        try:
            actions[action](vin, _args())
        except (KeyError, TypeError, ValueError) as bad:
            raise SimError(400, f"bad arguments for {action}: {bad}") from None
        return sim.snapshot(vin)

    @bp.get("/counters")
    def counters() -> Any:
        return {**sim.counters(), "cost_usd": round(sim.cost_usd(), 4)}

    @bp.post("/reset")
    def reset() -> Any:
        sim.reset()
        return {"status": "ok"}

    @bp.get("/requests")
    def requests_log() -> Any:
        return {"requests": [{**r.__dict__, "at": r.at.isoformat()} for r in sim.requests()]}

    @bp.route("/faults", methods=["GET", "POST", "DELETE"])
    def faults() -> Any:
        if request.method == "DELETE":
            sim.faults.clear()
        elif request.method == "POST":
            args = dict(_args())
            try:
                sim.faults.add(str(args.pop("pattern")), **args)
            except (KeyError, TypeError, ValueError) as bad:
                raise SimError(400, f"bad fault: {bad}") from None
        return {"faults": sim.faults.armed()}

    @bp.post("/tokens/<action>")
    def tokens(action: str) -> Any:
        if action == "expire-access":
            sim.expire_access_tokens()
            return {"status": "ok"}
        if action == "revoke":
            sim.revoke_refresh_tokens()
            return {"status": "ok"}
        if action == "issue":
            return {"refresh_token": sim.issue_refresh_token()}
        if action == "scopes":
            scopes = _args().get("scopes")
            if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
                raise SimError(400, "scopes must be a list of scope names")
            sim.set_scopes(scopes)
            return {"scopes": scopes}
        raise SimError(404, "unknown token action; one of expire-access, revoke, issue, scopes")

    @bp.post("/app-key")
    def app_key() -> Any:
        pem = _args().get("public_key_pem")
        if not isinstance(pem, str):
            raise SimError(400, "public_key_pem is required")
        try:
            sim.register_app_key(pem.encode())
        except ValueError as bad:
            raise SimError(400, f"bad app key: {bad}") from None
        return {"status": "ok"}

    @bp.post("/region")
    def region() -> Any:
        args = _args()
        try:
            sim.set_regions(args.get("account_region"), args.get("served_region"))
        except (AttributeError, ValueError) as bad:
            raise SimError(400, str(bad)) from None
        return {"account_region": sim.account_region, "served_region": sim.served_region}

    @bp.post("/clock/advance")
    def advance() -> Any:
        if not isinstance(sim.clock, ManualClock):
            raise SimError(409, "the simulator runs on the system clock")
        seconds = float(_args().get("seconds", 0))
        if seconds < 0:
            raise SimError(400, "seconds must not be negative")
        return {"now": sim.clock.advance(timedelta(seconds=seconds)).isoformat()}

    return bp


def _args() -> Args:
    body = request.get_json(silent=True)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise SimError(400, "the body must be a JSON object")
    return body
