"""Typed settings read once from the environment (contract section 4), validated at start.

A bad or missing variable raises ConfigError whose message names the variable and never its
value, so the one-line failure at start can be printed safely.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.domain.ready_by import DAILY, DepartureDays, parse_departure_days
from shared.domain.ready_by import EXAMPLES as READY_BY_DAYS_EXAMPLES
from shared.errors import ConfigError
from shared.prices.entsoe_areas import resolve_area

DEFAULT_AUTH_URL = "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/token"
DEFAULT_API_BASE_URL = "https://fleet-api.prd.eu.vn.cloud.tesla.com"
VIN_PATTERN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
AUTH_MODES = ("google-oidc", "shared-secret", "none")
TARIFFS = ("G11", "G12", "G12w", "G13")
OPERATORS = ("tauron", "pge", "energa", "enea", "stoen")
SOURCES = ("tariff", "feed", "pse-rce", "entsoe")
SIGNING_MODES = ("auto", "always", "never")

# Variables whose values must never be printed; the log filter redacts them too.
SECRET_VARIABLES = (
    "TESLA_CLIENT_SECRET",
    "TESLA_REFRESH_TOKEN",
    "WORKER_API_TOKEN",
    "ENTSOE_API_TOKEN",
    "ALERT_WEBHOOK_URL",
)


@dataclass(frozen=True)
class Settings:
    """Everything both services read from the environment."""

    backend: str
    state_dir: Path
    google_cloud_project: str | None
    google_cloud_location: str
    worker_service_url: str
    tesla_client_id: str | None
    tesla_client_secret: str | None = field(repr=False)
    tesla_refresh_token: str | None = field(repr=False)
    tesla_auth_url: str
    tesla_api_base_url: str
    tesla_proxy_url: str | None
    tesla_smart_proxy_mode: bool
    tesla_proxy_available: bool
    tesla_proxy_ca_cert: str | None
    # False when TESLA_API_BASE_URL was left unset: the worker then asks GET /api/1/users/region.
    tesla_api_base_url_configured: bool
    tesla_command_signing: str
    tesla_command_key_file: Path | None
    tesla_command_key_secret: str
    tesla_app_domain: str | None
    vins: tuple[str, ...]
    tokens_secret_name: str
    home_latitude: float | None
    home_longitude: float | None
    home_radius_degrees: float
    home_radius_meters: float | None
    timezone: ZoneInfo
    worker_auth_mode: str
    worker_api_token: str | None = field(repr=False)
    worker_allowed_invokers: tuple[str, ...]
    offpeak_tariff: str
    offpeak_operator: str
    offpeak_source: str
    offpeak_api_url: str | None
    tariff_price_overrides: Mapping[str, float]
    entsoe_api_token: str | None = field(repr=False)
    entsoe_area: str  # EIC code of the bidding zone (ENTSOE_AREA)
    offpeak_distribution: str | None  # operator:tariff (OFFPEAK_DISTRIBUTION); None = energy price only
    offpeak_seller_margin: float | None  # PLN/kWh net; None = the distribution data's default
    offpeak_eur_pln: float | None  # PLN per EUR, to express EUR energy prices in PLN
    battery_capacity_kwh: float
    charger_power_kw: float
    charging_efficiency: float
    send_lead_minutes: int
    cleanup_delay_minutes: int
    departure_margin_minutes: int
    planning_horizon_hours: int
    ready_by: time
    max_windows: int
    scheduler_service_account: str | None
    secret_manager_endpoint: str | None
    cloud_scheduler_endpoint: str | None
    port: int
    # K_SERVICE is set: Cloud Run's front end checked the caller's ID token before the request arrived.
    on_cloud_run: bool = False
    # The mornings READY_BY holds (READY_BY_DAYS); on the eve of another day the plan spans the next 24 h.
    ready_by_days: DepartureDays = DAILY
    # e-mail (lower case) -> the service account's unique id, the `sub` of its ID tokens.
    worker_allowed_invoker_ids: Mapping[str, str] = field(default_factory=dict)
    # Google accounts (lower case) that may call the owner endpoints with their own identity.
    worker_owner_emails: tuple[str, ...] = ()
    # The allowed invokers that may reach the token endpoints; empty = every allowed invoker (as before roles).
    worker_scout_invokers: tuple[str, ...] = ()
    # Where night-gone-wrong events are POSTed; the URL often embeds a secret (a webhook id, a bot token).
    alert_webhook_url: str | None = field(default=None, repr=False)
    alert_email: str | None = None  # used by the deploy (Cloud Monitoring e-mail channel), shown to the owner

    @property
    def proxy_enabled(self) -> bool:
        """Commands go through the vehicle-command proxy (contract section 4)."""
        if not self.tesla_proxy_url:
            return False
        if self.tesla_smart_proxy_mode:
            return self.tesla_proxy_available
        return True

    def secret_values(self) -> list[str]:
        """The secret values present, for the log redaction filter."""
        values = [self.tesla_client_secret, self.tesla_refresh_token, self.worker_api_token, self.entsoe_api_token]
        values.append(self.alert_webhook_url)
        return [v for v in values if v]


class _Reader:
    """Reads and converts variables, naming the variable (never the value) in every error."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.raw(name)
        return default if value is None else value

    def required(self, name: str, why: str) -> str:
        value = self.raw(name)
        if value is None:
            raise ConfigError(f"{name} is required ({why})")
        return value

    def choice(self, name: str, options: tuple[str, ...], default: str) -> str:
        value = self.text(name, default) or default
        lookup = {o.lower(): o for o in options}
        if value.lower() not in lookup:
            raise ConfigError(f"{name} must be one of {', '.join(options)}")
        return lookup[value.lower()]

    def number(
        self, name: str, default: float | None, *, low: float | None = None, high: float | None = None
    ) -> float | None:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{name} must be a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ConfigError(f"{name} must be a finite number")
        if (low is not None and number < low) or (high is not None and number > high):
            raise ConfigError(f"{name} must be between {low} and {high}")
        return number

    def integer(self, name: str, default: int, *, low: int, high: int) -> int:
        value = self.raw(name)
        if value is None:
            return default
        if not re.fullmatch(r"[+-]?\d+", value):
            raise ConfigError(f"{name} must be a whole number")
        number = int(value)
        if not low <= number <= high:
            raise ConfigError(f"{name} must be between {low} and {high}")
        return number

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false")

    def url(self, name: str, default: str | None) -> str | None:
        value = self.text(name, default)
        if value is None:
            return None
        if not re.match(r"^https?://[^\s/]+", value):
            raise ConfigError(f"{name} must be an http(s) URL")
        return value.rstrip("/")


