"""The whole system in one process on a virtual clock: worker, scout, embedded scheduler, Tesla simulator.

The pieces are the real ones — the worker's Flask app, the scout served by functions-framework,
the SQLite and file backends, the embedded scheduler — joined by in-process HTTP (wsgi_transport)
so a simulated month runs in seconds and every byte still crosses the same interfaces.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from werkzeug.test import Client

from shared.adapters.local.embedded_scheduler import EmbeddedScheduler, FireResult
from shared.clock import ManualClock
from shared.ports import DocumentStore, JobScheduler, SecretStore
from shared.scout import runtime as scout_runtime
from shared.scout.smart_token import SmartToken
from shared.scout.tick import ScoutDeps
from shared.scout.worker_client import WorkerClient
from shared.settings import Settings, load_settings
from shared.tesla.command_key import generate_local_key, local_key_path, public_key_pem
from shared.tesla.fleet_client import FleetClient
from shared.tesla.oauth import refresh_tokens
from shared.tesla.scopes import ScopeMemory
from shared.tesla.vehicle_api import build_vehicle_api
from simulator.tesla_sim import SimConfig, TeslaSim
from simulator.tesla_sim import create_app as create_sim_app
from simulator.wsgi_transport import session_for, wsgi_sender
from worker_service.app import create_app
from worker_service.container import Services, build_services, command_key_cache

TESLA_HOST = "tesla.sim"
WORKER_HOST = "worker.local"
API_TOKEN = "local-simulation-shared-secret-0123456789"
CLIENT_ID = "sim-client"
BOOTSTRAP_REFRESH = "EU_sim_bootstrap_refresh"
HOME = (52.2297, 21.0122)
DEFAULT_VIN = "5YJ3E7EB2NF000001"
ROOT = Path(__file__).resolve().parent.parent


def simulation_env(state_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment the simulated household runs with (the contract's variables)."""
    env = {
        "BACKEND": "local",
        "STATE_DIR": str(state_dir),
        "TESLA_VIN": DEFAULT_VIN,
        "HOME_LATITUDE": str(HOME[0]),
        "HOME_LONGITUDE": str(HOME[1]),
        "TESLA_CLIENT_ID": CLIENT_ID,
        "TESLA_REFRESH_TOKEN": BOOTSTRAP_REFRESH,
        "TESLA_API_BASE_URL": f"http://{TESLA_HOST}",
        "TESLA_AUTH_URL": f"http://{TESLA_HOST}/oauth2/v3/token",
        "WORKER_SERVICE_URL": f"http://{WORKER_HOST}",
        "WORKER_AUTH_MODE": "shared-secret",
        "WORKER_API_TOKEN": API_TOKEN,
        "TIMEZONE": "Europe/Warsaw",
    }
    env.update(overrides)
    return env


