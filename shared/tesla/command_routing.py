"""Which way each command reaches the car: the owner's proxy, a signed message, or plain REST.

Every Model 3/Y and every S/X since 2021 refuses unsigned commands (FACTS: 403 "Tesla Vehicle
Command Protocol required", or 200 `unsigned_cmds_hardlocked`). `TESLA_COMMAND_SIGNING`:
- `auto` (default): ask fleet_status once a day; sign for a car that requires it, so no unsigned
  command is ever sent to such a car; a car that refuses an unsigned command is corrected in the
  cache and the command is signed at once;
- `always`: sign every command (fleet_status still tells pairing and firmware);
- `never`: plain REST, for pre-2021 Model S/X.
`TESLA_PROXY_URL` (when enabled) wins: the owner's proxy signs.

What the owner must fix is raised once, before any billed command that Tesla would refuse:
a car that needs signing with no key (`signing_required`), our key not paired (`key_not_paired`,
with the pairing link), firmware below 2024.26 for charge schedules (`firmware_too_old`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from shared.log import get_logger
from shared.tesla.errors import FirmwareTooOld, KeyNotPaired, SigningRequired
from shared.tesla.fleet_client import SIGNING_REMEDY, FleetClient, check_command_result
from shared.tesla.fleet_status import FleetStatusCache, VehicleProfile, firmware_at_least

log = get_logger("TESLA")

SCHEDULE_COMMANDS = frozenset({"add_charge_schedule", "remove_charge_schedule"})


class Signer(Protocol):
    """Signs and sends one command over the Vehicle Command Protocol; answers `{"result", "reason"}`."""

    def execute(self, vin: str, command: str, body: Mapping[str, Any]) -> dict[str, Any]: ...


def pairing_link(domain: str | None) -> str:
    """The link the owner opens on the phone with the Tesla app to pair our key."""
    return f"https://tesla.com/_ak/{domain}" if domain else "https://tesla.com/_ak/<your app domain>"


def pairing_remedy(domain: str | None) -> str:
    """The sentence telling the owner how to pair the command key."""
    return f"pair the command key with the car: open {pairing_link(domain)} on the phone with the Tesla app"


class CommandRouter:
    """Sends set_charge_limit / add_charge_schedule / remove_charge_schedule the way the car accepts."""

    def __init__(
        self,
        fleet: FleetClient,
        *,
        mode: str,
        profiles: FleetStatusCache,
        signer_factory: Callable[[], Signer | None],
        app_domain: str | None = None,
    ) -> None:
        self._fleet = fleet
        self._mode = mode
        self._profiles = profiles
        self._signer_factory = signer_factory
        self._signer: Signer | None = None
        self._domain = app_domain

    def send(self, vin: str, command: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Send one command; the answer is Tesla's REST-shaped result (already_set counts as done)."""
        if self._fleet.via_proxy:
            return self._fleet.unsigned_command(vin, command, body)
        if self._mode == "never":
            return self._fleet.unsigned_command(vin, command, body)
        profile = self._profiles.profile(vin)
        self._check_firmware(profile, command)
        if self._mode == "always" or profile.protocol_required is True:
            return self._signed(vin, command, body, profile)
        try:
            return self._fleet.unsigned_command(vin, command, body)
        except SigningRequired:
            # fleet_status said no signing is needed (or did not say); the car knows better.
            log.info("the car refused an unsigned command; signing from now on", fields={"vin": vin})
            self._profiles.correct(vin, protocol_required=True)
            return self._signed(vin, command, body, self._profiles.profile(vin))

    def preflight(self, vin: str, commands: tuple[str, ...]) -> None:
        """Raise the owner-action error these commands would meet, before anything is changed on the car."""
        if self._fleet.via_proxy or self._mode == "never":
            return
        profile = self._profiles.profile(vin)
        for command in commands:
            self._check_firmware(profile, command)
        if self._mode == "always" or profile.protocol_required is True:
            if profile.key_paired is False:
                raise KeyNotPaired(
                    "the car does not know the command key (fleet_status lists it as unpaired)",
                    remedy=pairing_remedy(self._domain),
                )
            if self._signer_or_none() is None:
                raise SigningRequired(
                    "the car accepts only signed commands and no command key is configured", remedy=SIGNING_REMEDY
                )

    def _signed(self, vin: str, command: str, body: Mapping[str, Any], profile: VehicleProfile) -> dict[str, Any]:
        if profile.key_paired is False:
            raise KeyNotPaired(
                "the car does not know the command key (fleet_status lists it as unpaired)",
                remedy=pairing_remedy(self._domain),
            )
        signer = self._signer_or_none()
        if signer is None:
            raise SigningRequired(
                "the car accepts only signed commands and no command key is configured", remedy=SIGNING_REMEDY
            )
        try:
            answer = signer.execute(vin, command, body)
        except KeyNotPaired as unknown:
            self._profiles.correct(vin, key_paired=False)
            raise KeyNotPaired(str(unknown), remedy=pairing_remedy(self._domain)) from None
        return check_command_result(command, answer)

    def _check_firmware(self, profile: VehicleProfile, command: str) -> None:
        if command in SCHEDULE_COMMANDS and firmware_at_least(profile.firmware_version) is False:
            raise FirmwareTooOld(
                f"charge schedules need firmware 2024.26 or later; the car runs {profile.firmware_version}",
                remedy="update the car's software (Tesla app → Software), then the schedules work",
            )

    def _signer_or_none(self) -> Signer | None:
        if self._signer is None:
            self._signer = self._signer_factory()
        return self._signer
