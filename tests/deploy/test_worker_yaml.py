"""cloud-run-service-worker.yaml, the Dockerfile and requirements_cloud.txt, read as files."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.deploy.harness import ROOT

# Contract section 4 variables the worker reads, plus the ones the deploy adds for it.
WORKER_VARIABLES = {
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "WORKER_SERVICE_URL",
    "TESLA_CLIENT_ID",
    "TESLA_CLIENT_SECRET",
    "TESLA_AUTH_URL",
    "TESLA_API_BASE_URL",
    "TESLA_PROXY_URL",
    "TESLA_SMART_PROXY_MODE",
    "TESLA_PROXY_AVAILABLE",
    "TESLA_PROXY_CA_CERT",
    "TESLA_VIN",
    "TOKENS_SECRET_NAME",
    "HOME_LATITUDE",
    "HOME_LONGITUDE",
    "HOME_RADIUS",
    "HOME_RADIUS_METERS",
    "TIMEZONE",
    "BACKEND",
    "WORKER_AUTH_MODE",
    "WORKER_ALLOWED_INVOKERS",
    "OFFPEAK_TARIFF",
    "OFFPEAK_OPERATOR",
    "OFFPEAK_SOURCE",
    "OFFPEAK_API_URL",
    "BATTERY_CAPACITY_KWH",
    "CHARGER_POWER_KW",
    "CHARGING_EFFICIENCY",
    "SEND_LEAD_MINUTES",
    "CLEANUP_DELAY_MINUTES",
    "DEPARTURE_MARGIN_MINUTES",
    "PLANNING_HORIZON_HOURS",
    "READY_BY",
    "READY_BY_DAYS",
    "MAX_WINDOWS",
    "SCHEDULER_SERVICE_ACCOUNT",
    "TESLA_COMMAND_KEY_SECRET",
    "TESLA_COMMAND_SIGNING",
    "WORKER_ALLOWED_INVOKER_IDS",
    "WORKER_SCOUT_INVOKERS",
    "WORKER_OWNER_EMAILS",
    "ALERT_EMAIL",
    "ALERT_WEBHOOK_URL",
    "OFFPEAK_DISTRIBUTION",
    "OFFPEAK_SELLER_MARGIN",
    "OFFPEAK_EUR_PLN",
    "ENTSOE_API_TOKEN",
    "ENTSOE_AREA",
}
SECRETS = {"TESLA_CLIENT_SECRET", "TESLA_REFRESH_TOKEN", "WORKER_API_TOKEN", "ENTSOE_API_TOKEN", "ALERT_WEBHOOK_URL"}
# Optional secrets: referred to only when stored, so their entries sit in `#@if FLAG` blocks.
OPTIONAL_SECRETS = {"ALERT_WEBHOOK_URL": "ALERT_WEBHOOK_STORED", "ENTSOE_API_TOKEN": "ENTSOE_TOKEN_STORED"}


@pytest.fixture(scope="module")
def service() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "cloud-run-service-worker.yaml").read_text())


def test_it_is_a_knative_service_with_placeholders(service: dict[str, Any]) -> None:
    assert service["apiVersion"] == "serving.knative.dev/v1"
    assert service["kind"] == "Service"
    spec = service["spec"]["template"]["spec"]
    assert spec["containers"][0]["image"] == "${WORKER_IMAGE}"
    assert spec["serviceAccountName"] == "${WORKER_SERVICE_ACCOUNT}"
    assert service["metadata"]["annotations"]["run.googleapis.com/invoker-iam-disabled"] == "false"


def test_it_scales_to_zero_with_one_instance_and_cpu_only_during_requests(service: dict[str, Any]) -> None:
    annotations = service["spec"]["template"]["metadata"]["annotations"]
    assert annotations["autoscaling.knative.dev/maxScale"] == "1"
    assert annotations["autoscaling.knative.dev/minScale"] == "0"
    assert annotations["run.googleapis.com/cpu-throttling"] == "true"
    assert annotations["run.googleapis.com/startup-cpu-boost"] == "true"
    # Cloud Run reads annotation values as strings only.
    assert all(isinstance(v, str) for v in annotations.values())


def test_the_request_timeout_is_the_deploys_own_setting(service: dict[str, Any]) -> None:
    # Rendered from WORKER_TIMEOUT_SECONDS (deploy/lib.sh), which test_real_gcloud checks against the job deadlines.
    assert service["spec"]["template"]["spec"]["timeoutSeconds"] == "${WORKER_TIMEOUT_SECONDS}"
    assert "WORKER_TIMEOUT_SECONDS=300" in (ROOT / "deploy" / "lib.sh").read_text()


def test_env_follows_the_contract_and_secrets_come_by_reference(service: dict[str, Any]) -> None:
    env = service["spec"]["template"]["spec"]["containers"][0]["env"]
    names = [e["name"] for e in env]
    assert len(names) == len(set(names))
    assert set(names) == WORKER_VARIABLES
    by_name = {e["name"]: e for e in env}
    assert by_name["BACKEND"]["value"] == "gcp"
    assert by_name["WORKER_AUTH_MODE"]["value"] == "google-oidc"
    ref = by_name["TESLA_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "${CLIENT_SECRET_NAME}", "key": "latest"}
    for name in SECRETS & set(names):
        assert "value" not in by_name[name], f"{name} must not be a plain value"
    for entry in env:
        if "value" in entry:
            assert isinstance(entry["value"], str), entry["name"]


def test_optional_secrets_come_by_reference_only_when_stored(service: dict[str, Any]) -> None:
    by_name = {e["name"]: e for e in service["spec"]["template"]["spec"]["containers"][0]["env"]}
    text = (ROOT / "cloud-run-service-worker.yaml").read_text()
    for name, flag in OPTIONAL_SECRETS.items():
        assert set(by_name[name]) == {"name", "valueFrom"}
        assert by_name[name]["valueFrom"]["secretKeyRef"]["key"] == "latest"
        block = re.search(rf"#@if {flag}\n(.*?)#@end", text, re.DOTALL)
        assert block is not None and f"- name: {name}\n" in block.group(1), name
    # Nothing else is conditional: every other variable is always there (empty = the default).
    assert len(re.findall(r"^ *#@if ", text, re.MULTILINE)) == len(OPTIONAL_SECRETS)


def test_the_owner_grants_the_deploy_made_are_recorded_on_the_service(service: dict[str, Any]) -> None:
    annotations = service["metadata"]["annotations"]
    assert annotations["tesla-offpeak/owner-grants"] == "${OWNER_GRANTS_VALUE}"


def test_no_placeholder_names_a_secret() -> None:
    text = (ROOT / "cloud-run-service-worker.yaml").read_text()
    placeholders = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", text))
    assert placeholders and not placeholders & SECRETS


def test_the_container_runs_gunicorn_as_google_recommends() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = [line for line in dockerfile.splitlines() if line.startswith("CMD")]
    assert cmd == ["CMD exec gunicorn --bind :$PORT --workers 1 --threads 8 --timeout 0 worker_service.main:app"]
    assert re.search(r"^FROM python:3\.1[2-9]", dockerfile, re.MULTILINE)
    assert "USER " in dockerfile


def test_cloud_requirements_are_all_pinned() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "requirements_cloud.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines
    for line in lines:
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.\-]+", line), line
    names = {line.split("==")[0].lower() for line in lines}
    assert {"gunicorn", "flask", "functions-framework", "google-cloud-firestore"} <= names


def test_docker_context_leaves_out_local_state_and_secrets() -> None:
    dockerignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in dockerignore and "!worker_service/" in dockerignore
    gcloudignore = (ROOT / ".gcloudignore").read_text()
    assert "deploy/config.env" in gcloudignore and ".venv/" in gcloudignore
    assert "config.env" in (ROOT / "deploy" / ".gitignore").read_text().split()
