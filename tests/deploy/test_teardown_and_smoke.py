"""deploy/teardown.sh and deploy/smoke_check.sh against the fake gcloud (and, for the smoke check,
a loopback HTTP server standing in for the two Cloud Run services)."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.deploy.harness import PROJECT, SCHEDULER_SA, SECRET_VALUES, DeployHarness, flag

STATIC_JOBS = ("tesla-scout-every-15-min", "tesla-daily-special-charging-check", "tesla-run-cycle-failsafe")


@pytest.fixture
def deployed(tmp_path: Path) -> DeployHarness:
    harness = DeployHarness(tmp_path)
    run = harness.run()
    assert run.returncode == 0, run.output
    # One-shot jobs the worker made at run time, and a job that is not ours.
    state = harness.state()
    state["jobs"]["special-send-special-1-20250807-0700"] = {"schedule": "0 3 7 8 *"}
    state["jobs"]["special-cleanup-special-1-20250807-0700"] = {"schedule": "0 6 7 8 *"}
    state["jobs"]["someone-elses-job"] = {"schedule": "0 1 * * *"}
    harness.set_state(**state)
    return harness


def test_teardown_removes_everything_the_deploy_made(deployed: DeployHarness) -> None:
    run = deployed.run("deploy/teardown.sh", "--yes")
    assert run.returncode == 0, run.output
    state = deployed.state()
    assert list(state["jobs"]) == ["someone-elses-job"]
    assert state["functions"] == {} and state["run_services"] == {}
    assert state["secrets"] == {} and state["repositories"] == []
    assert state["service_accounts"] == {}
    assert state["project_policy"] == []
    assert state["roles"]["teslaOffpeakJobManager"]["deleted"] is True
    # Kept unless asked: the database may hold other data.
    assert state["firestore"] is not None
    for secret in SECRET_VALUES:
        assert secret not in run.output


def test_teardown_twice_deletes_nothing_the_second_time(deployed: DeployHarness) -> None:
    assert deployed.run("deploy/teardown.sh", "--yes").returncode == 0
    again = deployed.run("deploy/teardown.sh", "--yes")
    assert again.returncode == 0, again.output
    assert [a for a in again.argvs() if "delete" in a or "remove-iam-policy-binding" in a] == []


def test_teardown_can_keep_the_tokens_and_drop_the_database(deployed: DeployHarness) -> None:
    run = deployed.run("deploy/teardown.sh", "--yes", env={"KEEP_TOKENS": "1", "TEARDOWN_FIRESTORE": "1"})
    assert run.returncode == 0, run.output
    state = deployed.state()
    assert list(state["secrets"]) == ["fleet-tokens"]
    assert state["firestore"] is None


def test_teardown_without_confirmation_deletes_nothing(deployed: DeployHarness) -> None:
    run = deployed.run("deploy/teardown.sh")
    assert run.returncode != 0
    assert "--yes" in run.stderr
    assert [a for a in run.argvs() if "delete" in a] == []
    assert "tesla-worker" in deployed.state()["run_services"]


def test_teardown_dry_run_prints_the_deletes_and_runs_nothing(tmp_path: Path) -> None:
    harness = DeployHarness(tmp_path)
    run = harness.run("deploy/teardown.sh", env={"DRY_RUN": "1"})
    assert run.returncode == 0, run.output
    assert run.calls == []
    for step in (
        "functions delete tesla-scout",
        "run services delete tesla-worker",
        "secrets delete fleet-tokens",
        "iam service-accounts delete",
        "scheduler jobs delete tesla-scout-every-15-min",
    ):
        assert f"+ gcloud {step}" in run.stderr, step


# --- smoke check -----------------------------------------------------------------------------

TOKEN = "fake-user-id-token"


class FakeCloudRun(BaseHTTPRequestHandler):
    """Refuses callers without a token like Cloud Run IAM; /health answers ok to the right token."""

    public = False

    def do_GET(self) -> None:
        authorised = self.headers.get("Authorization") == f"Bearer {TOKEN}"
        if not authorised and not self.public:
            self._answer(403, {"error": "forbidden"})
        elif self.path == "/worker/health":
            self._answer(200, {"status": "ok"})
        else:
            self._answer(200, {"status": "success"})

    def _answer(self, status: int, body: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass


@pytest.fixture
def fake_cloud_run() -> Iterator[tuple[str, type[FakeCloudRun]]]:
    if shutil.which("curl") is None:
        message = "curl is not installed: the smoke check cannot be tested"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    handler = type("Handler", (FakeCloudRun,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def _deployed_state(harness: DeployHarness, base: str) -> None:
    harness.set_state(
        run_services={"tesla-worker": {"url": f"{base}/worker", "policy": []}},
        functions={"tesla-scout": {"url": f"{base}/scout", "labels": {}}},
        jobs={name: {} for name in (*STATIC_JOBS, "special-send-special-1-20250807-0700")},
        identity_token=TOKEN,
    )


def test_smoke_check_passes_on_a_private_healthy_deployment(
    tmp_path: Path, fake_cloud_run: tuple[str, type[FakeCloudRun]]
) -> None:
    base, _ = fake_cloud_run
    harness = DeployHarness(tmp_path)
    _deployed_state(harness, base)
    run = harness.run("deploy/smoke_check.sh")
    assert run.returncode == 0, run.output
    assert "PASS  worker refuses anonymous callers (403)" in run.stdout
    assert "PASS  worker /health answers 200 ok" in run.stdout
    assert "PASS  scout refuses anonymous callers (403)" in run.stdout
    assert "special-send-special-1-20250807-0700" in run.stdout
    # The token went to curl through a file descriptor, and nothing wrote it out.
    assert TOKEN not in run.output


def test_smoke_check_fails_when_the_worker_is_public(
    tmp_path: Path, fake_cloud_run: tuple[str, type[FakeCloudRun]]
) -> None:
    base, handler = fake_cloud_run
    handler.public = True
    harness = DeployHarness(tmp_path)
    _deployed_state(harness, base)
    run = harness.run("deploy/smoke_check.sh")
    assert run.returncode == 1
    assert "PUBLIC" in run.stdout


def test_smoke_check_fails_when_a_job_is_missing(
    tmp_path: Path, fake_cloud_run: tuple[str, type[FakeCloudRun]]
) -> None:
    base, _ = fake_cloud_run
    harness = DeployHarness(tmp_path)
    _deployed_state(harness, base)
    harness.set_state(jobs={"tesla-scout-every-15-min": {}})
    run = harness.run("deploy/smoke_check.sh")
    assert run.returncode == 1
    assert "FAIL  scheduler job tesla-run-cycle-failsafe is missing" in run.stdout


def test_smoke_check_as_the_scheduler_account_asks_for_its_token(
    tmp_path: Path, fake_cloud_run: tuple[str, type[FakeCloudRun]]
) -> None:
    base, _ = fake_cloud_run
    harness = DeployHarness(tmp_path)
    _deployed_state(harness, base)
    run = harness.run("deploy/smoke_check.sh", env={"SMOKE_AS_SCHEDULER": "1"})
    assert run.returncode == 0, run.output
    (argv,) = [a for a in run.argvs() if a[:2] == ["auth", "print-identity-token"] and len(a) > 3]
    assert flag(argv, "impersonate-service-account") == SCHEDULER_SA
    assert flag(argv, "audiences") == f"{base}/worker"
    assert f"--project={PROJECT}" in argv
