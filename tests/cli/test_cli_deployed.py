"""The deployed mode: URL from `gcloud run services describe`, ID token from gcloud, and each failure as one line.

A fake `gcloud` (tests/cli/fake_gcloud.py) stands in for Google's; the "deployed" worker is a real
local one in shared-secret mode whose secret the fake hands out as the identity token, so the whole
path — flags, project lookup, URL, token, HTTP — runs without the internet.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from offpeak_cli.target import Place, deployed_target
from tests.cli.conftest import TOKEN, LocalWorker, cli, cli_env, one_line_error

REGION = "europe-west1"


def deployed(fake_gcloud: Path, tmp_path: Path, worker_url: str = "", **extra: str) -> dict[str, str]:
    """No local token (STATE_DIR empty), the fake gcloud first on PATH, knowing project p1's worker."""
    empty = tmp_path / "no-local-state"
    empty.mkdir(exist_ok=True)
    settings = {
        "STATE_DIR": str(empty),
        "PATH": f"{fake_gcloud}{os.pathsep}{os.environ.get('PATH', '')}",
        "FAKE_GCLOUD_SERVICES": f"p1/{REGION}/tesla-worker={worker_url or 'https://tesla-worker-1.a.run.app'}",
        "FAKE_GCLOUD_TOKEN": TOKEN,
        "FAKE_GCLOUD_LOG": str(tmp_path / "gcloud-calls.jsonl"),
    }
    return cli_env(**{**settings, **extra})


