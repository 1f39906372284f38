"""A worker app on fakes (in-memory stores, fake token endpoint and car) for API-level tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask

from shared.clock import ManualClock
from shared.settings import Settings, load_settings
from tests.fakes.scheduler import InMemoryJobScheduler
from tests.fakes.stores import InMemoryDocumentStore, InMemorySecretStore
from tests.fakes.token_endpoint import FakeTokenEndpoint
from tests.fakes.vehicle import FakeCar, FakeVehicleApi
from worker_service.app import create_app
from worker_service.auth import Authenticator
from worker_service.container import Services, build_services

VIN = "5YJ3E7EB2NF000001"
API_TOKEN = "test-worker-api-token-0123456789"


@dataclass
class FakeWorld:
    app: Flask
    services: Services
    clock: ManualClock
    store: InMemoryDocumentStore
    secrets: InMemorySecretStore
    scheduler: InMemoryJobScheduler
    tesla_tokens: FakeTokenEndpoint
    car: FakeVehicleApi
    settings: Settings

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {API_TOKEN}"}


def fake_world(
    tmp_path: Path, *, now: datetime | None = None, authenticator: Authenticator | None = None, **env: str
) -> FakeWorld:
    """The worker app wired to fakes; extra keyword arguments are environment variables."""
    settings = load_settings(
        {
            "BACKEND": "local",
            "STATE_DIR": str(tmp_path),
            "TESLA_VIN": VIN,
            "HOME_LATITUDE": "52.2297",
            "HOME_LONGITUDE": "21.0122",
            "TESLA_CLIENT_ID": "client",
            "TESLA_REFRESH_TOKEN": "EU_refresh_0",
            "WORKER_API_TOKEN": API_TOKEN,
            **env,
        },
        component="worker",
    )
    clock = ManualClock(now or datetime(2026, 11, 23, 21, 0, tzinfo=UTC))
    store, secrets, scheduler = InMemoryDocumentStore(), InMemorySecretStore(), InMemoryJobScheduler()
    endpoint = FakeTokenEndpoint()
    car = FakeVehicleApi(FakeCar(VIN, state="online", battery_level=40))
    services = build_services(
        settings,
        clock=clock,
        store=store,
        secrets=secrets,
        scheduler=scheduler,
        refresher=endpoint,
        vehicle_factory=lambda: car,
    )
    app = create_app(settings, services, authenticator)
    return FakeWorld(app, services, clock, store, secrets, scheduler, endpoint, car, settings)


def routes(app: Flask) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, concrete path, body) for every route the app serves, ids filled with valid values."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule.replace("<need_id>", "need_1").replace("<session_id>", "special_1_20261124_0700")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, path, {"session_id": "special_1_20261124_0700"}))
    return found
