"""Named kinds of car (VehicleSpec presets) and what a firmware version can do.

- `modern` (the default): a Model 3/Y, or a Model S/X from 2021 on. It refuses unsigned REST
  commands with 403 (FACTS: every vehicle but pre-2021 Model S/X; developer.tesla.com, Vehicle
  Commands), has the app's key paired and firmware new enough for charge schedules (2024.26+,
  FACTS) and for encrypted answers (2024.38+, protocol.md "Response decryption").
- `legacy_model_s`: a pre-2021 Model S, which still takes unsigned REST commands (and signed ones).
- `unpaired`: a modern car whose owner never paired the app's key (tesla.com/_ak/<domain>).
- `old_firmware`: a modern car on 2024.20.9, before charge schedules existed.
- `unsigned_hardlocked`: a modern car that answers unsigned commands 200 with reason
  `unsigned_cmds_hardlocked` instead of the 403 (FACTS: "some cars").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.tesla_sim.vehicle import VehicleSpec

PRESETS: Mapping[str, Mapping[str, Any]] = {
    "modern": {},
    "legacy_model_s": {"requires_signed_commands": False, "display_name": "Model S (2019)"},
    "unpaired": {"key_paired": False},
    "old_firmware": {"firmware_version": "2024.20.9"},
    "unsigned_hardlocked": {"unsigned_command_reply": "hardlocked"},
}
CHARGE_SCHEDULE_FIRMWARE = "2024.26"  # FACTS: charge schedule commands need 2024.26+
ENCRYPTED_RESPONSE_FIRMWARE = "2024.38"  # protocol.md: FLAG_ENCRYPT_RESPONSE honoured from 2024.38
UNSIGNED_REPLIES = ("forbidden", "hardlocked")


def vehicle_spec(vin: str, preset: str = "modern", **options: Any) -> VehicleSpec:
    """The spec of a car of this preset; explicit options win over the preset's."""
    if preset not in PRESETS:
        raise ValueError(f"unknown car preset {preset!r}; one of {', '.join(PRESETS)}")
    spec = VehicleSpec(vin=vin, **{**PRESETS[preset], **options, "preset": preset})
    if spec.unsigned_command_reply not in UNSIGNED_REPLIES:
        raise ValueError(f"unsigned_command_reply must be one of {', '.join(UNSIGNED_REPLIES)}")
    firmware_parts(spec.firmware_version)
    return spec


def firmware_parts(version: str) -> tuple[int, ...]:
    """ "2024.44.25" → (2024, 44, 25); ValueError for anything else."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise ValueError(f"firmware version {version!r} is not like 2024.44.25") from None


def firmware_at_least(version: str, minimum: str) -> bool:
    """Numeric comparison per part: "2024.9" is older than "2024.26"."""
    return firmware_parts(version) >= firmware_parts(minimum)


def supports_charge_schedules(version: str) -> bool:
    """add/remove_charge_schedule exist on this firmware."""
    return firmware_at_least(version, CHARGE_SCHEDULE_FIRMWARE)


def encrypts_responses(version: str) -> bool:
    """The car honours FLAG_ENCRYPT_RESPONSE on this firmware."""
    return firmware_at_least(version, ENCRYPTED_RESPONSE_FIRMWARE)
