"""The one fake project the real-gcloud tests share, taken through a deploy's whole life.

Steps, in order (each one's runs and the fake's state after it are kept in `Life`):

- `first`: a deploy on an empty project, with every optional part on: the command-signing key,
  an alert e-mail, a webhook, an ENTSO-E token and an extra owner (written in mixed case);
- `second`: the same settings (without the refresh token, which only seeds): must change nothing;
- `changed`: someone else grants friend@ run.invoker on the worker, then a config change: a
  rotated client secret, another time zone, another webhook URL, the ENTSO-E token and the alert
  e-mail removed, the owners old-owner@ → family@ and friend@;
- `smoke`: the smoke check on the healthy deployment;
- `smoke_refused`: the smoke check after one job's audience was changed and the scheduler account
  lost run.invoker on the scout;
- `teardown`: with a one-shot job of the worker's, someone else's job, the alert channel and
  policy as `second` left them and someone else's channel and policy in the project;
- `teardown_again`: on the emptied project.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from tests.deploy.harness import BASE_CONFIG, ENTSOE_TOKEN, PROJECT, WEBHOOK_URL, Run
from tests.deploy.real_gcloud import DEPLOYER, RealGcloudProject

REGION = "europe-west1"
WORKER_SA = f"tesla-worker@{PROJECT}.iam.gserviceaccount.com"
SCOUT_SA = f"tesla-scout@{PROJECT}.iam.gserviceaccount.com"
SCHEDULER_SA = f"tesla-scheduler@{PROJECT}.iam.gserviceaccount.com"
BUILD_SA = f"tesla-build@{PROJECT}.iam.gserviceaccount.com"
REPOS = f"projects/{PROJECT}/locations/{REGION}/repositories"
SERVICES = f"projects/{PROJECT}/locations/{REGION}/services"
WORKER_SERVICE = f"{SERVICES}/tesla-worker"
SCOUT_SERVICE = f"{SERVICES}/tesla-scout"
JOBS = f"/v1/projects/{PROJECT}/locations/{REGION}/jobs"
ROTATED_SECRET = "cs-Rotated-Secret-5151"
NEW_WEBHOOK_URL = "https://ntfy.sh/tesla-offpeak-Other-Topic-8888"
ALERT_EMAIL = "owner@example.com"
FRIEND = "user:friend@example.com"
STATIC_JOBS = ("tesla-scout-every-15-min", "tesla-daily-special-charging-check", "tesla-run-cycle-failsafe")
WRONG_AUDIENCE = "https://not-the-worker.example.com"
# A P-256 key made for these tests only (openssl ecparam -name prime256v1 -genkey -noout).
COMMAND_KEY = """-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIMmBvFhT0oBxXIuK1fQ1zbE0x3Qm3hO7pZ2rJq1v8P4xoAoGCCqGSM49
AwEHoUQDQgAE3lGZ0cXr0Xb7yq2m5f4xwqO8wYb9O5r8Xv9a0wY3r3h3W2Qy0y9H
m6v8Jd3Wq5b0rN7Jt1b4h2f8Xw7s1pQy3g==
-----END EC PRIVATE KEY-----
"""
OTHER_CHANNEL = f"projects/{PROJECT}/notificationChannels/5550001"
OTHER_POLICY = f"projects/{PROJECT}/alertPolicies/5550002"


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


def worker_env(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The worker container's env entries, by name."""
    worker = state["run_services"][WORKER_SERVICE]
    return {e["name"]: e for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]}


def invoker_members(state: dict[str, Any], service: str = WORKER_SERVICE) -> set[str]:
    """Who has roles/run.invoker on a Cloud Run service."""
    bindings = state["policies"].get(service, {}).get("bindings", [])
    return {m for b in bindings if b["role"] == "roles/run.invoker" for m in b["members"]}


class Life:
    """The runs of the session's one project, in order."""

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

    def must(self, name: str, *args: str, **env: str) -> Run:
        """A step that has to succeed."""
        run = self.step(name, *args, **env)
        assert run.returncode == 0, f"{name}: {run.output[-6000:]}"
        return run

    # -- what someone else (or a broken setting) does to the project between steps ---------------

    def grant_outside_the_deploy(self, resource: str, member: str, role: str) -> None:
        """A binding made by hand in the console, not by the deploy."""
        fake = self.project.fake
        with fake.state.lock:
            policy = fake.data["policies"][resource]
            policy["bindings"].append({"role": role, "members": [member]})
            policy["serial"] += 1
            fake.state.save()

    def revoke_outside_the_deploy(self, resource: str, member: str, role: str) -> None:
        """Take a binding away by hand."""
        fake = self.project.fake
        with fake.state.lock:
            policy = fake.data["policies"][resource]
            for binding in policy["bindings"]:
                if binding["role"] == role and member in binding["members"]:
                    binding["members"].remove(member)
            policy["bindings"] = [b for b in policy["bindings"] if b["members"]]
            policy["serial"] += 1
            fake.state.save()

    def set_job_audience(self, job: str, audience: str) -> None:
        """Give a scheduler job another OIDC audience (drongo keeps the jobs: replaced there)."""
        status, body = self.project.fake.drongo("GET", f"{JOBS}/{job}")
        assert status == 200, body
        body["httpTarget"]["oidcToken"]["audience"] = audience
        assert self.project.fake.drongo("DELETE", f"{JOBS}/{job}")[0] == 200
        status, created = self.project.fake.drongo("POST", JOBS, body)
        assert status == 200, created

    def put_resources(self, table: str, items: dict[str, dict[str, Any]]) -> None:
        """Resources of the fake placed as they were (a state copied from an earlier step)."""
        fake = self.project.fake
        with fake.state.lock:
            fake.table(table).update(copy.deepcopy(items))
            fake.state.save()


