"""deploy_scout_worker.sh against the recording fake gcloud: a first run, a second run, and the edges."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from shared.settings import load_settings
from tests.deploy.harness import (
    BASE_CONFIG,
    CLIENT_SECRET,
    PROJECT,
    REFRESH_TOKEN,
    ROOT,
    SCHEDULER_SA,
    SCOUT_SA,
    SCOUT_URL,
    SECRET_VALUES,
    WORKER_SA,
    WORKER_URL,
    DeployHarness,
    Run,
    flag,
)

JOB_ROLE = f"projects/{PROJECT}/roles/teslaOffpeakJobManager"
# Leading words of every command that creates, changes or deletes something.
CHANGING_VERBS = {
    "create",
    "enable",
    "add-iam-policy-binding",
    "remove-iam-policy-binding",
    "add",
    "update",
    "undelete",
    "delete",
    "deploy",
    "submit",
    "replace",
}


def words(argv: list[str]) -> list[str]:
    return [a for a in argv if not a.startswith("-")]


def changes(run: Run) -> list[list[str]]:
    return [argv for argv in run.argvs() if CHANGING_VERBS & set(words(argv)[:4])]


class Scenario:
    """One project deployed twice, then a third time with a new client secret."""

    def __init__(self, harness: DeployHarness, first: Run, second: Run, third: Run) -> None:
        self.harness, self.first, self.second, self.third = harness, first, second, third

    @property
    def runs(self) -> tuple[Run, Run, Run]:
        return self.first, self.second, self.third


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    harness = DeployHarness(tmp_path_factory.mktemp("deploy"))
    # An older version left this job behind; the deploy must remove it.
    harness.set_state(jobs={"tesla-special-charging-cleanup": {"schedule": "30 7 * * *"}})
    first = harness.run()
    assert first.returncode == 0, first.output
    # The refresh token only seeds the first record: later runs must not need it.
    harness.write_config({k: v for k, v in BASE_CONFIG.items() if k != "TESLA_REFRESH_TOKEN"})
    second = harness.run()
    assert second.returncode == 0, second.output
    harness.write_config({**BASE_CONFIG, "TESLA_CLIENT_SECRET": "cs-Rotated-Secret-5151"})
    third = harness.run()
    assert third.returncode == 0, third.output
    return Scenario(harness, first, second, third)


# --- idempotence ------------------------------------------------------------------------------


def test_first_run_creates_the_whole_deployment(scenario: Scenario) -> None:
    run = scenario.first
    created = {" ".join(words(argv)[:4]) for argv in changes(run)}
    for expected in (
        "services enable artifactregistry.googleapis.com cloudbuild.googleapis.com",
        "firestore databases create",
        "iam service-accounts create tesla-worker",
        "iam service-accounts create tesla-scout",
        "iam service-accounts create tesla-scheduler",
        "iam roles create teslaOffpeakJobManager",
        "secrets create tesla-client-secret",
        "secrets create fleet-tokens",
        "artifacts repositories create tesla-offpeak",
        "functions deploy tesla-scout",
        "scheduler jobs create http",
        "scheduler jobs delete tesla-special-charging-cleanup",
    ):
        assert any(c.startswith(expected) for c in created), f"first run did not: {expected}"
    assert len(run.find("builds", "submit")) == 1
    assert len(run.find("run", "services", "replace")) == 1
    assert len(run.find("scheduler", "jobs", "create", "http")) == 3
    # Only reads may fail (a resource not there yet); every change succeeds.
    failed = [c["argv"] for c in run.calls if c["status"] != 0]
    assert all({"describe", "access"} & set(words(argv)) for argv in failed), failed


def test_second_run_creates_nothing_and_only_updates(scenario: Scenario) -> None:
    allowed = (["run", "services", "replace"], ["scheduler", "jobs", "update", "http"])
    unexpected = [
        argv
        for argv in changes(scenario.second)
        if words(argv)[: len(allowed[0])] != allowed[0] and words(argv)[:4] != allowed[1]
    ]
    assert unexpected == []
    assert len(scenario.second.find("scheduler", "jobs", "update", "http")) == 3
    # Same code, same settings: no image build, no function build.
    assert scenario.second.find("builds", "submit") == []
    assert scenario.second.find("functions", "deploy") == []


def test_a_changed_client_secret_adds_exactly_one_version(scenario: Scenario) -> None:
    added = scenario.third.find("secrets", "versions", "add")
    assert [words(argv)[3] for argv in added] == ["tesla-client-secret"]
    versions = scenario.harness.state()["secrets"]["tesla-client-secret"]["versions"]
    assert [v["data"] for v in versions] == [CLIENT_SECRET, "cs-Rotated-Secret-5151"]


def test_the_deprecated_cleanup_job_is_deleted_once(scenario: Scenario) -> None:
    assert "tesla-special-charging-cleanup" not in scenario.harness.state()["jobs"]
    assert scenario.second.find("scheduler", "jobs", "delete") == []


# --- nothing public, least privilege -----------------------------------------------------------


def test_nothing_is_made_public_or_given_basic_roles(scenario: Scenario) -> None:
    for run in scenario.runs:
        for argv in run.argvs():
            text = " ".join(argv)
            assert "allUsers" not in text and "allAuthenticatedUsers" not in text
            assert "--allow-unauthenticated" not in argv
            assert flag(argv, "role") not in ("roles/owner", "roles/editor", "roles/viewer")
            assert "secretmanager.admin" not in text and "run.admin" not in text
    (deploy,) = scenario.first.find("functions", "deploy")
    assert "--no-allow-unauthenticated" in deploy
    service = scenario.harness.state()["run_services"]["tesla-worker"]["spec"]
    assert service["metadata"]["annotations"]["run.googleapis.com/invoker-iam-disabled"] == "false"


def test_each_account_has_exactly_the_roles_the_guide_names(scenario: Scenario) -> None:
    state = scenario.harness.state()
    assert sorted(map(tuple, state["project_policy"])) == sorted(
        [
            ("roles/datastore.user", f"serviceAccount:{WORKER_SA}"),
            ("roles/datastore.user", f"serviceAccount:{SCOUT_SA}"),
            (JOB_ROLE, f"serviceAccount:{WORKER_SA}"),
        ]
    )
    assert state["roles"]["teslaOffpeakJobManager"]["permissions"] == [
        "cloudscheduler.jobs.create",
        "cloudscheduler.jobs.delete",
        "cloudscheduler.jobs.fullView",
        "cloudscheduler.jobs.get",
        "cloudscheduler.jobs.list",
        "cloudscheduler.jobs.update",
    ]
    accounts = state["service_accounts"]
    assert accounts[SCHEDULER_SA]["policy"] == [["roles/iam.serviceAccountUser", f"serviceAccount:{WORKER_SA}"]]
    assert accounts[WORKER_SA]["policy"] == [] and accounts[SCOUT_SA]["policy"] == []
    secrets = state["secrets"]
    assert secrets["tesla-client-secret"]["policy"] == [
        ["roles/secretmanager.secretAccessor", f"serviceAccount:{WORKER_SA}"]
    ]
    assert sorted(map(tuple, secrets["fleet-tokens"]["policy"])) == sorted(
        [
            ("roles/secretmanager.secretAccessor", f"serviceAccount:{WORKER_SA}"),
            ("roles/secretmanager.secretVersionAdder", f"serviceAccount:{WORKER_SA}"),
            ("roles/secretmanager.secretVersionManager", f"serviceAccount:{WORKER_SA}"),
            ("roles/secretmanager.secretAccessor", f"serviceAccount:{SCOUT_SA}"),
        ]
    )
    services = state["run_services"]
    assert sorted(map(tuple, services["tesla-worker"]["policy"])) == sorted(
        [("roles/run.invoker", f"serviceAccount:{SCOUT_SA}"), ("roles/run.invoker", f"serviceAccount:{SCHEDULER_SA}")]
    )
    assert services["tesla-scout"]["policy"] == [["roles/run.invoker", f"serviceAccount:{SCHEDULER_SA}"]]


def test_an_existing_public_binding_is_removed(tmp_path: Path) -> None:
    harness = DeployHarness(tmp_path)
    public = {"url": WORKER_URL, "policy": [["roles/run.invoker", "allUsers"]]}
    harness.set_state(run_services={"tesla-worker": public})
    run = harness.run()
    assert run.returncode == 0, run.output
    removed = run.find("run", "services", "remove-iam-policy-binding")
    assert [(flag(a, "member"), flag(a, "role")) for a in removed] == [("allUsers", "roles/run.invoker")]
    assert ["roles/run.invoker", "allUsers"] not in harness.state()["run_services"]["tesla-worker"]["policy"]
    assert "PUBLIC" in run.output.upper()


# --- scheduler jobs and the function -------------------------------------------------------------


def test_the_three_jobs_have_their_schedules_time_zones_targets_and_oidc(scenario: Scenario) -> None:
    expected = {
        "tesla-scout-every-15-min": ("*/15 * * * *", "Etc/UTC", SCOUT_URL, SCOUT_URL),
        "tesla-daily-special-charging-check": (
            "0 23 * * *",
            "Europe/Warsaw",
            f"{WORKER_URL}/daily-special-charging-check",
            WORKER_URL,
        ),
        "tesla-run-cycle-failsafe": ("0 0 * * *", "Europe/Warsaw", f"{WORKER_URL}/run-cycle", WORKER_URL),
    }
    for run in (scenario.first, scenario.second):
        jobs = run.find("scheduler", "jobs", "create", "http") + run.find("scheduler", "jobs", "update", "http")
        assert sorted(words(argv)[4] for argv in jobs) == sorted(expected)
        for argv in jobs:
            schedule, time_zone, uri, audience = expected[words(argv)[4]]
            assert flag(argv, "schedule") == schedule
            assert flag(argv, "time-zone") == time_zone
            assert flag(argv, "uri") == uri
            assert flag(argv, "oidc-service-account-email") == SCHEDULER_SA
            assert flag(argv, "oidc-token-audience") == audience
            assert flag(argv, "location") == "europe-west1"
            assert flag(argv, "http-method") == "post"


def test_every_job_in_the_project_calls_with_oidc(scenario: Scenario) -> None:
    jobs = scenario.harness.state()["jobs"]
    assert len(jobs) == 3
    for job in jobs.values():
        assert job["oidc-service-account-email"] == SCHEDULER_SA
        assert job["oidc-token-audience"] in (WORKER_URL, SCOUT_URL)
        assert "oauth-service-account-email" not in job


def test_the_scout_is_a_private_gen2_function_with_shared_beside_main(scenario: Scenario) -> None:
    (argv,) = scenario.first.find("functions", "deploy")
    assert "--gen2" in argv and "--trigger-http" in argv and "--no-allow-unauthenticated" in argv
    runtime = flag(argv, "runtime") or ""
    match = re.fullmatch(r"python3(\d+)", runtime)
    assert match and int(match.group(1)) >= 12
    assert flag(argv, "entry-point") == "tesla_scout_main"
    assert flag(argv, "service-account") == SCOUT_SA
    assert flag(argv, "memory") == "256Mi"
    assert flag(argv, "region") == "europe-west1"
    (call,) = [c for c in scenario.first.calls if c["argv"] == argv]
    assert "main.py" in call["files"] and "shared/__init__.py" in call["files"]
    assert "shared/settings.py" in call["files"]
    assert call["requirements"] == (ROOT / "requirements_cloud.txt").read_text()
    assert not any("__pycache__" in f or f.endswith(".pyc") for f in call["files"])


def _files_under(root: Path, folder: str) -> set[str]:
    base = root / folder
    return {
        str(p.relative_to(root))
        for p in base.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def test_every_file_of_shared_is_staged_with_both_services(scenario: Scenario) -> None:
    shared = _files_under(scenario.harness.checkout, "shared")
    assert "shared/settings.py" in shared
    for command in (["builds", "submit"], ["functions", "deploy"]):
        (call,) = [c for c in scenario.first.calls if c["argv"][:2] == command]
        assert shared <= set(call["files"]), sorted(shared - set(call["files"]))[:5]


def test_the_worker_image_is_built_from_the_staged_worker_and_shared(scenario: Scenario) -> None:
    (call,) = [c for c in scenario.first.calls if c["argv"][:2] == ["builds", "submit"]]
    files = call["files"]
    assert "Dockerfile" in files and "requirements_cloud.txt" in files
    assert "worker_service/main.py" in files and "shared/settings.py" in files
    assert not any(f.startswith(("tests/", "simulator/", "deploy/", ".venv/")) for f in files)
    tag = flag(call["argv"], "tag") or ""
    assert tag.startswith("europe-west1-docker.pkg.dev/tesla-offpeak-demo/tesla-offpeak/tesla-worker:")


# --- secrets ---------------------------------------------------------------------------------


def test_secrets_never_appear_on_a_command_line_or_in_rendered_files(scenario: Scenario) -> None:
    for run in scenario.runs:
        for call in run.calls:
            for secret in (*SECRET_VALUES, "cs-Rotated-Secret-5151"):
                assert secret not in json.dumps(call["argv"])
                assert secret not in call.get("yaml", "") and secret not in call.get("env_file", "")
            # gcloud's own environment never carries them either.
            assert call["secret_env"] == []
        for secret in SECRET_VALUES:
            assert secret not in run.output


def test_secrets_reach_secret_manager_on_stdin(scenario: Scenario) -> None:
    stdin_of = {
        words(c["argv"])[3]: c.get("stdin")
        for c in scenario.first.calls
        if c["argv"][:3] == ["secrets", "versions", "add"]
    }
    assert stdin_of["tesla-client-secret"] == CLIENT_SECRET
    record = json.loads(stdin_of["fleet-tokens"])
    assert record["refresh_token"] == REFRESH_TOKEN
    assert record["access_token"] is None
    # Seeded once: the worker owns the record afterwards.
    assert len(scenario.harness.state()["secrets"]["fleet-tokens"]["versions"]) == 1


def test_the_token_record_matches_what_the_worker_reads(scenario: Scenario) -> None:
    from shared.domain.token_record import TokenRecord

    data = scenario.harness.state()["secrets"]["fleet-tokens"]["versions"][0]["data"]
    record = TokenRecord.from_json(data.encode())
    assert record.refresh_token == REFRESH_TOKEN
    assert record.access_token is None


def test_a_first_deploy_without_refresh_token_stops_before_seeding(tmp_path: Path) -> None:
    harness = DeployHarness(tmp_path, {k: v for k, v in BASE_CONFIG.items() if k != "TESLA_REFRESH_TOKEN"})
    run = harness.run()
    assert run.returncode != 0
    assert "TESLA_REFRESH_TOKEN is required" in run.stderr
    assert run.find("secrets", "versions", "add", "fleet-tokens") == []


@pytest.mark.parametrize("missing", ["GOOGLE_CLOUD_PROJECT", "TESLA_VIN", "TESLA_CLIENT_SECRET", "HOME_LATITUDE"])
def test_a_missing_setting_fails_fast_naming_it(tmp_path: Path, missing: str) -> None:
    harness = DeployHarness(tmp_path, {k: v for k, v in BASE_CONFIG.items() if k != missing})
    run = harness.run()
    assert run.returncode != 0
    assert f"{missing} is required" in run.stderr
    assert run.calls == []


def test_an_unexpected_gcloud_error_stops_the_deploy_and_is_shown(tmp_path: Path) -> None:
    harness = DeployHarness(tmp_path)
    harness.set_state(fail_on="iam service-accounts describe")
    run = harness.run()
    assert run.returncode != 0
    assert "PERMISSION_DENIED" in run.stderr
    # Not mistaken for "missing": nothing is created after the failed read.
    assert run.find("iam", "service-accounts", "create") == []
    assert run.argvs()[-1][:3] == ["iam", "service-accounts", "describe"]


def test_the_environment_wins_over_the_config_file(tmp_path: Path) -> None:
    harness = DeployHarness(tmp_path)
    run = harness.run(env={"GOOGLE_CLOUD_PROJECT": "another-project-1", "DRY_RUN": "1"})
    assert run.returncode == 0, run.output
    assert "--project=another-project-1" in run.stderr
    assert "GOOGLE_CLOUD_PROJECT=another-project-1 from the environment wins" in run.stderr


def test_a_secret_from_the_environment_wins_without_being_printed(tmp_path: Path) -> None:
    harness = DeployHarness(tmp_path)
    run = harness.run(env={"TESLA_CLIENT_SECRET": "cs-From-The-Env-777"})
    assert run.returncode == 0, run.output
    assert "TESLA_CLIENT_SECRET from the environment wins" in run.stderr
    assert "cs-From-The-Env-777" not in run.output
    added = [c for c in run.calls if c["argv"][:4] == ["secrets", "versions", "add", "tesla-client-secret"]]
    assert [c["stdin"] for c in added] == ["cs-From-The-Env-777"]
    # Exported by the caller, yet gcloud never inherits it.
    assert all(call["secret_env"] == [] for call in run.calls)


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


# --- DRY_RUN ---------------------------------------------------------------------------------


def test_dry_run_runs_no_gcloud_and_prints_every_step(tmp_path: Path) -> None:
    harness = DeployHarness(tmp_path)
    run = harness.run(env={"DRY_RUN": "1"})
    assert run.returncode == 0, run.output
    assert run.calls == [] and not harness.log_path.exists()
    printed = [line for line in run.stderr.splitlines() if line.startswith("+ gcloud ")]
    for step in (
        "+ gcloud services enable",
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


# --- what the services will read -------------------------------------------------------------


def _plain_env(entries: list[dict[str, object]]) -> dict[str, str]:
    return {str(e["name"]): str(e["value"]) for e in entries if "value" in e}


def test_the_rendered_worker_yaml_satisfies_the_worker_settings(scenario: Scenario) -> None:
    (call,) = [c for c in scenario.first.calls if c["argv"][:3] == ["run", "services", "replace"]]
    service = yaml.safe_load(call["yaml"])
    container = service["spec"]["template"]["spec"]["containers"][0]
    env = _plain_env(container["env"])
    assert env["WORKER_SERVICE_URL"] == WORKER_URL
    assert env["WORKER_ALLOWED_INVOKERS"].split(",") == [SCOUT_SA, SCHEDULER_SA]
    assert env["SCHEDULER_SERVICE_ACCOUNT"] == SCHEDULER_SA
    assert env["GOOGLE_CLOUD_PROJECT"] == PROJECT
    assert service["spec"]["template"]["spec"]["serviceAccountName"] == WORKER_SA
    assert container["image"] == flag(scenario.first.find("builds", "submit")[0], "tag")
    assert re.search(r"\$\{[A-Z_][A-Z0-9_]*\}", call["yaml"]) is None
    settings = load_settings({**env, "K_SERVICE": "tesla-worker", "TESLA_CLIENT_SECRET": "x" * 20}, component="worker")
    assert settings.backend == "gcp" and settings.worker_auth_mode == "google-oidc"


def test_the_scout_env_file_satisfies_the_scout_settings(scenario: Scenario) -> None:
    (call,) = [c for c in scenario.first.calls if c["argv"][:2] == ["functions", "deploy"]]
    env = yaml.safe_load(call["env_file"])
    assert env["WORKER_SERVICE_URL"] == WORKER_URL
    assert all(isinstance(v, str) for v in env.values())
    settings = load_settings({**env, "K_SERVICE": "tesla-scout"}, component="scout")
    assert settings.backend == "gcp" and settings.vins == ("5YJ3E7EB2KF000001",)


# --- the steps run alone -----------------------------------------------------------------------


def test_iam_and_scheduler_steps_run_alone_change_nothing_on_a_deployed_project(scenario: Scenario) -> None:
    before = scenario.harness.state()
    iam = scenario.harness.run("deploy/iam.sh")
    assert iam.returncode == 0, iam.output
    assert changes(iam) == []
    jobs = scenario.harness.run("deploy/scheduler.sh")
    assert jobs.returncode == 0, jobs.output
    assert {" ".join(words(argv)[:4]) for argv in changes(jobs)} == {"scheduler jobs update http"}
    assert scenario.harness.state() == before
