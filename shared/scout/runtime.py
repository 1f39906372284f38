"""Builds the scout's dependencies once per instance and serves one HTTP tick."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Mapping
from typing import Any

from shared.clock import SystemClock
from shared.errors import ConfigError, UpstreamError
from shared.log import configure_logging, get_logger, register_secrets
from shared.scout.tick import ScoutDeps, run_tick

log = get_logger("SCOUT")
_deps: ScoutDeps | None = None
_deps_lock = threading.Lock()


def build_deps(env: Mapping[str, str]) -> ScoutDeps:
    """Settings, store, Fleet API client with the smart token, and the worker client."""
    from shared.adapters import factory
    from shared.scout.smart_token import SmartToken
    from shared.scout.worker_client import WorkerClient
    from shared.settings import load_settings
    from shared.tesla.fleet_client import FleetClient
    from shared.tesla.scopes import ScopeMemory

    settings = load_settings(env, component="scout")
    register_secrets(settings.secret_values())
    clock = SystemClock()
    worker = WorkerClient(
        settings.worker_service_url,
        auth_mode=settings.worker_auth_mode,
        clock=clock,
        api_token=settings.worker_api_token,
    )
    token = SmartToken(
        secrets=factory.build_secret_store(settings),
        secret_name=settings.tokens_secret_name,
        worker=worker,
        clock=clock,
    )
    store = factory.build_document_store(settings)
    # The scout learns a missing vehicle_location scope like the worker, so it never pays a 403 per tick.
    vehicle = FleetClient(settings.tesla_api_base_url, token, clock=clock, scopes=ScopeMemory(store, clock))
    return ScoutDeps(settings, clock, store, vehicle, worker)


def _get_deps(env: Mapping[str, str]) -> ScoutDeps:
    global _deps
    with _deps_lock:
        if _deps is None:
            _deps = build_deps(env)
        return _deps


def handle_request(request: Any, env: Mapping[str, str]) -> tuple[dict[str, Any], int]:
    """Run one tick; answers the contract's scout JSON (one object, or one per vehicle)."""
    configure_logging()
    try:
        deps = _get_deps(env)
    except ConfigError as error:
        log.error(f"configuration error: {error.message}")
        return {"status": "error", "error": error.code, "message": error.message}, 500
    if not _authorised(deps, request):
        return {"status": "error", "error": "unauthorized", "message": "Authentication required"}, 401
    try:
        results = run_tick(deps)
    except UpstreamError as error:
        # Token or Tesla trouble: finish the tick cleanly; the next tick (15 min) tries again.
        log.warning(f"tick ended early: {error.message}")
        return {"status": "error", "error": error.code, "message": error.message, "worker_triggered": False}, 200
    if len(results) == 1:
        return results[0], 200
    return {"status": "success", "vehicles": results}, 200


def _authorised(deps: ScoutDeps, request: Any) -> bool:
    """On GCP, Cloud Functions IAM has already checked the caller; locally the shared secret is required."""
    settings = deps.settings
    if settings.backend == "gcp" or settings.worker_auth_mode != "shared-secret":
        return True
    header = (getattr(request, "headers", {}) or {}).get("Authorization", "")
    expected = f"Bearer {settings.worker_api_token}"
    return hmac.compare_digest(header.encode(), expected.encode())


def use_deps(deps: ScoutDeps | None) -> None:
    """Serve ticks with these dependencies (the simulation's virtual clock); None rebuilds from the environment."""
    global _deps
    with _deps_lock:
        _deps = deps
