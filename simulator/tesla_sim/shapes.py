"""The JSON the Fleet API answers with, shaped like Tesla's documented examples.

Only what a charging controller reads is live (state, charge_state, position); the rest is there
so parsers meet the shape they will meet in production.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from simulator.tesla_sim.vehicle import SimVehicle

# What vehicle_data returns when no `endpoints` are asked for. Since firmware 2023.38 the position
# is only sent when `location_data` is asked for explicitly (FACTS, Tesla Fleet API).
DEFAULT_ENDPOINTS = frozenset(
    {"charge_state", "climate_state", "drive_state", "gui_settings", "vehicle_config", "vehicle_state"}
)
KNOWN_ENDPOINTS = DEFAULT_ENDPOINTS | {
    "location_data",
    "charge_schedule_data",
    "preconditioning_schedule_data",
    "closures_state",
}
KM_PER_PERCENT = 5.0  # rated range of the simulated car per percent of battery
MILES_PER_KM = 0.621371


def vehicle_summary(v: SimVehicle) -> dict[str, Any]:
    """GET /api/1/vehicles/{vin}: the vehicle object without sub-states."""
    return {
        "id": v.vehicle_id,
        "vehicle_id": v.vehicle_id % 1_000_000_000,
        "user_id": 1,
        "vin": v.spec.vin,
        "display_name": v.spec.display_name,
        "color": None,
        "access_type": "OWNER",
        "tokens": None,
        "state": v.state,
        "in_service": False,
        "id_s": str(v.vehicle_id),
        "calendar_enabled": True,
        "api_version": 81,
        "backseat_token": None,
        "backseat_token_updated_at": None,
    }


def vehicle_data(v: SimVehicle, now: datetime, endpoints: frozenset[str]) -> dict[str, Any]:
    """GET .../vehicle_data with the given endpoints."""
    data = vehicle_summary(v)
    if "charge_state" in endpoints:
        data["charge_state"] = charge_state(v, now)
    if "drive_state" in endpoints or "location_data" in endpoints:
        data["drive_state"] = drive_state(v, now, with_location="location_data" in endpoints)
    if "charge_schedule_data" in endpoints:
        data["charge_schedule_data"] = {"charge_schedules": _schedules(v), "timestamp": _ms(now)}
    if "vehicle_state" in endpoints:
        data["vehicle_state"] = {"car_version": "2025.20.6", "locked": True, "odometer": 12345.6, "timestamp": _ms(now)}
    if "climate_state" in endpoints:
        data["climate_state"] = {
            "is_climate_on": False,
            "inside_temp": 18.5,
            "outside_temp": 9.0,
            "timestamp": _ms(now),
        }
    if "gui_settings" in endpoints:
        data["gui_settings"] = {"gui_distance_units": "km/hr", "gui_24_hour_time": True, "timestamp": _ms(now)}
    if "vehicle_config" in endpoints:
        data["vehicle_config"] = {"car_type": "model3", "charge_port_type": "CCS", "timestamp": _ms(now)}
    return data


def charge_state(v: SimVehicle, now: datetime) -> dict[str, Any]:
    """charge_state with the fields Tesla documents; integers where Tesla sends integers."""
    charging = v.charging_at(now)
    state = v.charging_state(now)
    power = v.spec.charger_power_kw if charging else 0.0
    level = math.floor(v.soc + 1e-6)
    range_mi = v.soc * KM_PER_PERCENT * MILES_PER_KM
    remaining_h = _hours_to_limit(v) if charging else 0.0
    return {
        "battery_level": level,
        "usable_battery_level": level,
        "battery_range": round(range_mi, 2),
        "est_battery_range": round(range_mi * 0.9, 2),
        "ideal_battery_range": round(range_mi * 1.05, 2),
        "charge_limit_soc": v.charge_limit,
        "charge_limit_soc_std": 90,
        "charge_limit_soc_min": 50,
        "charge_limit_soc_max": 100,
        "charging_state": state,
        "charger_power": round(power),
        "charger_voltage": 230 if charging else 0,
        "charger_actual_current": round(power * 1000 / 230 / 3) if charging else 0,
        "charger_phases": 3 if charging else None,
        "charge_rate": round(power * v.spec.efficiency / v.spec.capacity_kwh * 100 * KM_PER_PERCENT, 1),
        "charge_energy_added": round(v.battery_kwh_added, 2),
        "time_to_full_charge": round(remaining_h, 2),
        "minutes_to_full_charge": round(remaining_h * 60),
        "charge_port_door_open": v.plugged_in,
        "charge_port_latch": "Engaged" if v.plugged_in else "Disengaged",
        "conn_charge_cable": "IEC" if v.plugged_in else "<invalid>",
        "fast_charger_present": False,
        "charge_enable_request": True,
        "scheduled_charging_mode": "StartAt" if v.schedules_here() else "Off",
        "scheduled_charging_pending": v.plugged_in and state == "Stopped" and bool(v.schedules_here()),
        "scheduled_charging_start_time": None,
        "charge_schedules": _schedules(v),
        "timestamp": _ms(now),
    }


def drive_state(v: SimVehicle, now: datetime, *, with_location: bool) -> dict[str, Any]:
    """drive_state; latitude/longitude only when location_data was asked for."""
    data: dict[str, Any] = {
        "shift_state": "D" if v.driving else ("P" if not v.asleep else None),
        "speed": 50 if v.driving else None,
        "power": 0,
        "timestamp": _ms(now),
    }
    if with_location:
        data.update(
            {
                "latitude": v.latitude,
                "longitude": v.longitude,
                "native_latitude": v.latitude,
                "native_longitude": v.longitude,
                "native_location_supported": 1,
                "native_type": "wgs",
                "heading": 90,
                "gps_as_of": int(now.timestamp()),
            }
        )
    return data


def _schedules(v: SimVehicle) -> list[dict[str, Any]]:
    return [s.to_tesla() for s in sorted(v.schedules.values(), key=lambda s: s.id)]


def _hours_to_limit(v: SimVehicle) -> float:
    kw = v.spec.charger_power_kw * v.spec.efficiency
    return max(0.0, (v.charge_limit - v.soc) / 100 * v.spec.capacity_kwh / kw)


def _ms(now: datetime) -> int:
    return int(now.timestamp() * 1000)
