"""The worker's own VehicleApi (signing, fleet_status, scopes) against a running Tesla simulator.

Tests that exercise commands the way a 2024 car needs them build it here: a fresh command key in
the test's STATE_DIR, its public half registered with the simulator as the app's hosted key (so
cars whose spec says paired know it), and an in-memory store for sessions and caches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.clock import Clock
from shared.ports import DocumentStore
from shared.settings import load_settings
from shared.tesla.command_key import generate_local_key, load_command_key, local_key_path, public_key_pem
from shared.tesla.fleet_client import TokenProvider
from shared.tesla.vehicle_api import CommandKeyCache, TeslaVehicle, build_vehicle_api
from simulator.tesla_sim import RunningSim, TeslaSim
from tests.fakes.stores import InMemoryDocumentStore, InMemorySecretStore

VIN = "5YJ3E7EB2NF000001"


def vehicle_env(state_dir: Path, base_url: str | None, **extra: str) -> dict[str, str]:
    """A worker environment on the local backend pointing at the simulator."""
    env = {"BACKEND": "local", "STATE_DIR": str(state_dir), "TESLA_VIN": VIN, "TESLA_APP_DOMAIN": "offpeak.example"}
    if base_url is not None:
        env["TESLA_API_BASE_URL"] = base_url
    env.update(extra)
    return env


def signed_vehicle(
    sim: TeslaSim,
    running: RunningSim,
    tokens: TokenProvider,
    clock: Clock,
    state_dir: Path,
    *,
    store: DocumentStore | None = None,
    with_key: bool = True,
    register_key: bool = True,
    **env: Any,
) -> tuple[TeslaVehicle, DocumentStore]:
    """build_vehicle_api as the worker wires it; the key is made and registered unless told otherwise."""
    settings = load_settings(vehicle_env(state_dir, env.pop("base_url", running.url), **env))
    if with_key:
        generate_local_key(local_key_path(settings))
        if register_key:
            sim.register_app_key(public_key_pem(local_key_path(settings).read_bytes()))
    store = store or InMemoryDocumentStore()
    key = CommandKeyCache(lambda: load_command_key(settings, InMemorySecretStore()), clock)
    return build_vehicle_api(settings, tokens, store, clock, key), store
