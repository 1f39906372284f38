"""One scout tick: per vehicle, look without waking, remember, and call the worker only on a change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.clock import Clock
from shared.domain import geofence
from shared.domain.scout_state import Observation, ScoutState, decide, needs_vehicle_data, next_state
from shared.errors import UpstreamError
from shared.log import get_logger
from shared.ports import DocumentStore, VehicleReader
from shared.scout.worker_client import WorkerClient, WorkerUnavailable
from shared.settings import Settings

log = get_logger("SCOUT")

SCOUT_STATE = "scout_state"
SESSIONS = "special_charging_sessions"
# What the worker needs of the car's charge schedules to send only what changed (no extra call).
SCHEDULE_FIELDS = (
    "id",
    "days_of_week",
    "enabled",
    "start_enabled",
    "start_time",
    "end_enabled",
    "end_time",
    "one_time",
    "latitude",
    "longitude",
)
MAX_SCHEDULES = 20
CHARGE_FIELDS = (
    "battery_level",
    "charge_limit_soc",
    "charging_state",
    "charge_port_door_open",
    "charger_power",
    "minutes_to_full_charge",
    "scheduled_charging_mode",
)


@dataclass
class ScoutDeps:
    """What a tick needs; built by the function entry point, or by tests and the simulation."""

    settings: Settings
    clock: Clock
    store: DocumentStore
    vehicle: VehicleReader
    worker: WorkerClient


def run_tick(deps: ScoutDeps) -> list[dict[str, Any]]:
    """Scout every configured VIN; one result object per vehicle."""
    return [scout_vehicle(deps, vin) for vin in deps.settings.vins]


def scout_vehicle(deps: ScoutDeps, vin: str) -> dict[str, Any]:
    """Look at one vehicle and trigger the worker when its state changed."""
    now = deps.clock.now()
    stored = deps.store.get(SCOUT_STATE, vin)
    previous = ScoutState.from_doc(stored) if stored else None
    vehicle_state = deps.vehicle.vehicle_state(vin)
    seen, data = _observe(deps, vin, previous, vehicle_state, now)
    charge_state = (data or {}).get("charge_state")
    decision = decide(previous, seen)
    result: dict[str, Any] = {
        "status": "success",
        "vin": vin,
        "vehicle_state": vehicle_state,
        "at_home": seen.at_home if vehicle_state == "online" else None,
        "distance_m": seen.distance_m if vehicle_state == "online" else None,
        "worker_triggered": False,
        "reason": decision.reason,
    }
    state = next_state(previous, vin, seen, now)
    if decision.trigger and _special_session_active(deps.store, vin):
        result["reason"] = "blocked_by_special_charging"
    elif decision.trigger:
        try:
            body = _trigger_body(vin, decision.reason, seen, charge_state, now, _schedules(data))
            answer = deps.worker.post("/scout-trigger", body)
        except WorkerUnavailable as error:
            log.warning(f"worker not reached for {decision.reason}; the next tick retries", fields={"vin": vin})
            result["error"] = error.code
            return result  # state not saved: the change is still pending
        if answer.status >= 300:
            log.warning(f"worker answered HTTP {answer.status} to {decision.reason}; the next tick retries")
            result["error"] = f"worker_http_{answer.status}"
            return result
        result["worker_triggered"] = True
        result["worker"] = {k: answer.body.get(k) for k in ("status", "skipped", "reason") if k in answer.body}
    if previous is None or state.differs_from(previous):
        deps.store.set(SCOUT_STATE, vin, state.to_doc())
    _log_tick(result)
    return result


def _observe(
    deps: ScoutDeps, vin: str, previous: ScoutState | None, vehicle_state: str, now: Any
) -> tuple[Observation, dict[str, Any] | None]:
    if not needs_vehicle_data(previous, vehicle_state, now):
        if vehicle_state == "online" and previous is not None:
            return Observation(vehicle_state, previous.at_home, previous.distance_m), None
        return Observation(vehicle_state), None
    try:
        data = deps.vehicle.vehicle_data(vin)
    except UpstreamError as error:
        # The car may have fallen asleep between the two calls (408): look again next tick.
        log.info(f"vehicle_data unavailable ({error.code}); position not read this tick")
        return Observation(vehicle_state), None
    position = data.get("drive_state") or {}
    lat, lon = position.get("latitude"), position.get("longitude")
    settings = deps.settings
    if lat is None or lon is None or settings.home_latitude is None or settings.home_longitude is None:
        return Observation(vehicle_state, None, None, data_read=True), data
    distance = geofence.distance_m(float(lat), float(lon), settings.home_latitude, settings.home_longitude)
    radius = geofence.radius_m(settings.home_radius_meters, settings.home_radius_degrees)
    home = geofence.is_home(distance, radius)
    return Observation(vehicle_state, home, round(distance, 1), data_read=True), data


def _schedules(data: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The car's charge schedules from the vehicle_data answer, when they were read."""
    block = (data or {}).get("charge_schedule_data")
    schedules = block.get("charge_schedules") if isinstance(block, dict) else None
    return [x for x in schedules if isinstance(x, dict)] if isinstance(schedules, list) else None


def _trigger_body(
    vin: str,
    reason: str,
    seen: Observation,
    charge_state: dict[str, Any] | None,
    now: Any,
    schedules: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What the worker needs to run the cycle without paying for its own vehicle_data call."""
    body: dict[str, Any] = {
        "reason": reason,
        "vin": vin,
        "vehicle_state": seen.vehicle_state,
        "at_home": seen.at_home,
        "distance_m": seen.distance_m,
        "observed_at": now.isoformat(),
    }
    if charge_state:
        body["charge_state"] = {k: charge_state[k] for k in CHARGE_FIELDS if k in charge_state}
    if schedules is not None:
        body["charge_schedules"] = [{k: s[k] for k in SCHEDULE_FIELDS if k in s} for s in schedules[:MAX_SCHEDULES]]
    return body


def _special_session_active(store: DocumentStore, vin: str) -> bool:
    return any(doc.get("vin") in (None, vin) for doc in store.list(SESSIONS, {"status": "ACTIVE"}))


def _log_tick(result: dict[str, Any]) -> None:
    distance = result["distance_m"]
    where = f"{distance:.0f} m from home" if isinstance(distance, int | float) else "position not read"
    log.info(
        f"{result['vehicle_state']}, {where}: {result['reason']}"
        + (", worker triggered" if result["worker_triggered"] else ""),
        fields={"vin": result["vin"], "reason": result["reason"], "worker_triggered": result["worker_triggered"]},
    )