def gcloud_calls(tmp_path: Path) -> list[list[str]]:
    log = tmp_path / "gcloud-calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_the_deployed_worker_is_found_with_gcloud_and_called_with_the_owners_id_token(
    worker: LocalWorker, fake_gcloud: Path, tmp_path: Path
) -> None:
    env = deployed(fake_gcloud, tmp_path, worker.url)
    result = cli("--project", "p1", "--region", REGION, "need", "list", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert "needs" in json.loads(result.stdout)
    describe, token = gcloud_calls(tmp_path)
    assert describe == [
        "run",
        "services",
        "describe",
        "tesla-worker",
        f"--region={REGION}",
        "--project=p1",
        "--format=value(status.url)",
    ]
    assert token == ["auth", "print-identity-token"]


def test_without_a_local_token_or_flags_the_project_comes_from_gclouds_configuration(
    worker: LocalWorker, fake_gcloud: Path, tmp_path: Path
) -> None:
    env = deployed(fake_gcloud, tmp_path, worker.url, FAKE_GCLOUD_PROJECT="p1")
    result = cli("need", "list", env=env)
    assert result.returncode == 0, result.stderr
    assert gcloud_calls(tmp_path)[0] == ["config", "get-value", "project"]


def test_the_project_and_region_may_come_from_deploy_config_env(
    worker: LocalWorker, fake_gcloud: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config.env"
    config.write_text(f"# mine\nGOOGLE_CLOUD_PROJECT=p1\nGOOGLE_CLOUD_LOCATION='{REGION}'\nTIMEZONE=Europe/Warsaw\n")
    env = deployed(fake_gcloud, tmp_path, worker.url, OFFPEAK_DEPLOY_CONFIG=str(config))
    assert cli("--deployed", "need", "list", env=env).returncode == 0
    assert "--project=p1" in gcloud_calls(tmp_path)[0]


def test_not_logged_in_is_one_line_saying_gcloud_auth_login(fake_gcloud: Path, tmp_path: Path) -> None:
    env = deployed(fake_gcloud, tmp_path, FAKE_GCLOUD_LOGGED_OUT="1")
    line = one_line_error(cli("--project", "p1", "status", env=env), 1)
    assert line == "tesla-offpeak: not logged in: run gcloud auth login"


def test_a_project_without_the_worker_is_named_with_how_to_pick_another(fake_gcloud: Path, tmp_path: Path) -> None:
    line = one_line_error(cli("--project", "p2", "need", "list", env=deployed(fake_gcloud, tmp_path)), 1)
    assert line == (
        f"tesla-offpeak: no worker tesla-worker in project p2, region {REGION} (or no access to it): "
        "pick the right one with --project/--region or `gcloud config set project ID`"
    )


def test_a_project_the_account_may_not_read_is_named_the_same_way(fake_gcloud: Path, tmp_path: Path) -> None:
    env = deployed(fake_gcloud, tmp_path, FAKE_GCLOUD_DENIED="someone-elses")
    line = one_line_error(cli("--project", "someone-elses", "--region", "us-central1", "plan", env=env), 1)
    assert line.startswith("tesla-offpeak: no worker tesla-worker in project someone-elses, region us-central1 (or no")


def test_no_project_anywhere_is_a_usage_error(fake_gcloud: Path, tmp_path: Path) -> None:
    line = one_line_error(cli("need", "list", env=deployed(fake_gcloud, tmp_path)), 2)
    assert line.startswith("tesla-offpeak: no Google Cloud project: pass --project ID or run `gcloud config set")


def test_a_missing_gcloud_is_one_line_with_where_to_get_it(tmp_path: Path) -> None:
    env = cli_env(STATE_DIR=str(tmp_path), PATH=str(tmp_path / "empty-bin"))
    line = one_line_error(cli("--project", "p1", "status", env=env), 1)
    assert line.startswith("tesla-offpeak: gcloud not found: install the Google Cloud CLI")


def test_a_403_from_the_deployed_worker_says_who_must_grant_what(
    worker: LocalWorker, fake_gcloud: Path, tmp_path: Path
) -> None:
    env = deployed(fake_gcloud, tmp_path, worker.url, FAKE_GCLOUD_TOKEN="someone-elses-identity-token")
    line = one_line_error(cli("--project", "p1", "need", "list", env=env), 1)
    assert line == (
        "tesla-offpeak: your account may not call the worker: ask the owner to add you to WORKER_OWNER_EMAILS "
        "and grant roles/run.invoker on the worker (deploy/README.md) (403)"
    )


def test_logs_runs_the_readme_recipe_with_the_chosen_filters(fake_gcloud: Path, tmp_path: Path) -> None:
    env = deployed(fake_gcloud, tmp_path)
    result = cli("--project", "p1", "logs", "--since", "1d", "--component", "special", "--severity", "WARNING", env=env)
    assert result.returncode == 0, result.stderr
    assert "[SPECIAL] need need_1 registered" in result.stdout  # gcloud's own output, passed straight through
    (call,) = gcloud_calls(tmp_path)  # logs needs no worker URL and no token
    assert call[:2] == ["logging", "read"]
    assert call[2] == (
        'resource.type="cloud_run_revision" AND resource.labels.service_name=("tesla-worker" OR "tesla-scout") '
        'AND jsonPayload.component="SPECIAL" AND severity>=WARNING'
    )
    assert call[3:] == [
        "--project=p1",
        "--freshness=1d",
        "--limit=200",
        "--format=table(timestamp, severity, jsonPayload.component, jsonPayload.message)",
    ]


def test_logs_with_a_bad_since_is_a_usage_error(fake_gcloud: Path, tmp_path: Path) -> None:
    line = one_line_error(cli("--project", "p1", "logs", "--since", "2 hours", env=deployed(fake_gcloud, tmp_path)), 2)
    assert line == "tesla-offpeak: --since must look like 30m, 2h or 1d, got '2 hours'"


def test_a_service_account_key_gets_its_id_token_from_google_auth_for_the_workers_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import google.oauth2.id_token

    key = tmp_path / "sa.json"
    key.write_text(json.dumps({"type": "service_account", "client_email": "ops@p1.iam.gserviceaccount.com"}))
    audiences: list[Any] = []
    monkeypatch.setattr(google.oauth2.id_token, "fetch_id_token", lambda _req, aud: audiences.append(aud) or "sa-tok")
    place = Place("p1", REGION, "tesla-worker")
    env = {"GOOGLE_APPLICATION_CREDENTIALS": str(key), "PATH": str(tmp_path / "no-gcloud-here")}
    target = deployed_target(place, env, url="https://tesla-worker-1.a.run.app/")
    assert (target.url, target.token, audiences) == ("https://tesla-worker-1.a.run.app", "sa-tok", [target.url + "/"])
    assert "sa-tok" not in repr(target)  # the credential never lands in a traceback or log line


def test_choosing_local_and_deployed_at_once_is_a_usage_error(tmp_path: Path) -> None:
    line = one_line_error(cli("--local", "--project", "p1", "need", "list", env=cli_env(STATE_DIR=str(tmp_path))), 2)
    assert "choose --local or the deployed worker" in line