def live_through(life: Life) -> None:
    """Run every step of the module docstring."""
    project = life.project
    key = project.root / "private-key.pem"
    key.write_text(COMMAND_KEY)
    config = {
        **BASE_CONFIG,
        "TESLA_COMMAND_KEY_FILE": str(key),
        "TESLA_APP_DOMAIN": "tesla.example.com",
        "WORKER_OWNER_EMAILS": "Old-Owner@Example.com",
        "ALERT_EMAIL": ALERT_EMAIL,
        "ALERT_WEBHOOK_URL": WEBHOOK_URL,
        "ENTSOE_API_TOKEN": ENTSOE_TOKEN,
    }
    project.write_config(config)
    life.must("first")
    # The refresh token only seeds the first record: later runs must not need it.
    config.pop("TESLA_REFRESH_TOKEN")
    project.write_config(config)
    life.must("second")

    life.grant_outside_the_deploy(WORKER_SERVICE, FRIEND, "roles/run.invoker")
    for name in ("ALERT_EMAIL", "ENTSOE_API_TOKEN"):
        config.pop(name)
    config.update(
        TESLA_CLIENT_SECRET=ROTATED_SECRET,
        TIMEZONE="Europe/Berlin",
        ALERT_WEBHOOK_URL=NEW_WEBHOOK_URL,
        WORKER_OWNER_EMAILS="family@example.com, friend@example.com",
    )
    project.write_config(config)
    life.must("changed")

    quick = {"SMOKE_POLL_SECONDS": "0", "SMOKE_WAIT_SECONDS": "0"}
    life.step("smoke", "deploy/smoke_check.sh", **quick)
    life.set_job_audience("tesla-run-cycle-failsafe", WRONG_AUDIENCE)
    life.revoke_outside_the_deploy(SCOUT_SERVICE, f"serviceAccount:{SCHEDULER_SA}", "roles/run.invoker")
    life.step("smoke_refused", "deploy/smoke_check.sh", **quick)

    # A one-shot job the worker made at run time, and a job that is not ours.
    for job in ("special-send-special-1-20250807-0700", "someone-elses-job"):
        body = {"name": f"projects/{PROJECT}/locations/{REGION}/jobs/{job}", "schedule": "0 3 7 8 *"}
        project.fake.drongo("POST", JOBS, body)
    # The alert channel and policy as the deploy made them (ALERT_EMAIL still set at teardown),
    # beside someone else's, which teardown must leave alone.
    life.put_resources("notification_channels", life.states["second"]["notification_channels"])
    life.put_resources("alert_policies", life.states["second"]["alert_policies"])
    life.put_resources("notification_channels", {OTHER_CHANNEL: other_channel()})
    life.put_resources("alert_policies", {OTHER_POLICY: other_policy()})
    life.must("teardown", "deploy/teardown.sh", "--yes")
    life.must("teardown_again", "deploy/teardown.sh", "--yes")


def other_channel() -> dict[str, Any]:
    """Someone else's e-mail channel in the same project."""
    return {
        "name": OTHER_CHANNEL,
        "type": "email",
        "displayName": "ops on-call",
        "labels": {"email_address": "ops@example.com"},
        "enabled": True,
    }


def other_policy() -> dict[str, Any]:
    """Someone else's policy, mailing their channel."""
    return {
        "name": OTHER_POLICY,
        "displayName": "database CPU",
        "combiner": "OR",
        "conditions": [{"displayName": "cpu", "conditionAbsent": {"filter": 'metric.type="x"', "duration": "300s"}}],
        "notificationChannels": [OTHER_CHANNEL],
        "enabled": True,
    }


def life_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Life]:
    """The body of the session fixture (conftest.py): the project lived through, then closed."""
    project = RealGcloudProject(tmp_path_factory.mktemp("real-gcloud"))
    life = Life(project)
    try:
        live_through(life)
        yield life
    finally:
        project.close()


__all__ = ["DEPLOYER", "Life", "creates", "invoker_members", "life_fixture", "worker_env"]
