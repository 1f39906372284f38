"""`POST /api/1/vehicles/fleet_status`: which cars have the app's key paired, and what each car is.

Field names are Tesla's (developer.tesla.com, Vehicle Endpoints → fleet_status; the same names in
public clients' models): `key_paired_vins`, `unpaired_vins`, and per VIN in `vehicle_info`
`firmware_version`, `vehicle_command_protocol_required`, `safety_screen_streaming_toggle_enabled`
(only older Intel-based Model S/X), `fleet_telemetry_version`, `discounted_device_data` and
`total_number_of_keys`. Tesla answers from its records, so a sleeping car neither wakes nor fails.
VINs not on the account are left out of every list (an assumption: Tesla's answer for them is not
documented).

Billing: counted as `data` (the endpoint reads device information; Tesla shows each endpoint's
pricing category only in its interactive docs — counting it as data can only overstate the bill).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Keys a car holds besides third-party app keys: the owner's phone key and key card (an assumption).
OWNER_KEYS = 2


@dataclass(frozen=True)
class CarKeyStatus:
    """What fleet_status reports of one car."""

    vin: str
    key_paired: bool
    firmware_version: str
    command_protocol_required: bool
    enrolled_keys: int
    legacy_model_s: bool


def fleet_status(cars: Sequence[CarKeyStatus]) -> dict[str, Any]:
    """The `response` of fleet_status for these cars, in the order asked."""
    return {
        "key_paired_vins": [car.vin for car in cars if car.key_paired],
        "unpaired_vins": [car.vin for car in cars if not car.key_paired],
        "vehicle_info": {
            car.vin: {
                "firmware_version": car.firmware_version,
                "vehicle_command_protocol_required": car.command_protocol_required,
                "safety_screen_streaming_toggle_enabled": False if car.legacy_model_s else None,
                "fleet_telemetry_version": None,  # no telemetry configured in the simulator
                "discounted_device_data": False,
                "total_number_of_keys": OWNER_KEYS + car.enrolled_keys,
            }
            for car in cars
        },
    }
