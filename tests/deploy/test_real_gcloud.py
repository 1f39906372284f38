"""The deploy scripts run by the real gcloud CLI, offline, against gcp_fake and drongo: the life of a deploy.

The project's life (first deploy on an empty project, a second that changes nothing, a config
change, smoke checks, teardown twice) is lifecycle.py's, shared by the test_real_gcloud_* modules.
What each step did is read back from the fake's stored resources and from the API requests gcloud
made, not from gcloud's argv alone.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.deploy.harness import OPTIONAL_SECRET_VALUES, PROJECT, SECRET_VALUES
from tests.deploy.lifecycle import (
    BUILD_SA,
    NEW_WEBHOOK_URL,
    REGION,
    REPOS,
    ROTATED_SECRET,
    SERVICES,
    STATIC_JOBS,
    WORKER_SA,
    Life,
    creates,
    worker_env,
)
from tests.deploy.real_gcloud import RealGcloudProject

# The session's lifecycle runs inside whichever test asks for it first: several minutes.
pytestmark = pytest.mark.timeout(900)
SCOUT_SA = f"tesla-scout@{PROJECT}.iam.gserviceaccount.com"
SCHEDULER_SA = f"tesla-scheduler@{PROJECT}.iam.gserviceaccount.com"


def test_the_fake_served_every_request(life: Life) -> None:
    assert life.project.state().get("unserved", []) == []


# --- first deploy on an empty project ------------------------------------------------------------


def test_the_first_deploy_builds_everything_on_an_empty_project(life: Life) -> None:
    state = life.states["first"]
    assert {"run.googleapis.com", "cloudfunctions.googleapis.com", "iamcredentials.googleapis.com"} <= set(
        state["enabled"]
    )
    assert list(state["databases"]) == [f"projects/{PROJECT}/databases/(default)"]
    assert state["databases"][f"projects/{PROJECT}/databases/(default)"]["type"] == "FIRESTORE_NATIVE"
    emails = {a["email"] for a in state["service_accounts"].values()}
    assert emails == {WORKER_SA, SCOUT_SA, SCHEDULER_SA, BUILD_SA}
    assert f"{SERVICES}/tesla-worker" in state["run_services"]
    assert state["functions"][f"projects/{PROJECT}/locations/{REGION}/functions/tesla-scout"]["state"] == "ACTIVE"
    assert set(state["jobs"]) == set(STATIC_JOBS)


def test_a_second_deploy_creates_nothing_and_rebuilds_nothing(life: Life) -> None:
    second = life.runs["second"]
    assert creates(second) == []
    assert not [r for r in second.requests if r["api"] == "cloudbuild"]
    assert not [r for r in second.requests if r["api"] == "cloudfunctions" and r["method"] in ("PATCH", "POST")]
    worker = life.states["second"]["run_services"][f"{SERVICES}/tesla-worker"]
    assert worker["revisions"] == life.states["first"]["run_services"][f"{SERVICES}/tesla-worker"]["revisions"]


def test_a_config_change_updates_in_place(life: Life) -> None:
    changed = life.runs["changed"]
    assert creates(changed) == []
    jobs = life.states["changed"]["jobs"]
    assert jobs["tesla-run-cycle-failsafe"]["timeZone"] == "Europe/Berlin"
    worker = life.states["changed"]["run_services"][f"{SERVICES}/tesla-worker"]
    assert worker_env(life.states["changed"])["TIMEZONE"]["value"] == "Europe/Berlin"
    assert worker["revisions"] == life.states["second"]["run_services"][f"{SERVICES}/tesla-worker"]["revisions"] + 1


# --- builds, images, timeouts ----------------------------------------------------------------------


def test_builds_run_as_the_build_account_with_only_its_roles(life: Life) -> None:
    state = life.states["first"]
    builds = list(state["builds"].values())
    assert [b["status"] for b in builds] == ["SUCCESS"]
    assert builds[0]["serviceAccount"] == f"projects/{PROJECT}/serviceAccounts/{BUILD_SA}"
    function = state["functions"][f"projects/{PROJECT}/locations/{REGION}/functions/tesla-scout"]
    assert function["buildConfig"]["serviceAccount"] == f"projects/{PROJECT}/serviceAccounts/{BUILD_SA}"
    member = f"serviceAccount:{BUILD_SA}"
    project_roles = [
        (b["role"], b.get("condition", {}).get("title"))
        for b in state["policies"][f"projects/{PROJECT}"]["bindings"]
        if member in b["members"]
    ]
    assert sorted(project_roles, key=str) == sorted(
        [("roles/logging.logWriter", None), ("roles/storage.objectViewer", "tesla-offpeak build sources")], key=str
    )
    for repository in ("tesla-offpeak", "gcf-artifacts"):
        bindings = state["policies"][f"{REPOS}/{repository}"]["bindings"]
        assert bindings == [{"role": "roles/artifactregistry.writer", "members": [member]}]


def test_both_repositories_keep_two_images_and_delete_the_rest(life: Life) -> None:
    for step in ("first", "second"):
        repositories = life.states[step]["repositories"]
        for name in ("tesla-offpeak", "gcf-artifacts"):
            policies = repositories[f"{REPOS}/{name}"]["cleanupPolicies"]
            assert repositories[f"{REPOS}/{name}"]["cleanupPolicyDryRun"] is False
            keep = [p for p in policies.values() if p["action"].upper() == "KEEP"]
            delete = [p for p in policies.values() if p["action"].upper() == "DELETE"]
            assert [p["mostRecentVersions"]["keepCount"] for p in keep] == [2]
            assert [p["condition"]["olderThan"] for p in delete] == ["259200.0s"]


def _seconds(duration: str) -> float:
    return float(duration.rstrip("s"))


def test_no_job_gives_up_while_its_target_still_works(life: Life) -> None:
    state = life.states["changed"]
    worker = state["run_services"][f"{SERVICES}/tesla-worker"]
    scout = state["run_services"][f"{SERVICES}/tesla-scout"]
    timeouts = {
        worker["status"]["url"]: worker["spec"]["template"]["spec"]["timeoutSeconds"],
        scout["status"]["url"]: scout["spec"]["template"]["spec"]["timeoutSeconds"],
    }
    for name, job in state["jobs"].items():
        base = job["httpTarget"]["oidcToken"]["audience"]
        assert _seconds(job["attemptDeadline"]) > timeouts[base], name
    # The worker's own one-shot jobs use shared/ports.py's deadline: it must cover the worker too.
    from shared.ports import HttpJob

    assert (
        HttpJob("n", "* * * * *", "Etc/UTC", "https://x").attempt_deadline_seconds > timeouts[worker["status"]["url"]]
    )


# --- secrets and the command-signing key ---------------------------------------------------------


def test_secrets_never_reach_argv_output_or_gcloud_environment(life: Life) -> None:
    secrets = (*SECRET_VALUES, *OPTIONAL_SECRET_VALUES, ROTATED_SECRET, NEW_WEBHOOK_URL)
    for name in ("first", "second", "changed", "teardown"):
        run = life.runs[name]
        for call in run.calls:
            text = json.dumps(call["argv"])
            for secret in (*secrets, "BEGIN EC PRIVATE KEY"):
                assert secret not in text
            assert call["secret_env"] == []
        for secret in (*secrets, "MHcCAQEEIMmBvFhT0oBx"):
            assert secret not in run.output
    # The webhook's topic is its secret: not even a part of the URL is shown.
    assert "Secret-Topic" not in life.runs["first"].output


def test_the_command_key_is_stored_once_and_readable_by_the_worker_only(life: Life) -> None:
    state = life.states["changed"]
    policy = state["policies"][f"projects/{PROJECT}/secrets/tesla-command-key"]
    assert policy["bindings"] == [
        {"role": "roles/secretmanager.secretAccessor", "members": [f"serviceAccount:{WORKER_SA}"]}
    ]
    adds = [c for c in life.runs["first"].calls if c["argv"][:4] == ["secrets", "versions", "add", "tesla-command-key"]]
    assert len(adds) == 1 and any(a.startswith("--data-file=/") for a in adds[0]["argv"])
    for step in ("second", "changed"):
        assert not [
            c for c in life.runs[step].calls if c["argv"][:4] == ["secrets", "versions", "add", "tesla-command-key"]
        ]
    assert worker_env(state)["TESLA_COMMAND_KEY_SECRET"]["value"] == "tesla-command-key"
    out = life.runs["first"].stdout
    assert "https://tesla.example.com/.well-known/appspecific/com.tesla.3p.public-key.pem" in out
    assert "https://tesla.com/_ak/tesla.example.com" in out


def test_the_client_secret_gets_a_version_only_when_it_changed(life: Life) -> None:
    def adds(step: str) -> list[list[str]]:
        return [
            c["argv"]
            for c in life.runs[step].calls
            if c["argv"][:4] == ["secrets", "versions", "add", "tesla-client-secret"]
        ]

    assert len(adds("first")) == 1 and adds("second") == [] and len(adds("changed")) == 1


# --- the smoke check ---------------------------------------------------------------------------


def test_the_smoke_check_proves_every_job_is_delivered(life: Life) -> None:
    smoke = life.runs["smoke"]
    assert smoke.returncode == 0, smoke.output[-4000:]
    for job in STATIC_JOBS:
        assert f"PASS  {job} delivered" in smoke.stdout
        assert ["scheduler", "jobs", "run", job] == smoke.calls[
            [c["argv"][:4] for c in smoke.calls].index(["scheduler", "jobs", "run", job])
        ]["argv"][:4]
    assert "PASS  worker refuses anonymous callers (401)" in smoke.stdout
    assert "PASS  worker /health answers 200 ok" in smoke.stdout


# --- teardown ----------------------------------------------------------------------------------


def test_teardown_removes_everything_the_deploy_made(life: Life) -> None:
    state = life.states["teardown"]
    assert set(state["jobs"]) == {"someone-elses-job"}
    assert state.get("functions", {}) == {} and state.get("run_services", {}) == {}
    assert state.get("repositories", {}) == {}
    assert state["service_accounts"] == {}
    assert SOURCE_BUCKET not in state["buckets"]
    assert state["roles"][f"projects/{PROJECT}/roles/teslaOffpeakJobManager"]["deleted"] is True
    owners = state["policies"][f"projects/{PROJECT}"]["bindings"]
    assert [b["role"] for b in owners] == ["roles/owner"]
    # Kept unless asked: the database may hold other data.
    assert state["databases"]
    # Every secret, the optional ones too (the webhook's was still set).
    assert life.project.drongo_get(f"/v1/projects/{PROJECT}/secrets").get("secrets", []) == []


def test_teardown_of_an_emptied_project_deletes_nothing(life: Life) -> None:
    again = life.runs["teardown_again"]
    assert [r for r in again.requests if r["method"] in ("DELETE", "PUT", "PATCH")] == []
    assert not [r for r in again.requests if r["path"].endswith(":setIamPolicy")]


SOURCE_BUCKET = f"{PROJECT}-tesla-offpeak-source"


def test_teardown_of_a_never_deployed_project_succeeds(tmp_path: Path) -> None:
    project = RealGcloudProject(tmp_path)
    try:
        run = project.run("deploy/teardown.sh", "--yes")
        assert run.returncode == 0, run.output[-4000:]
        assert [
            r
            for r in run.requests
            if r["method"] != "GET"
            and not r["path"].endswith(":getIamPolicy")
            and r["api"] not in ("oauth2", "logging")
        ] == []
        assert project.state().get("unserved", []) == []
    finally:
        project.close()


def test_dry_run_with_the_real_cli_calls_no_api(tmp_path: Path) -> None:
    project = RealGcloudProject(tmp_path)
    try:
        run = project.run(env={"DRY_RUN": "1"})
        assert run.returncode == 0, run.output[-4000:]
        assert run.calls == [] and run.requests == []
        assert re.search(r"^\+ gcloud builds submit .*--service-account=projects/.*/tesla-build@", run.stderr, re.M)
        assert "+ gcloud artifacts repositories set-cleanup-policies gcf-artifacts" in run.stderr
    finally:
        project.close()
