"""create_app(): the worker's Flask app — wiring, authentication, JSON errors, blueprints."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from shared.errors import AppError, ConfigError
from shared.log import configure_logging, get_logger, register_secrets, reset_trace, set_trace
from shared.settings import Settings, load_settings
from worker_service.auth import Authenticator, build_authenticator
from worker_service.container import Services, build_services
from worker_service.roles import authorize
from worker_service.routes.status import (
    browser_login_page,
    login_link_caller,
    needs_browser_login,
    owner_browser_caller,
)

log = get_logger("WORKER")

MAX_BODY_BYTES = 64 * 1024
PUBLIC_ENDPOINTS = {"health.health"}
HTTP_ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_response(status: int, code: str, message: str, **extra: Any) -> Any:
    """The contract's error body with its status."""
    response = jsonify({"status": "error", "error": code, "message": message, **extra})
    response.status_code = status
    return response


def create_app(
    settings: Settings | None = None,
    services: Services | None = None,
    authenticator: Authenticator | None = None,
) -> Flask:
    """Build the worker app; tests pass their own settings, services and authenticator."""
    configure_logging()
    settings = settings or (services.settings if services else load_settings(component="worker"))
    register_secrets(settings.secret_values())
    services = services or build_services(settings)
    authenticator = authenticator or build_authenticator(settings, services.clock)

    app = Flask("worker_service")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["offpeak"] = services
    app.extensions["offpeak_auth"] = authenticator

    _register_blueprints(app)
    _register_hooks(app, settings, authenticator)
    _register_error_handlers(app)
    if settings.worker_auth_mode == "none":
        log.warning("WORKER_AUTH_MODE=none: every caller is accepted (local development only)")
    if settings.worker_auth_mode == "google-oidc" and not settings.worker_scout_invokers:
        log.warning(
            "WORKER_SCOUT_INVOKERS is unset: every account in WORKER_ALLOWED_INVOKERS may call every endpoint, "
            "/get-token included; set it to the scout's service account"
        )
    return app


def _register_blueprints(app: Flask) -> None:
    from worker_service.routes import ALL_BLUEPRINTS

    for blueprint in ALL_BLUEPRINTS:
        app.register_blueprint(blueprint)


def _register_hooks(app: Flask, settings: Settings, authenticator: Authenticator) -> None:
    @app.before_request
    def bind_trace_and_authenticate() -> Any:
        g.trace_token = set_trace(request.headers.get("X-Cloud-Trace-Context"), settings.google_cloud_project)
        if request.endpoint in PUBLIC_ENDPOINTS:
            return None
        browser = login_link_caller(settings) or owner_browser_caller(settings)
        if browser is not None:
            g.caller, g.owner_session = browser
        elif needs_browser_login(settings):
            return browser_login_page(settings)
        else:
            # Unknown paths (endpoint None) also answer 401 to strangers: only /health talks to them.
            # Behind Cloud Run IAM the verified identity may be in X-Serverless-Authorization (auth.py).
            g.caller = authenticator.authenticate(
                request.headers.get("Authorization"), request.headers.get("X-Serverless-Authorization")
            )
        if request.url_rule is not None:
            # Authenticated is not enough: the owner must not read tokens, the scout must not plan.
            authorize(g.caller, request.url_rule.rule, app.view_functions.get(request.endpoint or ""))
        return None

    @app.after_request
    def count_request(response: Any) -> Any:
        # This month's usage for the owner's status page. Only requests that change state are counted
        # (they write the store anyway): reads, /health probes and the side-effect-free plan preview
        # must stay free of writes.
        changed_state = request.method in ("POST", "DELETE") and response.status_code < 400
        if changed_state and request.endpoint not in (None, "plan.plan_preview"):
            from worker_service.services import usage

            services = app.extensions["offpeak"]
            usage.count(services.store, services.clock, "worker_requests")
        return response

    @app.teardown_request
    def unbind_trace(_error: BaseException | None) -> None:
        token = g.pop("trace_token", None)
        if token is not None:
            reset_trace(token)


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def app_error(error: AppError) -> Any:
        if isinstance(error, ConfigError):
            log.error(f"configuration problem: {error.message}")
            return error_response(500, error.code, error.message)
        if error.status >= 500:
            log.warning(f"{error.code}: {error.message}")
        extra: dict[str, Any] = {}
        retry_after = getattr(error, "retry_after", None)
        response = error_response(error.status, error.code, error.message, **extra)
        if retry_after is not None:
            response.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        status = error.code or 500
        code = HTTP_ERROR_CODES.get(status, "http_error")
        return error_response(status, code, error.description or code.replace("_", " "))

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        log.exception("unexpected error while serving %s %s", request.method, request.path)
        return error_response(500, "internal_error", "The worker failed unexpectedly; the error is logged")
