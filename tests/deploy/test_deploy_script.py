"""deploy_scout_worker.sh's own logic, with no cloud: settings, the config file, DRY_RUN.

Everything that reaches an API runs with the real gcloud CLI against the local fakes
(test_real_gcloud.py); here `gcloud` is a stub that fails when called.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.deploy.harness import (
    BASE_CONFIG,
    ENTSOE_TOKEN,
    OPTIONAL_SECRET_VALUES,
    SCOUT_SA,
    SECRET_VALUES,
    WEBHOOK_URL,
    DeployHarness,
)


@pytest.mark.parametrize("missing", ["GOOGLE_CLOUD_PROJECT", "TESLA_VIN", "TESLA_CLIENT_SECRET", "HOME_LATITUDE"])
def test_a_missing_setting_fails_fast_naming_it(tmp_path: Path, missing: str) -> None:
    harness = DeployHarness(tmp_path, {k: v for k, v in BASE_CONFIG.items() if k != missing})
    run = harness.run()
    assert run.returncode != 0
    assert f"{missing} is required" in run.stderr
    assert run.calls == []


def test_the_environment_wins_over_the_config_file(tmp_path: Path) -> None:
    harness = DeployHarness(tmp_path)
    run = harness.run(env={"GOOGLE_CLOUD_PROJECT": "another-project-1", "DRY_RUN": "1"})
    assert run.returncode == 0, run.output
    assert "--project=another-project-1" in run.stderr
    assert "GOOGLE_CLOUD_PROJECT=another-project-1 from the environment wins" in run.stderr


def test_the_config_file_is_read_as_data_with_quotes_and_comments(tmp_path: Path) -> None:
    harness = DeployHarness(tmp_path)
    text = harness.config_path.read_text()
    text = text.replace('HOME_LONGITUDE="19.9366"', "HOME_LONGITUDE=19.9366   # Krakow")
    text += "export TIMEZONE='Europe/Berlin'\nTESLA_VINN=typo\nOFFPEAK_TARIFF=$(touch pwned)\n"
    harness.config_path.write_text(text)
    run = harness.run(env={"DRY_RUN": "1"})
    assert run.returncode == 0, run.output
    assert "TESLA_VINN is not a setting the deploy knows" in run.stderr
    assert not (harness.root / "pwned").exists() and not (harness.checkout / "pwned").exists()
    (rendered,) = (harness.root / "tmp").glob("tesla-offpeak-deploy.*/cloud-run-service-worker.rendered.yaml")
    env = _plain_env(yaml.safe_load(rendered.read_text())["spec"]["template"]["spec"]["containers"][0]["env"])
    assert env["HOME_LONGITUDE"] == "19.9366"
    assert env["TIMEZONE"] == "Europe/Berlin"
    assert env["OFFPEAK_TARIFF"] == "$(touch pwned)"  # a value, never run
    assert "--time-zone=Europe/Berlin" in run.stderr


def test_a_config_readable_by_others_is_warned_about(tmp_path: Path) -> None:
    harness = DeployHarness(tmp_path)
    harness.config_path.chmod(0o644)
    run = harness.run(env={"DRY_RUN": "1"})
    assert run.returncode == 0
    assert "chmod 600" in run.stderr


def test_dry_run_runs_no_gcloud_and_prints_every_step(tmp_path: Path) -> None:
    harness = DeployHarness(tmp_path)
    run = harness.run(env={"DRY_RUN": "1"})
    assert run.returncode == 0, run.output
    assert run.calls == [] and not harness.log_path.exists()
    printed = [line for line in run.stderr.splitlines() if line.startswith("+ gcloud ")]
    for step in (
        "+ gcloud services enable",
        "+ gcloud iam service-accounts create tesla-build",
        "+ gcloud artifacts repositories set-cleanup-policies tesla-offpeak",
        "+ gcloud firestore databases create",
        "+ gcloud iam service-accounts create tesla-worker",
        "+ gcloud secrets versions add tesla-client-secret --data-file=-",
        "+ gcloud builds submit",
        "+ gcloud run services replace",
        "+ gcloud functions deploy tesla-scout",
        "+ gcloud run services add-iam-policy-binding tesla-worker",
        "+ gcloud scheduler jobs create http tesla-scout-every-15-min",
    ):
        assert any(line.startswith(step) for line in printed), step
    secret_lines = [line for line in printed if "versions add" in line]
    assert all("on stdin]" in line for line in secret_lines)
    for secret in SECRET_VALUES:
        assert secret not in run.output


def _plain_env(entries: list[dict[str, object]]) -> dict[str, str]:
    return {str(e["name"]): str(e["value"]) for e in entries if "value" in e}


def _rendered(harness: DeployHarness, name: str = "cloud-run-service-worker.rendered.yaml") -> Path:
    (found,) = (harness.root / "tmp").glob(f"tesla-offpeak-deploy.*/{name}")
    return found


def _env_entries(rendered: Path) -> dict[str, dict[str, object]]:
    entries = yaml.safe_load(rendered.read_text())["spec"]["template"]["spec"]["containers"][0]["env"]
    return {str(e["name"]): e for e in entries}


def test_alerts_owners_and_optional_secrets_are_deployed_when_set(tmp_path: Path) -> None:
    harness = DeployHarness(
        tmp_path,
        {
            **BASE_CONFIG,
            "ALERT_EMAIL": "me@example.com",
            "ALERT_WEBHOOK_URL": WEBHOOK_URL,
            "ENTSOE_API_TOKEN": ENTSOE_TOKEN,
            "WORKER_OWNER_EMAILS": "Partner@Example.com",
        },
    )
    run = harness.run(env={"DRY_RUN": "1"})
    assert run.returncode == 0, run.output
    printed = [line for line in run.stderr.splitlines() if line.startswith("+ gcloud ")]
    (enable,) = [line for line in printed if line.startswith("+ gcloud services enable")]
    assert "monitoring.googleapis.com" in enable  # only because ALERT_EMAIL is set
    for step in (
        "+ gcloud beta monitoring channels create --type=email",
        "+ gcloud alpha monitoring policies create --policy-from-file=",
        "+ gcloud secrets versions add tesla-alert-webhook --data-file=-",
        "+ gcloud secrets versions add tesla-entsoe-token --data-file=-",
        "+ gcloud run services add-iam-policy-binding tesla-worker --region=europe-west1 --member=user:partner@example.com",
    ):
        assert any(line.startswith(step) for line in printed), step
    assert "--channel-labels=email_address=me@example.com" in run.stderr
    assert "1 alert condition, $1.50 a month" in run.stdout
    for secret in (*SECRET_VALUES, *OPTIONAL_SECRET_VALUES, "Secret-Topic"):
        assert secret not in run.output
    env = _env_entries(_rendered(harness))
    assert env["ALERT_WEBHOOK_URL"]["valueFrom"] == {"secretKeyRef": {"name": "tesla-alert-webhook", "key": "latest"}}
    assert env["ENTSOE_API_TOKEN"]["valueFrom"] == {"secretKeyRef": {"name": "tesla-entsoe-token", "key": "latest"}}
    assert env["ALERT_EMAIL"]["value"] == "me@example.com"
    assert str(env["WORKER_OWNER_EMAILS"]["value"]).endswith(",partner@example.com")
    assert env["WORKER_SCOUT_INVOKERS"]["value"] == SCOUT_SA
    policy = json.loads(_rendered(harness, "alert-policy.json").read_text())
    assert policy["alertStrategy"]["notificationRateLimit"]["period"] == "3600s"
    assert len(policy["conditions"]) == 1 and "conditionMatchedLog" in policy["conditions"][0]


def test_without_them_nothing_optional_is_deployed(tmp_path: Path) -> None:
    harness = DeployHarness(tmp_path)
    run = harness.run(env={"DRY_RUN": "1"})
    assert run.returncode == 0, run.output
    (enable,) = [line for line in run.stderr.splitlines() if line.startswith("+ gcloud services enable")]
    assert "monitoring" not in enable
    assert "monitoring channels create" not in run.stderr and "policies create" not in run.stderr
    assert "tesla-alert-webhook" not in run.stderr and "tesla-entsoe-token" not in run.stderr
    env = _env_entries(_rendered(harness))
    assert "ALERT_WEBHOOK_URL" not in env and "ENTSOE_API_TOKEN" not in env
    assert env["ALERT_EMAIL"]["value"] == ""


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ALERT_EMAIL", "not an address", "ALERT_EMAIL must be one e-mail address"),
        ("ALERT_WEBHOOK_URL", "ftp://ntfy.sh/Secret-Topic", "ALERT_WEBHOOK_URL must be an http(s) URL"),
        ("WORKER_OWNER_EMAILS", "me@example.com,nobody", "WORKER_OWNER_EMAILS must be comma-separated e-mail"),
        ("WORKER_OWNER_EMAILS", SCOUT_SA, "one of the deploy's own service accounts: it cannot also be an owner"),
        ("TESLA_COMMAND_SIGNING", "sometimes", "TESLA_COMMAND_SIGNING must be auto, always or never"),
    ],
)
def test_settings_the_worker_would_refuse_stop_the_deploy_first(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    harness = DeployHarness(tmp_path, {**BASE_CONFIG, name: value})
    run = harness.run(env={"DRY_RUN": "1"})
    assert run.returncode != 0
    assert message in run.stderr
    assert "Secret-Topic" not in run.output
    assert "+ gcloud services enable" not in run.stderr  # stopped before any step
