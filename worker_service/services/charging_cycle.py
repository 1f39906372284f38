"""The normal OFF PEAK cycle: a car at home gets the cheapest schedule up to its own limit by READY_BY.

Started by the scout on a state change (`/scout-trigger`, never wakes the car) and by the nightly
failsafe (`/run-cycle`, may wake it once). Only the schedule this system set before is replaced —
by reusing its id — never the owner's other schedules. Repeating a cycle sends nothing when the
plan has not changed (commands are billed).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.domain import geofence
from shared.errors import UpstreamError
from shared.log import get_logger
from shared.tesla.errors import MissingScope, OwnerActionRequired, VehicleAsleep
from shared.tesla.scopes import LOCATION_SCOPE, scope_remedy
from worker_service.services import home_schedule, vehicle_readings
from worker_service.services.session_store import active_sessions

if TYPE_CHECKING:
    from worker_service.container import Services

log = get_logger("WORKER")
CYCLE_STATE = vehicle_readings.CYCLE_STATE
SCOUT_STATE = "scout_state"


# How long the last reading of a car asleep at home is trusted by the failsafe (it woke for nothing since).
KEPT_READING_FOR = timedelta(days=7)
# Scout reasons after which the car may have moved or been driven: always plan again.
REPLAN_REASONS = ("arrived_home", "first_detection")
PLAN_FRESH_FOR = timedelta(hours=16)


def plan_is_current(previous: dict[str, Any], now: datetime) -> bool:
    """A schedule this system sent in the last 16 hours whose charging has not ended yet."""
    plan, sent_at = previous.get("plan") or {}, previous.get("sent_at")
    if not plan.get("charging_end") or not isinstance(sent_at, str):
        return False
    return datetime.fromisoformat(plan["charging_end"]) > now and now - datetime.fromisoformat(sent_at) < PLAN_FRESH_FOR


def _is_online(s: Services, vin: str) -> bool:
    return s.vehicle().vehicle_state(vin) == "online"


def cycle_schedule_id(vin: str) -> int:
    """The first id of the car's home schedule (the everyday cycle's first window)."""
    return home_schedule.base_id(vin)


def run_cycle(s: Services, *, trigger: dict[str, Any] | None, may_wake: bool) -> dict[str, Any]:
    """Run the cycle for the trigger's vehicle (or every vehicle); one result per vehicle."""
    vins = s.settings.vins
    if trigger and isinstance(trigger.get("vin"), str) and trigger["vin"].upper() in vins:
        vins = (trigger["vin"].upper(),)
    results = [cycle_vehicle(s, vin, trigger=trigger, may_wake=may_wake) for vin in vins]
    if len(results) == 1:
        return results[0]
    return {"status": "success", "vehicles": results, "skipped": all(r.get("skipped") for r in results)}


def _skip(vin: str, reason: str, **extra: Any) -> dict[str, Any]:
    log.info(f"cycle skipped: {reason}", fields={"vin": vin, "reason": reason})
    return {"status": "success", "vin": vin, "skipped": True, "reason": reason, **extra}


# Codes a successful command proves resolved.
COMMAND_CODES = ("signing_required", "key_not_paired", "firmware_too_old")
PLUGGED_OUT = (None, "Disconnected")


def cycle_vehicle(s: Services, vin: str, *, trigger: dict[str, Any] | None, may_wake: bool) -> dict[str, Any]:
    """Plan and send one car's schedule, or say why not (an owner action is answered, not raised)."""
    s.owner_actions.sync()
    try:
        result = _cycle_vehicle(s, vin, trigger=trigger, may_wake=may_wake)
        s.owner_actions.sync()  # what this cycle learnt (fleet_status, cleared problems) shows on /health
        return result
    except OwnerActionRequired as error:
        # Answered 200: the scout keeps its new state and Cloud Scheduler does not retry; both would
        # only repeat a billed refusal until the owner acts.
        s.owner_actions.record(vin, error, during="cycle")
        return {
            "status": "failed",
            "vin": vin,
            "skipped": True,
            "reason": error.code,
            "error": error.code,
            "message": error.message,
            "remedy": error.remedy,
        }