def load_settings(env: Mapping[str, str] | None = None, *, component: str = "worker") -> Settings:
    """Read and validate the settings; `component` is `worker` or `scout` (they need different variables)."""
    r = _Reader(os.environ if env is None else env)
    on_cloud = r.raw("K_SERVICE") is not None
    backend = r.choice("BACKEND", ("gcp", "local"), "gcp" if on_cloud else "local")
    state_dir = Path(r.text("STATE_DIR", "./.local-state") or "./.local-state")

    vins = tuple(v.strip().upper() for v in (r.text("TESLA_VIN", "") or "").split(",") if v.strip())
    for vin in vins:
        if not VIN_PATTERN.fullmatch(vin):
            raise ConfigError("TESLA_VIN must be 17-character VINs, comma-separated")

    timezone_name = r.text("TIMEZONE", "Europe/Warsaw") or "Europe/Warsaw"
    try:
        timezone = ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("TIMEZONE must be an IANA time zone such as Europe/Warsaw") from None

    ready_by_text = r.text("READY_BY", "07:00") or "07:00"
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", ready_by_text)
    if not match:
        raise ConfigError("READY_BY must be a local time HH:MM")
    ready_by = time(int(match.group(1)), int(match.group(2)))
    try:
        ready_by_days = parse_departure_days(r.text("READY_BY_DAYS", "daily") or "daily")
    except ValueError:
        raise ConfigError(f"READY_BY_DAYS must be one of {READY_BY_DAYS_EXAMPLES}") from None

    default_mode = "google-oidc" if backend == "gcp" else "shared-secret"
    auth_mode = r.choice("WORKER_AUTH_MODE", AUTH_MODES, default_mode)
    if auth_mode == "none" and backend != "local":
        raise ConfigError("WORKER_AUTH_MODE=none is allowed only with BACKEND=local")
    worker_api_token = r.raw("WORKER_API_TOKEN")
    if auth_mode == "shared-secret" and worker_api_token is None:
        if backend == "local":
            worker_api_token = _local_api_token(state_dir)
        else:
            raise ConfigError("WORKER_API_TOKEN is required when WORKER_AUTH_MODE=shared-secret")
    if worker_api_token is not None and len(worker_api_token) < 16:
        raise ConfigError("WORKER_API_TOKEN must be at least 16 characters")
    invokers = tuple(e.strip() for e in (r.text("WORKER_ALLOWED_INVOKERS", "") or "").split(",") if e.strip())
    invoker_ids = _invoker_ids(r.text("WORKER_ALLOWED_INVOKER_IDS", "") or "", invokers)
    owners, scouts = _owners_and_scouts(r, invokers)

    offpeak_api_url = r.url("OFFPEAK_API_URL", None)
    source_default = "feed" if offpeak_api_url else "tariff"
    offpeak_source = r.choice("OFFPEAK_SOURCE", SOURCES, source_default)
    if offpeak_source == "feed" and not offpeak_api_url:
        raise ConfigError("OFFPEAK_API_URL is required when OFFPEAK_SOURCE=feed")
    if offpeak_source == "entsoe" and r.raw("ENTSOE_API_TOKEN") is None:
        raise ConfigError("ENTSOE_API_TOKEN is required when OFFPEAK_SOURCE=entsoe")
    distribution = _distribution(r.text("OFFPEAK_DISTRIBUTION"), offpeak_source)

    overrides: dict[str, float] = {}
    for name in r.env.keys() if hasattr(r.env, "keys") else []:
        if name.startswith("OFFPEAK_PRICE_"):
            price = r.number(name, None, low=-10.0, high=100.0)
            if price is not None:
                overrides[name.removeprefix("OFFPEAK_PRICE_").lower()] = price

    home_lat = r.number("HOME_LATITUDE", None, low=-90, high=90)
    home_lon = r.number("HOME_LONGITUDE", None, low=-180, high=180)
    if (home_lat is None) != (home_lon is None):
        raise ConfigError("HOME_LATITUDE and HOME_LONGITUDE must be set together")

    settings = Settings(
        backend=backend,
        state_dir=state_dir,
        google_cloud_project=r.text("GOOGLE_CLOUD_PROJECT"),
        google_cloud_location=r.text("GOOGLE_CLOUD_LOCATION", "europe-west1") or "europe-west1",
        worker_service_url=r.url("WORKER_SERVICE_URL", "http://127.0.0.1:8080") or "",
        tesla_client_id=r.text("TESLA_CLIENT_ID"),
        tesla_client_secret=r.raw("TESLA_CLIENT_SECRET"),
        tesla_refresh_token=r.raw("TESLA_REFRESH_TOKEN"),
        tesla_auth_url=r.url("TESLA_AUTH_URL", DEFAULT_AUTH_URL) or DEFAULT_AUTH_URL,
        tesla_api_base_url=r.url("TESLA_API_BASE_URL", DEFAULT_API_BASE_URL) or DEFAULT_API_BASE_URL,
        tesla_proxy_url=r.url("TESLA_PROXY_URL", None),
        tesla_smart_proxy_mode=r.flag("TESLA_SMART_PROXY_MODE", False),
        tesla_proxy_available=r.flag("TESLA_PROXY_AVAILABLE", False),
        tesla_proxy_ca_cert=r.text("TESLA_PROXY_CA_CERT"),
        tesla_api_base_url_configured=r.raw("TESLA_API_BASE_URL") is not None,
        tesla_command_signing=r.choice("TESLA_COMMAND_SIGNING", SIGNING_MODES, "auto"),
        tesla_command_key_file=_optional_path(r.text("TESLA_COMMAND_KEY_FILE")),
        tesla_command_key_secret=r.text("TESLA_COMMAND_KEY_SECRET", "tesla-command-key") or "tesla-command-key",
        tesla_app_domain=_domain(r.text("TESLA_APP_DOMAIN")),
        vins=vins,
        tokens_secret_name=r.text("TOKENS_SECRET_NAME", "fleet-tokens") or "fleet-tokens",
        home_latitude=home_lat,
        home_longitude=home_lon,
        home_radius_degrees=r.number("HOME_RADIUS", 0.001, low=0.00001, high=1.0) or 0.001,
        home_radius_meters=r.number("HOME_RADIUS_METERS", None, low=1.0, high=100_000.0),
        timezone=timezone,
        worker_auth_mode=auth_mode,
        worker_api_token=worker_api_token,
        worker_allowed_invokers=invokers,
        offpeak_tariff=r.choice("OFFPEAK_TARIFF", TARIFFS, "G12w"),
        offpeak_operator=r.choice("OFFPEAK_OPERATOR", OPERATORS, "tauron"),
        offpeak_source=offpeak_source,
        offpeak_api_url=offpeak_api_url,
        tariff_price_overrides=overrides,
        entsoe_api_token=r.raw("ENTSOE_API_TOKEN"),
        entsoe_area=resolve_area(r.text("ENTSOE_AREA", "PL") or "PL")[1],
        offpeak_distribution=distribution,
        offpeak_seller_margin=r.number("OFFPEAK_SELLER_MARGIN", None, low=0.0, high=5.0),
        offpeak_eur_pln=r.number("OFFPEAK_EUR_PLN", None, low=0.1, high=100.0),
        battery_capacity_kwh=r.number("BATTERY_CAPACITY_KWH", 75.0, low=1, high=300) or 75.0,
        charger_power_kw=r.number("CHARGER_POWER_KW", 11.0, low=0.5, high=350) or 11.0,
        charging_efficiency=r.number("CHARGING_EFFICIENCY", 0.9, low=0.3, high=1.0) or 0.9,
        send_lead_minutes=r.integer("SEND_LEAD_MINUTES", 120, low=0, high=24 * 60),
        cleanup_delay_minutes=r.integer("CLEANUP_DELAY_MINUTES", 30, low=0, high=24 * 60),
        departure_margin_minutes=r.integer("DEPARTURE_MARGIN_MINUTES", 60, low=0, high=24 * 60),
        planning_horizon_hours=r.integer("PLANNING_HORIZON_HOURS", 36, low=1, high=24 * 14),
        ready_by=ready_by,
        ready_by_days=ready_by_days,
        max_windows=r.integer("MAX_WINDOWS", 1, low=1, high=24),
        scheduler_service_account=r.text("SCHEDULER_SERVICE_ACCOUNT"),
        secret_manager_endpoint=r.url("SECRET_MANAGER_ENDPOINT", None),
        cloud_scheduler_endpoint=r.url("CLOUD_SCHEDULER_ENDPOINT", None),
        port=r.integer("PORT", 8080, low=1, high=65535),
        on_cloud_run=on_cloud,
        worker_allowed_invoker_ids=invoker_ids,
        worker_owner_emails=owners,
        worker_scout_invokers=scouts,
        alert_webhook_url=_webhook_url(r.raw("ALERT_WEBHOOK_URL")),
        alert_email=_email_address(r.raw("ALERT_EMAIL"), "ALERT_EMAIL"),
    )
    _check_required(settings, r, component)
    return settings


