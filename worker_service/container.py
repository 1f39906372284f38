"""The worker's wiring: every port and service it uses, built once per process (cosmicpython's bootstrap)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.clock import Clock, SystemClock
from shared.ports import DocumentStore, JobScheduler, PriceSource, SecretStore, VehicleApi
from shared.settings import Settings
from worker_service.services.owner_actions import OwnerActionBoard
from worker_service.services.token_service import Refresher, TokenService


@dataclass
class Services:
    """What routes and services reach for; tests hand in fakes instead of the defaults."""

    settings: Settings
    clock: Clock
    store: DocumentStore
    secrets: SecretStore
    scheduler: JobScheduler
    tokens: TokenService
    vehicle_factory: Callable[[], VehicleApi]
    price_source_factory: Callable[[], PriceSource]
    owner_actions: OwnerActionBoard
    extras: dict[str, Any] = field(default_factory=dict)

    def vehicle(self) -> VehicleApi:
        """The Fleet API client (made per call so its token provider sees fresh records)."""
        return self.vehicle_factory()

    def price_source(self) -> PriceSource:
        """A price source for one planning run (its cache lives for that run)."""
        return self.price_source_factory()


def default_refresher(settings: Settings) -> Refresher:
    """The real Tesla token endpoint call."""
    from shared.tesla.oauth import refresh_tokens

    def refresh(refresh_token: str) -> Any:
        if not settings.tesla_client_id:
            from shared.errors import ConfigError

            raise ConfigError("TESLA_CLIENT_ID is required to refresh Tesla tokens")
        return refresh_tokens(
            settings.tesla_auth_url,
            settings.tesla_client_id,
            refresh_token,
            client_secret=settings.tesla_client_secret,
        )

    return refresh


def command_key_cache(settings: Settings, secrets: SecretStore, clock: Clock) -> Any:
    """The process-wide holder of the command-signing key (read from file or secret on first use)."""
    from shared.tesla.command_key import load_command_key
    from shared.tesla.vehicle_api import CommandKeyCache

    return CommandKeyCache(lambda: load_command_key(settings, secrets), clock)


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    store: DocumentStore | None = None,
    secrets: SecretStore | None = None,
    scheduler: JobScheduler | None = None,
    refresher: Refresher | None = None,
    vehicle_factory: Callable[[], VehicleApi] | None = None,
    price_source_factory: Callable[[], PriceSource] | None = None,
) -> Services:
    """Wire the real adapters for the settings, with any piece replaceable."""
    from shared.adapters import factory

    clock = clock or SystemClock()
    store = store or factory.build_document_store(settings)
    secrets = secrets or factory.build_secret_store(settings)
    scheduler = scheduler or factory.build_job_scheduler(settings, clock)
    tokens = TokenService(
        secrets=secrets,
        store=store,
        clock=clock,
        refresher=refresher or default_refresher(settings),
        secret_name=settings.tokens_secret_name,
        bootstrap_refresh_token=settings.tesla_refresh_token,
    )

    command_key = command_key_cache(settings, secrets, clock)

    def make_vehicle() -> VehicleApi:
        from shared.tesla.counting_session import CountingSession
        from shared.tesla.vehicle_api import build_vehicle_api
        from worker_service.services import usage

        # One session per client: requests.Session is not promised to be thread-safe across gunicorn threads.
        counting = CountingSession(usage.counter(store, clock))
        return build_vehicle_api(settings, tokens, store, clock, command_key, session=counting)

    def make_price_source() -> PriceSource:
        from shared.prices.factory import build_price_source

        return build_price_source(settings, clock)

    services = Services(
        settings=settings,
        clock=clock,
        store=store,
        secrets=secrets,
        scheduler=scheduler,
        tokens=tokens,
        vehicle_factory=vehicle_factory or make_vehicle,
        price_source_factory=price_source_factory or make_price_source,
        owner_actions=OwnerActionBoard(store, clock),
    )
    wire_owner_events(services)
    return services


def wire_owner_events(services: Services) -> None:
    """Let the owner-action board and the token service raise their owner events (services/night_alerts.py)."""
    from worker_service.services import night_alerts

    services.owner_actions.on_new = lambda vin, error, during, session_id: night_alerts.owner_action(
        services, vin, error, during, session_id
    )
    services.tokens.on_rejected = lambda token_id: night_alerts.reauthorisation(services, token_id)