@dataclass
class System:
    """Handles to every running piece, and the moves a test or the simulation makes."""

    clock: ManualClock
    sim: TeslaSim
    settings: Settings
    services: Services
    scheduler: EmbeddedScheduler
    http: requests.Session
    worker: Client
    scout: Client
    fired: list[FireResult] = field(default_factory=list)
    # The in-process hosts behind `http` (host -> WSGI app); the simulation adds hosts (a price
    # feed, the scout for scheduler jobs) or wraps one (metering) by changing this mapping.
    apps: dict[str, Any] = field(default_factory=dict)

    @property
    def vin(self) -> str:
        return self.settings.vins[0]

    def call_worker(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """An authenticated call to the worker, as the scout or a user's curl would make it."""
        answer = self.worker.open(
            path,
            method=method,
            headers={"Authorization": f"Bearer {API_TOKEN}"},
            data=json.dumps(body) if body is not None else None,
            content_type="application/json" if body is not None else None,
        )
        return answer.status_code, answer.get_json(silent=True) or {}

    def scout_tick(self) -> dict[str, Any]:
        """One Cloud Scheduler → scout call, through functions-framework."""
        answer = self.scout.post("/", headers={"Authorization": f"Bearer {API_TOKEN}"}, json={})
        payload = answer.get_json(silent=True) or {}
        payload["_http_status"] = answer.status_code
        return payload

    def run_scheduler(self) -> list[FireResult]:
        """Fire every job that is due now (the embedded scheduler on the virtual clock)."""
        results = self.scheduler.run_due(self.clock.now())
        self.fired.extend(results)
        return results

    def advance(
        self, delta: timedelta, *, step: timedelta = timedelta(minutes=1), scout_every: int | None = 15
    ) -> None:
        """Move time forward minute by minute, firing due jobs and the 15-minute scout tick."""
        end = self.clock.now() + delta
        while self.clock.now() < end:
            self.clock.advance(min(step, end - self.clock.now()))
            now = self.clock.now()
            if scout_every and now.minute % scout_every == 0 and now.second == 0:
                self.scout_tick()
            self.run_scheduler()


def build_worker(
    settings: Settings,
    clock: ManualClock,
    http: requests.Session,
    *,
    store: DocumentStore | None,
    secrets: SecretStore | None,
    scheduler: JobScheduler,
) -> tuple[Services, Flask]:
    """A fresh worker process: its services (nothing cached yet) and its Flask app, over the given backends."""

    def refresher(refresh_token: str) -> Any:
        return refresh_tokens(settings.tesla_auth_url, CLIENT_ID, refresh_token, session=http, clock=clock)

    services = build_services(
        settings, clock=clock, store=store, secrets=secrets, scheduler=scheduler, refresher=refresher
    )
    command_key = command_key_cache(settings, services.secrets, clock)
    # A fixed jitter sequence per client: a simulated month repeats exactly for a seed.
    services.vehicle_factory = lambda: build_vehicle_api(
        settings, services.tokens, services.store, clock, command_key, session=http, rng=random.Random(0)
    )
    return services, create_app(settings, services)


def build_system(
    state_dir: Path,
    start: datetime,
    *,
    env: Mapping[str, str] | None = None,
    vehicle: Mapping[str, Any] | None = None,
    store: DocumentStore | None = None,
    secrets: SecretStore | None = None,
    sim_config: SimConfig | None = None,
) -> System:
    """Wire the system on a fresh STATE_DIR at virtual time `start`."""
    import functions_framework

    clock = ManualClock(start)
    settings = load_settings(dict(env) if env is not None else simulation_env(state_dir), component="worker")
    sim = TeslaSim(clock, refresh_token=BOOTSTRAP_REFRESH, client_id=CLIENT_ID, config=sim_config)
    # The owner's command key, made as `make demo` makes it, and "hosted" where Tesla looks for it.
    key_path = local_key_path(settings)
    generate_local_key(key_path)
    sim.register_app_key(public_key_pem(key_path.read_bytes()))
    car = {"latitude": HOME[0], "longitude": HOME[1], "battery_level": 50, "charge_limit": 80, "plugged_in": True}
    car.update(vehicle or {})
    for vin in settings.vins:
        sim.add_vehicle(vin, **car)

    apps: dict[str, Any] = {TESLA_HOST: create_sim_app(sim)}
    http = session_for(apps)  # the worker app joins `apps` below, once it exists
    scheduler = EmbeddedScheduler(
        settings.state_dir / "scheduler.sqlite3", clock, auth_token=API_TOKEN, sender=wsgi_sender(http)
    )

    services, worker_app = build_worker(settings, clock, http, store=store, secrets=secrets, scheduler=scheduler)
    apps[WORKER_HOST] = worker_app

    worker_client = WorkerClient(
        settings.worker_service_url, auth_mode="shared-secret", clock=clock, api_token=API_TOKEN, session=http
    )
    token = SmartToken(
        secrets=services.secrets,
        secret_name=settings.tokens_secret_name,
        worker=worker_client,
        clock=clock,
        cache_path=settings.state_dir / "scout-tmp" / "token-cache.json",
    )
    scout_vehicle = FleetClient(
        settings.tesla_api_base_url,
        token,
        clock=clock,
        session=http,
        scopes=ScopeMemory(services.store, clock),
        rng=random.Random(1),
    )
    scout_runtime.use_deps(ScoutDeps(settings, clock, services.store, scout_vehicle, worker_client))
    scout_app = functions_framework.create_app(
        target="tesla_scout_main", source=str(ROOT / "scout_function" / "main.py")
    )
    return System(clock, sim, settings, services, scheduler, http, Client(worker_app), Client(scout_app), apps=apps)
