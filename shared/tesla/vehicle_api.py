"""The worker's VehicleApi: data calls straight to the Fleet API, commands the way each car accepts.

Built per use by the worker's container (and the simulation harness) from the settings: the
account's regional base URL (asked once with GET /api/1/users/region when TESLA_API_BASE_URL is
unset, then kept in the store), the fleet_status cache, the command key and its signer. Signing
code is imported only here, never by the scout.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import requests

from shared.clock import Clock
from shared.log import get_logger
from shared.ports import DocumentStore
from shared.settings import DEFAULT_API_BASE_URL, Settings
from shared.tesla.command_routing import CommandRouter, Signer
from shared.tesla.fleet_client import FleetClient, TokenProvider
from shared.tesla.fleet_status import FleetStatusCache, VehicleProfile
from shared.tesla.scopes import ACCOUNT, ScopeMemory

log = get_logger("TESLA")

REGION_DOC = "region"


class TeslaVehicle:
    """VehicleApi over a FleetClient (reads, wake) and a CommandRouter (signed or unsigned commands)."""

    def __init__(self, fleet: FleetClient, router: CommandRouter, profiles: FleetStatusCache) -> None:
        self.fleet = fleet
        self.router = router
        self.profiles = profiles

    def vehicle_state(self, vin: str) -> str:
        """`online`, `asleep` or `offline`; never wakes the car."""
        return self.fleet.vehicle_state(vin)

    def vehicle_data(self, vin: str) -> dict[str, Any]:
        """charge_state, and location_data when the token has the scope; VehicleAsleep on 408."""
        return self.fleet.vehicle_data(vin)

    def wake_up(self, vin: str, timeout_s: float = 90.0) -> bool:
        """Wake the car once and poll its state (bounded)."""
        return self.fleet.wake_up(vin, timeout_s=timeout_s)

    def set_charge_limit(self, vin: str, percent: int) -> dict[str, Any]:
        """Set the charge limit; `already_set` counts as done."""
        return self.router.send(vin, "set_charge_limit", {"percent": int(percent)})

    def add_charge_schedule(self, vin: str, schedule: Mapping[str, Any]) -> dict[str, Any]:
        """Add (or, with the same id, replace) a charge schedule."""
        return self.router.send(vin, "add_charge_schedule", dict(schedule))

    def remove_charge_schedule(self, vin: str, schedule_id: int) -> dict[str, Any]:
        """Remove our charge schedule with this id."""
        return self.router.send(vin, "remove_charge_schedule", {"id": int(schedule_id)})

    def location_readable(self) -> bool:
        """False when the token lacks the vehicle_location scope."""
        return self.fleet.location_allowed()

    def check_commands(self, vin: str, commands: tuple[str, ...]) -> None:
        """Raise what these commands would meet (no key, key not paired, firmware too old); sends nothing."""
        self.router.preflight(vin, commands)

    def profile(self, vin: str) -> VehicleProfile:
        """fleet_status for the car (cached for a day)."""
        return self.profiles.profile(vin)


def account_base_url(
    settings: Settings, store: DocumentStore, clock: Clock, ask_region: Callable[[str], Mapping[str, Any]]
) -> str:
    """TESLA_API_BASE_URL when set, else the base users/region named (asked once, kept in the store)."""
    if settings.tesla_api_base_url_configured:
        return settings.tesla_api_base_url
    doc = store.get(ACCOUNT, REGION_DOC) or {}
    if isinstance(doc.get("fleet_api_base_url"), str):
        return str(doc["fleet_api_base_url"])
    answer = ask_region(DEFAULT_API_BASE_URL)
    base = str(answer.get("fleet_api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
    store.set(
        ACCOUNT,
        REGION_DOC,
        {"region": answer.get("region"), "fleet_api_base_url": base, "checked_at": clock.now().isoformat()},
    )
    log.info(f"Tesla account region: {answer.get('region')}; Fleet API base {base}")
    return base


class CommandKeyCache:
    """The command key's PEM, read once per process (a missing key is looked for again after 10 min)."""

    def __init__(self, load: Callable[[], bytes | None], clock: Clock) -> None:
        self._load = load
        self._clock = clock
        self._pem: bytes | None = None
        self._looked_at: datetime | None = None

    def pem(self) -> bytes | None:
        now = self._clock.now()
        if self._pem is None and (self._looked_at is None or (now - self._looked_at).total_seconds() > 600):
            self._looked_at = now
            self._pem = self._load()
        return self._pem


def build_vehicle_api(
    settings: Settings,
    tokens: TokenProvider,
    store: DocumentStore,
    clock: Clock,
    command_key: CommandKeyCache,
    *,
    session: requests.Session | None = None,
    rng: random.Random | None = None,
) -> TeslaVehicle:
    """The VehicleApi the worker's services use."""
    scopes = ScopeMemory(store, clock)

    def fleet_at(base_url: str) -> FleetClient:
        proxy = settings.tesla_proxy_url if settings.proxy_enabled else None
        return FleetClient(
            base_url,
            tokens,
            clock=clock,
            proxy_url=proxy,
            proxy_ca_cert=settings.tesla_proxy_ca_cert,
            session=session,
            scopes=scopes,
            rng=rng,
        )

    fleet = fleet_at(account_base_url(settings, store, clock, lambda base: fleet_at(base).user_region()))
    profiles = FleetStatusCache(store, clock, fleet.fleet_status)

    def make_signer() -> Signer | None:
        pem = command_key.pem()
        if pem is None:
            return None
        from shared.tesla.command_protocol import load_private_key
        from shared.tesla.command_session import CommandSigner

        return CommandSigner(
            store=store,
            private_key=load_private_key(pem),
            clock=clock,
            send=fleet.signed_command,
            app_domain=settings.tesla_app_domain,
        )

    router = CommandRouter(
        fleet,
        mode=settings.tesla_command_signing,
        profiles=profiles,
        signer_factory=make_signer,
        app_domain=settings.tesla_app_domain,
    )
    return TeslaVehicle(fleet, router, profiles)