def _check_required(s: Settings, r: _Reader, component: str) -> None:
    """On GCP every variable the component needs must be there; locally the simulator defaults fill in."""
    if s.worker_auth_mode == "google-oidc" and component == "worker" and not s.worker_allowed_invokers:
        raise ConfigError("WORKER_ALLOWED_INVOKERS is required when WORKER_AUTH_MODE=google-oidc")
    if s.backend != "gcp":
        return
    r.required("GOOGLE_CLOUD_PROJECT", "the project of the Firestore, Secret Manager and Scheduler resources")
    r.required("TESLA_VIN", "the vehicle to watch")
    r.required("HOME_LATITUDE", "the home geofence")
    if component == "worker":
        r.required("TESLA_CLIENT_ID", "the Fleet API application")
        r.required("WORKER_SERVICE_URL", "the target of the dynamic jobs")
    else:
        r.required("WORKER_SERVICE_URL", "the worker the scout calls")


def _invoker_ids(text: str, invokers: tuple[str, ...]) -> dict[str, str]:
    """WORKER_ALLOWED_INVOKER_IDS: comma-separated `email=uniqueId` pairs, each e-mail an allowed invoker."""
    allowed = {e.lower() for e in invokers}
    ids: dict[str, str] = {}
    for pair in (p.strip() for p in text.split(",") if p.strip()):
        email, _, unique_id = (part.strip() for part in pair.partition("="))
        email = email.lower()
        if "@" not in email or not re.fullmatch(r"[0-9]{1,32}", unique_id):
            raise ConfigError("WORKER_ALLOWED_INVOKER_IDS must be comma-separated email=uniqueId pairs (numeric ids)")
        # A pin for an e-mail that is not allowed would be a typo that silently pins nothing.
        if email not in allowed:
            raise ConfigError("WORKER_ALLOWED_INVOKER_IDS names an e-mail that is not in WORKER_ALLOWED_INVOKERS")
        if ids.get(email, unique_id) != unique_id:
            raise ConfigError("WORKER_ALLOWED_INVOKER_IDS gives one e-mail two ids")
        ids[email] = unique_id
    return ids


