"""What Tesla says about each car before we command it: signing required, our key paired, firmware.

`POST /api/1/vehicles/fleet_status {"vins": [...]}` answers `key_paired_vins`, `unpaired_vins`
and per VIN `vehicle_command_protocol_required` and `firmware_version` (FACTS). It is asked once
and kept in the document store until a command proves it wrong (a 403 "Vehicle Command Protocol
required" on a car it called unsigned, an unknown-key fault on a "paired" car), or for a day while
it shows a problem the owner may be fixing (key unpaired, firmware too old, fields unknown). A car
that is paired and up to date is asked again after a week: each ask is a billed data request, and
nothing the owner does can make a healthy answer wrong without a command telling us.
Charge-schedule commands need firmware 2024.26 or later (FACTS, vehicle-command issue 290).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from shared.clock import Clock
from shared.log import get_logger
from shared.ports import DocumentStore

log = get_logger("TESLA")

COLLECTION = "tesla_fleet_status"
FRESH_FOR = timedelta(days=1)
HEALTHY_FRESH_FOR = timedelta(days=7)
SCHEDULE_FIRMWARE = (2024, 26)


@dataclass(frozen=True)
class VehicleProfile:
    """One car as fleet_status described it (fields None when Tesla did not say)."""

    vin: str
    key_paired: bool | None
    protocol_required: bool | None
    firmware_version: str | None
    checked_at: str

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_doc(doc: Mapping[str, Any]) -> VehicleProfile:
        return VehicleProfile(
            vin=str(doc.get("vin", "")),
            key_paired=_bool_or_none(doc.get("key_paired")),
            protocol_required=_bool_or_none(doc.get("protocol_required")),
            firmware_version=doc.get("firmware_version") if isinstance(doc.get("firmware_version"), str) else None,
            checked_at=str(doc.get("checked_at", "")),
        )


def _bool_or_none(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def parse_fleet_status(response: Mapping[str, Any], vins: list[str], checked_at: datetime) -> dict[str, VehicleProfile]:
    """Profiles for `vins` from fleet_status's `response` object; unknown fields stay None."""
    paired = {str(v).upper() for v in response.get("key_paired_vins") or []}
    unpaired = {str(v).upper() for v in response.get("unpaired_vins") or []}
    info = response.get("vehicle_info") or {}
    profiles = {}
    for vin in vins:
        details = info.get(vin) if isinstance(info, Mapping) else None
        details = details if isinstance(details, Mapping) else {}
        firmware = details.get("firmware_version")
        profiles[vin] = VehicleProfile(
            vin=vin,
            key_paired=True if vin in paired else False if vin in unpaired else None,
            protocol_required=_bool_or_none(details.get("vehicle_command_protocol_required")),
            firmware_version=str(firmware) if isinstance(firmware, str | int | float) and firmware != "" else None,
            checked_at=checked_at.isoformat(),
        )
    return profiles


def firmware_at_least(version: str | None, minimum: tuple[int, int] = SCHEDULE_FIRMWARE) -> bool | None:
    """Whether a firmware like "2024.26.3 abc" is at least (year, release); None when unreadable."""
    if not version:
        return None
    match = re.match(r"\s*(\d{4})\.(\d+)", version)
    if not match:
        return None
    return (int(match.group(1)), int(match.group(2))) >= minimum


def _fresh_for(profile: VehicleProfile) -> timedelta:
    healthy = profile.key_paired is True and firmware_at_least(profile.firmware_version) is True
    return HEALTHY_FRESH_FOR if healthy else FRESH_FOR


class FleetStatusCache:
    """fleet_status answers per VIN, asked at most once a day per car (or again after `forget`)."""

    def __init__(self, store: DocumentStore, clock: Clock, fetch: Callable[[list[str]], Mapping[str, Any]]) -> None:
        self._store = store
        self._clock = clock
        self._fetch = fetch

    def profile(self, vin: str) -> VehicleProfile:
        """The car's profile, from the store when younger than a day, else from Tesla (and stored)."""
        now = self._clock.now()
        doc = self._store.get(COLLECTION, vin)
        if doc:
            cached = VehicleProfile.from_doc(doc)
            try:
                if now - datetime.fromisoformat(cached.checked_at) < _fresh_for(cached):
                    return cached
            except ValueError:
                pass
        profile = parse_fleet_status(self._fetch([vin]), [vin], now)[vin]
        self._store.set(COLLECTION, vin, profile.to_doc())
        log.info(
            "fleet_status read",
            fields={
                "vin": vin,
                "key_paired": profile.key_paired,
                "signing_required": profile.protocol_required,
                "firmware_version": profile.firmware_version,
            },
        )
        return profile

    def correct(self, vin: str, **changes: Any) -> None:
        """A command showed fleet_status wrong (e.g. protocol_required=True): keep the correction."""
        doc = self._store.get(COLLECTION, vin)
        base = VehicleProfile.from_doc(doc) if doc else VehicleProfile(vin, None, None, None, "")
        corrected = replace(base, **changes, checked_at=self._clock.now().isoformat())
        self._store.set(COLLECTION, vin, corrected.to_doc())
