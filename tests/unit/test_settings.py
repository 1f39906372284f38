"""Settings: defaults from the contract, one clear line per bad variable, secrets never printed."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.settings import load_settings

VIN = "5YJ3E7EB2NF000001"
SECRET = "super-secret-refresh-token-value"


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"STATE_DIR": str(tmp_path), "TESLA_VIN": VIN, "HOME_LATITUDE": "52.23", "HOME_LONGITUDE": "21.01"}
    env.update(extra)
    return env


def test_contract_defaults_on_the_local_backend(tmp_path: Path) -> None:
    s = load_settings(base_env(tmp_path))
    assert s.backend == "local"
    assert s.google_cloud_location == "europe-west1"
    assert s.tokens_secret_name == "fleet-tokens"
    assert s.home_radius_degrees == 0.001 and s.home_radius_meters is None
    assert str(s.timezone) == "Europe/Warsaw"
    assert s.worker_auth_mode == "shared-secret"
    assert s.offpeak_tariff == "G12w" and s.offpeak_operator == "tauron" and s.offpeak_source == "tariff"
    assert (s.battery_capacity_kwh, s.charger_power_kw, s.charging_efficiency) == (75.0, 11.0, 0.9)
    assert (s.send_lead_minutes, s.cleanup_delay_minutes, s.departure_margin_minutes) == (120, 30, 60)
    assert s.planning_horizon_hours == 36 and s.ready_by == time(7, 0) and s.max_windows == 1
    assert s.ready_by_days.daily and s.ready_by_days.describe() == "daily"
    assert s.tesla_auth_url == "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/token"
    assert s.tesla_api_base_url == "https://fleet-api.prd.eu.vn.cloud.tesla.com"
    assert s.worker_service_url == "http://127.0.0.1:8080"


def test_backend_defaults_to_gcp_on_cloud_run(tmp_path: Path) -> None:
    env = base_env(
        tmp_path,
        K_SERVICE="worker",
        GOOGLE_CLOUD_PROJECT="p",
        TESLA_CLIENT_ID="c",
        WORKER_SERVICE_URL="https://w.run.app",
        WORKER_ALLOWED_INVOKERS="a@p.iam.gserviceaccount.com",
    )
    s = load_settings(env)
    assert s.backend == "gcp" and s.worker_auth_mode == "google-oidc"
    assert s.worker_allowed_invokers == ("a@p.iam.gserviceaccount.com",)


def test_local_shared_secret_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    first = load_settings(base_env(tmp_path))
    second = load_settings(base_env(tmp_path))
    assert first.worker_api_token and first.worker_api_token == second.worker_api_token
    assert (tmp_path / "worker-api-token").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TESLA_VIN", "not-a-vin", "TESLA_VIN"),
        ("HOME_LATITUDE", "north", "HOME_LATITUDE"),
        ("HOME_LATITUDE", "91", "HOME_LATITUDE"),
        ("HOME_RADIUS_METERS", "nan", "HOME_RADIUS_METERS"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE"),
        ("READY_BY", "7am", "READY_BY"),
        ("READY_BY_DAYS", "weekends", "READY_BY_DAYS must be one of 'daily', 'workdays'"),
        ("READY_BY_DAYS", "fri-mon", "READY_BY_DAYS"),
        ("MAX_WINDOWS", "1.5", "MAX_WINDOWS"),
        ("CHARGING_EFFICIENCY", "2", "CHARGING_EFFICIENCY"),
        ("OFFPEAK_TARIFF", "G99", "OFFPEAK_TARIFF"),
        ("OFFPEAK_OPERATOR", "acme", "OFFPEAK_OPERATOR"),
        ("OFFPEAK_API_URL", "ftp://x", "OFFPEAK_API_URL"),
        ("BACKEND", "aws", "BACKEND"),
        ("TESLA_SMART_PROXY_MODE", "maybe", "TESLA_SMART_PROXY_MODE"),
        ("WORKER_API_TOKEN", "short", "WORKER_API_TOKEN"),
    ],
)
def test_a_malformed_variable_fails_with_one_line_naming_it(
    tmp_path: Path, name: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(base_env(tmp_path, **{name: value}))
    message = str(raised.value)
    assert expected in message and "\n" not in message
    if len(value) > 3:
        assert value not in message


def test_missing_variables_on_gcp_are_named(tmp_path: Path) -> None:
    env = {"BACKEND": "gcp", "WORKER_AUTH_MODE": "shared-secret", "WORKER_API_TOKEN": "x" * 32}
    with pytest.raises(ConfigError, match="GOOGLE_CLOUD_PROJECT"):
        load_settings(env)
    env["GOOGLE_CLOUD_PROJECT"] = "p"
    with pytest.raises(ConfigError, match="TESLA_VIN"):
        load_settings(env)


def test_oidc_mode_needs_allowed_invokers(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="WORKER_ALLOWED_INVOKERS"):
        load_settings(base_env(tmp_path, WORKER_AUTH_MODE="google-oidc"))


def test_cloud_run_is_detected_and_invokers_are_pinned_by_unique_id(tmp_path: Path) -> None:
    a, b = "a@p.iam.gserviceaccount.com", "b@p.iam.gserviceaccount.com"
    env = base_env(tmp_path, WORKER_AUTH_MODE="google-oidc", WORKER_ALLOWED_INVOKERS=f"{a},{b}")
    plain = load_settings(env)
    assert plain.on_cloud_run is False and plain.worker_allowed_invoker_ids == {}
    pinned = load_settings(
        {
            **env,
            "K_SERVICE": "w",
            "BACKEND": "local",
            "WORKER_ALLOWED_INVOKER_IDS": f" A@P.iam.gserviceaccount.com = 1084 ,{b}=99",
        }
    )
    assert pinned.on_cloud_run is True
    assert pinned.worker_allowed_invoker_ids == {a: "1084", b: "99"}
    assert (
        load_settings({**env, "WORKER_ALLOWED_INVOKER_IDS": ""}).worker_allowed_invoker_ids == {}
    )  # deploy left it empty


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a@p.iam.gserviceaccount.com", "email=uniqueId"),
        ("a@p.iam.gserviceaccount.com=abc", "email=uniqueId"),
        ("=1084", "email=uniqueId"),
        ("c@p.iam.gserviceaccount.com=1084", "not in WORKER_ALLOWED_INVOKERS"),
        ("a@p.iam.gserviceaccount.com=1,a@p.iam.gserviceaccount.com=2", "two ids"),
    ],
)
def test_malformed_invoker_ids_are_refused(tmp_path: Path, value: str, expected: str) -> None:
    env = base_env(
        tmp_path,
        WORKER_AUTH_MODE="google-oidc",
        WORKER_ALLOWED_INVOKERS="a@p.iam.gserviceaccount.com",
        WORKER_ALLOWED_INVOKER_IDS=value,
    )
    with pytest.raises(ConfigError, match=expected):
        load_settings(env)


def test_auth_mode_none_is_refused_off_the_local_backend(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="WORKER_AUTH_MODE"):
        load_settings(base_env(tmp_path, BACKEND="gcp", WORKER_AUTH_MODE="none", GOOGLE_CLOUD_PROJECT="p"))


def test_secrets_are_not_in_the_repr(tmp_path: Path) -> None:
    s = load_settings(base_env(tmp_path, TESLA_REFRESH_TOKEN=SECRET, TESLA_CLIENT_SECRET=SECRET + "2"))
    assert SECRET not in repr(s)
    assert s.tesla_refresh_token == SECRET


def test_radius_in_metres_and_price_overrides_and_feed_source(tmp_path: Path) -> None:
    s = load_settings(
        base_env(
            tmp_path,
            HOME_RADIUS_METERS="150",
            OFFPEAK_PRICE_OFFPEAK="0.41",
            OFFPEAK_API_URL="http://127.0.0.1:9/prices",
        )
    )
    assert s.home_radius_meters == 150.0
    assert s.tariff_price_overrides == {"offpeak": 0.41}
    assert s.offpeak_source == "feed"


def test_proxy_routing_follows_smart_mode(tmp_path: Path) -> None:
    always = load_settings(base_env(tmp_path, TESLA_PROXY_URL="https://proxy:4443"))
    smart_off = load_settings(base_env(tmp_path, TESLA_PROXY_URL="https://proxy:4443", TESLA_SMART_PROXY_MODE="true"))
    smart_on = load_settings(
        base_env(
            tmp_path, TESLA_PROXY_URL="https://proxy:4443", TESLA_SMART_PROXY_MODE="true", TESLA_PROXY_AVAILABLE="true"
        )
    )
    assert always.proxy_enabled and not smart_off.proxy_enabled and smart_on.proxy_enabled
