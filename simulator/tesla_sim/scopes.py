"""OAuth scopes: which a token is granted, which an endpoint needs, and Tesla's 403 text when one is missing.

Scope names and the default grant are FACTS' (developer.tesla.com, Authentication → scopes).
`vehicle_location` is needed for `vehicle_data` with `location_data` (FACTS; home-assistant/core
issue 154536); commands need `vehicle_cmds`, or `vehicle_charging_cmds` for charging commands
(signed commands too: Fleet API reads their plaintext to enforce scopes, protocol.md
"Authentication methods"). The 403 bodies are the ones users quote: `Unauthorized missing scopes`
(vehicle-command issue 199), and for location since 2026 `Unauthorized missing scopes
vehicle_location for vehicle data access` (teslamate issue 5419), which starts with the older text.
"""

from __future__ import annotations

from collections.abc import Iterable

DEFAULT_SCOPES: tuple[str, ...] = (
    "openid",
    "offline_access",
    "vehicle_device_data",
    "vehicle_location",
    "vehicle_cmds",
    "vehicle_charging_cmds",
)
MISSING_SCOPES = "Unauthorized missing scopes"
MISSING_LOCATION_SCOPE = "Unauthorized missing scopes vehicle_location for vehicle data access"
CHARGING_COMMANDS = frozenset(
    {
        "set_charge_limit",
        "add_charge_schedule",
        "remove_charge_schedule",
        "charge_start",
        "charge_stop",
        "set_charging_amps",
        "charge_port_door_open",
        "charge_port_door_close",
    }
)
COMMAND_SCOPES = frozenset({"vehicle_cmds", "vehicle_charging_cmds"})


def missing_scope_error(
    endpoint: str, granted: Iterable[str], *, data_endpoints: str | None = None, command: str | None = None
) -> str | None:
    """Tesla's 403 text when the granted scopes do not cover this call, else None."""
    scopes = frozenset(granted)
    if endpoint == "vehicle_data":
        if "vehicle_device_data" not in scopes:
            return MISSING_SCOPES
        if "location_data" in (data_endpoints or "").split(";") and "vehicle_location" not in scopes:
            return MISSING_LOCATION_SCOPE
    if endpoint == "signed_command" and not scopes & COMMAND_SCOPES:
        return MISSING_SCOPES
    if endpoint == "command":
        needed = COMMAND_SCOPES if command in CHARGING_COMMANDS else frozenset({"vehicle_cmds"})
        if not scopes & needed:
            return MISSING_SCOPES
    return None