def _cycle_vehicle(s: Services, vin: str, *, trigger: dict[str, Any] | None, may_wake: bool) -> dict[str, Any]:
    if active_sessions(s.store, vin):
        return _skip(vin, "special_charging_active")
    now = s.clock.now()
    previous = s.store.get(CYCLE_STATE, vin) or {}
    reason = (trigger or {}).get("reason")
    if reason not in REPLAN_REASONS and plan_is_current(previous, now):
        # Nothing moved since tonight's schedule was sent (the car waking to charge is not news):
        # no wake, no read, no command — each is billed.
        return _skip(vin, "schedule_current", charging_end=previous["plan"].get("charging_end"))
    if trigger is None and _remembered_home(s, vin) is False and not _is_online(s, vin):
        return _skip(vin, "not_at_home")  # asleep away from home: waking it would change nothing
    at_home, reading, on_car = _home_and_reading(s, vin, trigger, may_wake, now)
    if at_home is False:
        return _skip(vin, "not_at_home")
    if reading is None:
        return _skip(vin, "vehicle_asleep")
    if trigger is None and reading.charging_state in PLUGGED_OUT and reading.read_at < now:
        # A kept reading (the car slept since) says unplugged: plugging in wakes the car and the scout
        # plans then. A reading taken now (the car is awake) still gets its home schedule.
        return _skip(vin, "not_plugged_in")
    position_note = None
    if at_home is None and not s.vehicle().location_readable():
        s.owner_actions.record(vin, _no_location_scope(), during="cycle")
        if reading.charging_state in PLUGGED_OUT:
            return _skip(vin, "position_unknown", note="no vehicle_location scope: only a plugged-in car is planned")
        # The schedule carries home's coordinates and the car applies it only there (FACTS), so a
        # plugged-in car is planned for even when its position cannot be read.
        at_home = True
        position_note = "position unknown (no vehicle_location scope): the schedule is bound to home's coordinates"
    if at_home is None:
        return _skip(vin, "position_unknown")
    if position_note is None:
        s.owner_actions.clear(vin, "missing_scope")
    target = reading.charge_limit_soc
    if reading.battery_level >= target:
        return _skip(vin, "already_at_limit", battery_level=reading.battery_level, charge_limit=target)
    from worker_service.services.planning import plan_everyday

    plan = plan_everyday(
        s.settings, s.price_source(), current_soc=reading.battery_level, target_soc=target, now=now
    ).to_dict()
    if not plan.get("windows"):
        return _skip(vin, "no_charging_window", plan=plan)
    wanted, diff = home_schedule.changes(s, vin, home_schedule.windows_of(plan), on_car)
    if diff.changes == 0:
        # The car already holds this plan (read back, or as we last sent it): no command, no wake.
        _remember_plan(s, vin, plan, wanted, now)
        return {
            "status": "success",
            "vin": vin,
            "skipped": False,
            "unchanged": True,
            "plan": plan,
            "reason": "schedule_unchanged",
        }
    _ensure_online(s, vin, may_wake)
    home_schedule.put_on_car(s, vin, wanted, diff, purpose="everyday")
    s.owner_actions.clear(vin, *COMMAND_CODES)
    _remember_plan(s, vin, plan, wanted, now)
    sent_ids = [int(p["id"]) for p in wanted]
    log.info(
        f"schedule sent: {plan['charging_start']} – {plan['charging_end']}, "
        f"est. {plan['estimated_cost']} {plan['currency']}",
        fields={"vin": vin, "feasible": plan["feasible"]},
    )
    result = {"status": "success", "vin": vin, "skipped": False, "plan": plan, "schedule_ids": sent_ids}
    if position_note:
        result["note"] = position_note
    return result


def _no_location_scope() -> MissingScope:
    return MissingScope(
        "the Tesla token lacks the vehicle_location scope: the car's position cannot be read",
        scope=LOCATION_SCOPE,
        remedy=scope_remedy(LOCATION_SCOPE),
    )


