"""The deploy scripts run by the real gcloud CLI, offline, against gcp_fake and drongo.

One fake project lives through the whole module: first deploy on an empty project → a second
deploy that changes nothing → a config change → the smoke check → teardown of the full project →
teardown of the then empty one. What each step did is read back from the fake's stored resources
and from the API requests gcloud made, not from gcloud's argv alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.harness import BASE_CONFIG, PROJECT, SECRET_VALUES, Run
from tests.deploy.real_gcloud import RealGcloudProject

REGION = "europe-west1"
WORKER_SA = f"tesla-worker@{PROJECT}.iam.gserviceaccount.com"
SCOUT_SA = f"tesla-scout@{PROJECT}.iam.gserviceaccount.com"
SCHEDULER_SA = f"tesla-scheduler@{PROJECT}.iam.gserviceaccount.com"
BUILD_SA = f"tesla-build@{PROJECT}.iam.gserviceaccount.com"
REPOS = f"projects/{PROJECT}/locations/{REGION}/repositories"
SERVICES = f"projects/{PROJECT}/locations/{REGION}/services"
ROTATED_SECRET = "cs-Rotated-Secret-5151"
STATIC_JOBS = ("tesla-scout-every-15-min", "tesla-daily-special-charging-check", "tesla-run-cycle-failsafe")
# A P-256 key made for these tests only (openssl ecparam -name prime256v1 -genkey -noout).
COMMAND_KEY = """-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIMmBvFhT0oBxXIuK1fQ1zbE0x3Qm3hO7pZ2rJq1v8P4xoAoGCCqGSM49
AwEHoUQDQgAE3lGZ0cXr0Xb7yq2m5f4xwqO8wYb9O5r8Xv9a0wY3r3h3W2Qy0y9H
m6v8Jd3Wq5b0rN7Jt1b4h2f8Xw7s1pQy3g==
-----END EC PRIVATE KEY-----
"""


def creates(run: Run) -> list[str]:
    """The create-like API requests of a run (POST on a collection, PUT uploads aside)."""
    found = []
    for request in run.requests:
        path = request["path"]
        if request["method"] != "POST" or ":" in path.rsplit("/", 1)[-1]:
            continue
        if request["api"] in ("oauth2", "logging") or "/upload/" in path:
            continue
        found.append(f"{request['api']} {path}")
    return found


class Life:
    """The runs of the module's one project, in order."""

    def __init__(self, project: RealGcloudProject) -> None:
        self.project = project
        self.runs: dict[str, Run] = {}
        self.states: dict[str, dict[str, Any]] = {}

    def step(self, name: str, script: str = "deploy_scout_worker.sh", *args: str, **env: str) -> Run:
        run = self.project.run(script, *args, env=env)
        self.runs[name] = run
        self.states[name] = self.project.state()
        self.states[name]["jobs"] = (
            self.project.jobs() if "cloudscheduler.googleapis.com" in self.states[name]["enabled"] else {}
        )
        return run


@pytest.fixture(scope="module")
def life(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Life]:
    project = RealGcloudProject(tmp_path_factory.mktemp("real-gcloud"))
    key = project.root / "private-key.pem"
    key.write_text(COMMAND_KEY)
    config = {**BASE_CONFIG, "TESLA_COMMAND_KEY_FILE": str(key), "TESLA_APP_DOMAIN": "tesla.example.com"}
    project.write_config(config)
    life = Life(project)
    try:
        first = life.step("first")
        assert first.returncode == 0, first.output[-6000:]
        # The refresh token only seeds the first record: later runs must not need it.
        project.write_config({k: v for k, v in config.items() if k != "TESLA_REFRESH_TOKEN"})
        second = life.step("second")
        assert second.returncode == 0, second.output[-6000:]
        project.write_config({**config, "TESLA_CLIENT_SECRET": ROTATED_SECRET, "TIMEZONE": "Europe/Berlin"})
        third = life.step("changed")
        assert third.returncode == 0, third.output[-6000:]
        life.step("smoke", "deploy/smoke_check.sh", SMOKE_POLL_SECONDS="0", SMOKE_WAIT_SECONDS="0")
        # A one-shot job the worker made at run time, and a job that is not ours.
        for job in ("special-send-special-1-20250807-0700", "someone-elses-job"):
            body = {"name": f"projects/{PROJECT}/locations/{REGION}/jobs/{job}", "schedule": "0 3 7 8 *"}
            project.fake.drongo("POST", f"/v1/projects/{PROJECT}/locations/{REGION}/jobs", body)
        torn = life.step("teardown", "deploy/teardown.sh", "--yes")
        assert torn.returncode == 0, torn.output[-6000:]
        again = life.step("teardown_again", "deploy/teardown.sh", "--yes")
        assert again.returncode == 0, again.output[-6000:]
        yield life
    finally:
        project.close()


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
    env = {e["name"]: e.get("value") for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TIMEZONE"] == "Europe/Berlin"
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
    for name in ("first", "second", "changed"):
        run = life.runs[name]
        for call in run.calls:
            text = json.dumps(call["argv"])
            for secret in (*SECRET_VALUES, ROTATED_SECRET, "BEGIN EC PRIVATE KEY"):
                assert secret not in text
            assert call["secret_env"] == []
        for secret in (*SECRET_VALUES, ROTATED_SECRET, "MHcCAQEEIMmBvFhT0oBx"):
            assert secret not in run.output


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
    worker = state["run_services"][f"{SERVICES}/tesla-worker"]
    env = {e["name"]: e.get("value") for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TESLA_COMMAND_KEY_SECRET"] == "tesla-command-key"
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