def _email_list(r: _Reader, name: str) -> tuple[str, ...]:
    """A comma-separated list of e-mail addresses, lower-cased (Google compares them so)."""
    emails = tuple(e.strip().lower() for e in (r.text(name, "") or "").split(",") if e.strip())
    for email in emails:
        _email_address(email, name)
    return emails


def _email_address(value: str | None, name: str) -> str | None:
    if value is not None and not re.fullmatch(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+", value):
        raise ConfigError(f"{name} must hold e-mail addresses such as owner@gmail.com")
    return value


def _owners_and_scouts(r: _Reader, invokers: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """WORKER_OWNER_EMAILS and WORKER_SCOUT_INVOKERS, checked against WORKER_ALLOWED_INVOKERS."""
    owners = _email_list(r, "WORKER_OWNER_EMAILS")
    scouts = _email_list(r, "WORKER_SCOUT_INVOKERS")
    allowed = {e.lower() for e in invokers}
    # A scout e-mail outside the allowed list would be a typo that leaves the real scout locked out.
    if any(s not in allowed for s in scouts):
        raise ConfigError("WORKER_SCOUT_INVOKERS names an e-mail that is not in WORKER_ALLOWED_INVOKERS")
    # An owner who is also an invoking service account would reach the token endpoints as one.
    if any(o in allowed for o in owners):
        raise ConfigError("WORKER_OWNER_EMAILS names an account that is also in WORKER_ALLOWED_INVOKERS")
    return owners, scouts


def _webhook_url(value: str | None) -> str | None:
    """ALERT_WEBHOOK_URL exactly as given (a trailing slash may matter to the receiver)."""
    if value is not None and not re.fullmatch(r"https?://[^\s/]+\S*", value):
        raise ConfigError("ALERT_WEBHOOK_URL must be an http(s) URL")
    return value


def _distribution(value: str | None, source: str) -> str | None:
    """OFFPEAK_DISTRIBUTION as operator:tariff, only on top of a dynamic energy price (the built-in tariffs include it)."""
    if value is None:
        return None
    operator, _, tariff = value.partition(":")
    if operator.lower() not in OPERATORS or tariff.lower() not in {t.lower() for t in TARIFFS}:
        raise ConfigError(f"OFFPEAK_DISTRIBUTION must be operator:tariff, e.g. tauron:G12w ({', '.join(OPERATORS)})")
    if source == "tariff":
        raise ConfigError("OFFPEAK_DISTRIBUTION needs a dynamic energy price (OFFPEAK_SOURCE feed, pse-rce or entsoe)")
    return f"{operator.lower()}:{tariff}"


def _optional_path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _domain(value: str | None) -> str | None:
    """A bare host name (the pairing link is https://tesla.com/_ak/<domain>), with any scheme or path dropped."""
    if value is None:
        return None
    host = re.sub(r"^https?://", "", value).split("/", 1)[0].strip().lower()
    if not re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", host):
        raise ConfigError("TESLA_APP_DOMAIN must be a domain name such as example.com")
    return host


def _local_api_token(state_dir: Path) -> str:
    """A per-checkout shared secret in STATE_DIR (0600), so local processes agree without setup."""
    path = state_dir / "worker-api-token"
    if path.exists():
        return path.read_text().strip()
    state_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another local process won the race
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    return token