def _home_and_reading(
    s: Services, vin: str, trigger: dict[str, Any] | None, may_wake: bool, now: datetime
) -> tuple[bool | None, vehicle_readings.ChargeReading | None, list[dict[str, Any]] | None]:
    """Where the car is, its charge state and (when read) its schedules; the scout's trigger first (no call)."""
    charge_state = (trigger or {}).get("charge_state")
    if isinstance(charge_state, dict) and isinstance(trigger, dict) and isinstance(trigger.get("at_home"), bool):
        reading = vehicle_readings.reading_from_charge_state(charge_state, now)
        if reading is not None:
            vehicle_readings.remember(s.store, vin, reading)
            on_car = trigger.get("charge_schedules")
            return trigger["at_home"], reading, on_car if isinstance(on_car, list) else None
    vehicle = s.vehicle()
    if vehicle.vehicle_state(vin) != "online":
        if not may_wake:
            return _remembered_home(s, vin), None, None
        kept = _kept_reading(s, vin, now)
        if kept is not None:
            # The sleeping car still holds its last reading: plan with it, and wake only if the
            # home schedule must change (a wake costs $1 per 50, FACTS).
            return True, kept, None
        if not vehicle.wake_up(vin):
            raise UpstreamError("The car did not wake up in time", code="vehicle_unavailable")
    try:
        data = vehicle.vehicle_data(vin)
    except VehicleAsleep:
        return _remembered_home(s, vin), None, None
    reading = vehicle_readings.reading_from_charge_state(data.get("charge_state") or {}, now)
    if reading is not None:
        vehicle_readings.remember(s.store, vin, reading)
    at_home = _at_home(s, data) if _has_position(data) else _remembered_home(s, vin)
    return at_home, reading, home_schedule.schedules_on_car(data)


def _kept_reading(s: Services, vin: str, now: datetime) -> vehicle_readings.ChargeReading | None:
    """What a car asleep at home since its last reading still holds, so the failsafe need not wake it.

    A sleeping car is where it was: unplugging, driving or charging wake it, and the scout then reads
    it again. So the last reading stands (up to a week), adjusted when our plan ran to its end since.
    """
    if _remembered_home(s, vin) is not True:
        return None
    older = vehicle_readings.recent_reading(s.store, vin, now, max_age=KEPT_READING_FOR)
    if older is None:
        return None
    unplugged = older.charging_state in PLUGGED_OUT  # an unplugged car charged nothing since
    if unplugged or not vehicle_readings.charged_since(s.store, vin, older.read_at, now):
        return older
    plan = (s.store.get(CYCLE_STATE, vin) or {}).get("plan") or {}
    if _completed_since(plan, older, now):
        # Our feasible plan for this reading has run to its end while the car slept plugged in at home:
        # it is at its limit. Waking it to read that would cost $0.02 and change nothing.
        return vehicle_readings.ChargeReading(
            float(older.charge_limit_soc), older.charge_limit_soc, "Complete", older.read_at
        )
    return None


def _completed_since(plan: dict[str, Any], reading: vehicle_readings.ChargeReading, now: datetime) -> bool:
    """A feasible plan made to this reading's limit, begun after the reading and ended before now."""
    try:
        start, end = datetime.fromisoformat(plan["charging_start"]), datetime.fromisoformat(plan["charging_end"])
    except (KeyError, TypeError, ValueError):
        return False
    plugged = reading.charging_state not in PLUGGED_OUT
    to_limit = plan.get("target_soc") in (None, reading.charge_limit_soc)
    return bool(plan.get("feasible")) and plugged and to_limit and reading.read_at <= start and end <= now


def _has_position(data: dict[str, Any]) -> bool:
    drive = data.get("drive_state") or {}
    return drive.get("latitude") is not None and drive.get("longitude") is not None


def _at_home(s: Services, data: dict[str, Any]) -> bool | None:
    settings = s.settings
    if settings.home_latitude is None or settings.home_longitude is None:
        return None
    drive = data["drive_state"]
    distance = geofence.distance_m(
        float(drive["latitude"]), float(drive["longitude"]), settings.home_latitude, settings.home_longitude
    )
    return geofence.is_home(distance, geofence.radius_m(settings.home_radius_meters, settings.home_radius_degrees))


def _remembered_home(s: Services, vin: str) -> bool | None:
    state = s.store.get(SCOUT_STATE, vin) or {}
    value = state.get("at_home")
    return value if isinstance(value, bool) else None


def _ensure_online(s: Services, vin: str, may_wake: bool) -> None:
    vehicle = s.vehicle()
    if vehicle.vehicle_state(vin) != "online" and (not may_wake or not vehicle.wake_up(vin)):
        raise UpstreamError("The car is asleep; the schedule could not be sent", code="vehicle_unavailable")


def _remember_plan(s: Services, vin: str, plan: dict[str, Any], wanted: list[dict[str, Any]], now: datetime) -> None:
    def write(current: dict[str, Any] | None) -> dict[str, Any]:
        doc = dict(current or {})
        doc.update(
            windows=plan["windows"], schedule_ids=[int(p["id"]) for p in wanted], sent_at=now.isoformat(), plan=plan
        )
        return doc

    s.store.update(CYCLE_STATE, vin, write)
