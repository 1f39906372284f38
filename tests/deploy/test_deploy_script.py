"""deploy_scout_worker.sh's own logic, with no cloud: settings, the config file, DRY_RUN.

Everything that reaches an API runs with the real gcloud CLI against the local fakes
(test_real_gcloud.py); here `gcloud` is a stub that fails when called.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.deploy.harness import BASE_CONFIG, SECRET_VALUES, DeployHarness


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
