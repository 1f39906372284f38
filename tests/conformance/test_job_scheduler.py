"""One JobScheduler suite, run against the fake, the embedded scheduler and Cloud Scheduler on drongo.

Also: the exact Cloud Scheduler Job the GCP adapter builds, and how it reports failures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.gcp.cloud_scheduler import CloudSchedulerJobs, build_job, parse_job
from shared.adapters.local.embedded_scheduler import EmbeddedScheduler
from shared.clock import ManualClock
from shared.domain.cron import job_name, one_shot_cron
from shared.errors import StoreUnavailable, ValidationError
from shared.ports import HttpJob, JobScheduler
from tests.conftest import EMULATOR_PROJECT, ROOT
from tests.fakes.scheduler import InMemoryJobScheduler

LOCATION = "europe-west1"
NOW = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
WORKER = "https://worker-abc123-ew.a.run.app"
INVOKER = "scheduler-invoker@tesla-offpeak-test.iam.gserviceaccount.com"


def special_job(kind: str = "send", session_id: str = "special_1_20261124_0700", **changes: Any) -> HttpJob:
    schedule, zone = one_shot_cron(datetime(2026, 11, 24, 4, 0, tzinfo=UTC))
    fields: dict[str, Any] = {
        "name": job_name(kind, session_id),
        "schedule": schedule,
        "time_zone": zone,
        "uri": f"{WORKER}/send-special-schedule",
        "body": {"session_id": session_id},
        "description": f"special charging {kind} for {session_id}",
        "oidc_service_account": INVOKER,
        "oidc_audience": WORKER,
        "retry_count": 3,
        "attempt_deadline_seconds": 320,
    }
    fields.update(changes)
    return HttpJob(**fields)


@pytest.fixture(
    params=["fake", "embedded", pytest.param("cloud_scheduler", marks=pytest.mark.gcp)],
)
def scheduler(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobScheduler]:
    if request.param == "fake":
        yield InMemoryJobScheduler()
    elif request.param == "embedded":
        yield EmbeddedScheduler(tmp_path / "local.sqlite3", ManualClock(NOW), auth_token="t", sender=_never)
    else:
        endpoint = request.getfixturevalue("drongo")
        yield CloudSchedulerJobs(EMULATOR_PROJECT, LOCATION, endpoint=endpoint)


def _never(*_: object) -> int:
    raise AssertionError("the conformance suite never fires jobs")


# --- the port's behaviour, identical on every backend -----------------------------------------


def test_create_then_get_returns_the_same_job(scheduler: JobScheduler) -> None:
    job = special_job()
    assert scheduler.create(job) is True
    assert scheduler.get(job.name) == job


def test_a_job_without_oidc_round_trips(scheduler: JobScheduler) -> None:
    job = HttpJob(name="nightly-run-cycle", schedule="30 5 * * *", time_zone="Europe/Warsaw", uri=f"{WORKER}/run-cycle")
    assert scheduler.create(job)
    assert scheduler.get("nightly-run-cycle") == job


def test_creating_a_duplicate_returns_false_and_keeps_the_first(scheduler: JobScheduler) -> None:
    first = special_job()
    assert scheduler.create(first)
    assert scheduler.create(special_job(schedule="0 9 1 1 *", body={"session_id": "other"})) is False
    assert scheduler.get(first.name) == first
    assert len(scheduler.list()) == 1


def test_get_of_a_missing_job_is_none(scheduler: JobScheduler) -> None:
    assert scheduler.get("special-send-nothing-here") is None


def test_list_filters_by_prefix_and_orders_by_name(scheduler: JobScheduler) -> None:
    for job in (
        special_job("send", "special_2_20261125_0700"),
        special_job("cleanup", "special_1_20261124_0700"),
        HttpJob(name="nightly-run-cycle", schedule="30 5 * * *", time_zone="Europe/Warsaw", uri=f"{WORKER}/run-cycle"),
        special_job("send", "special_1_20261124_0700"),
    ):
        assert scheduler.create(job)
    assert [job.name for job in scheduler.list("special-send-")] == [
        "special-send-special-1-20261124-0700",
        "special-send-special-2-20261125-0700",
    ]
    assert [job.name for job in scheduler.list("special-")] == [
        "special-cleanup-special-1-20261124-0700",
        "special-send-special-1-20261124-0700",
        "special-send-special-2-20261125-0700",
    ]
    assert [job.name for job in scheduler.list()] == [
        "nightly-run-cycle",
        "special-cleanup-special-1-20261124-0700",
        "special-send-special-1-20261124-0700",
        "special-send-special-2-20261125-0700",
    ]
    assert scheduler.list("nothing-") == []


def test_delete_removes_the_job_once(scheduler: JobScheduler) -> None:
    job = special_job()
    scheduler.create(job)
    assert scheduler.delete(job.name) is True
    assert scheduler.get(job.name) is None
    assert scheduler.list() == []
    assert scheduler.delete(job.name) is False


def test_a_deleted_job_can_be_created_again(scheduler: JobScheduler) -> None:
    job = special_job()
    scheduler.create(job)
    scheduler.delete(job.name)
    assert scheduler.create(job) is True
    assert scheduler.get(job.name) == job


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "special send"},
        {"name": "x" * 501},
        {"schedule": "0 5 24 11 * 2026"},
        {"schedule": "every day"},
        {"time_zone": "Europe/Atlantis"},
        {"retry_count": 6},
        {"attempt_deadline_seconds": 5},
        {"http_method": "FETCH"},
    ],
)
def test_invalid_jobs_are_refused_and_nothing_is_stored(scheduler: JobScheduler, changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        scheduler.create(special_job(**changes))
    assert scheduler.list() == []


# --- the Cloud Scheduler Job as built ---------------------------------------------------------


def test_build_job_is_the_contract_shape() -> None:
    from google.cloud import scheduler_v1

    built = build_job("my-project", LOCATION, special_job())
    assert built.name == "projects/my-project/locations/europe-west1/jobs/special-send-special-1-20261124-0700"
    assert built.schedule == "0 4 24 11 *"
    assert built.time_zone == "Etc/UTC"
    assert built.description == "special charging send for special_1_20261124_0700"
    target = built.http_target
    assert target.uri == f"{WORKER}/send-special-schedule"
    assert target.http_method == scheduler_v1.HttpMethod.POST
    assert dict(target.headers) == {"Content-Type": "application/json"}
    assert json.loads(target.body) == {"session_id": "special_1_20261124_0700"}
    assert target.oidc_token.service_account_email == INVOKER
    assert target.oidc_token.audience == WORKER
    assert "oauth_token" not in target
    retry = built.retry_config
    assert retry.retry_count == 3
    assert retry.min_backoff_duration == timedelta(seconds=60)
    assert retry.max_backoff_duration == timedelta(seconds=600)
    assert retry.max_doublings == 3
    assert built.attempt_deadline == timedelta(seconds=320)
    assert parse_job(built) == special_job()


def test_build_job_without_a_service_account_sends_no_oidc_token() -> None:
    built = build_job("p", LOCATION, special_job(oidc_service_account=None, oidc_audience=None))
    assert "oidc_token" not in built.http_target
    assert parse_job(built).oidc_service_account is None


def test_build_job_defaults_the_audience_to_the_worker_origin_not_the_full_uri() -> None:
    built = build_job("p", LOCATION, special_job(oidc_audience=None))
    assert built.http_target.oidc_token.audience == WORKER


def test_build_job_sends_no_body_with_get() -> None:
    built = build_job("p", LOCATION, special_job(http_method="GET"))
    assert built.http_target.body == b""


def test_the_client_library_is_imported_only_on_first_use() -> None:
    # Cold start: importing scheduler_v1 costs ~0.4 s of CPU (FACTS), so neither importing the
    # adapter nor constructing it may load it.
    code = (
        "import sys\n"
        "from shared.adapters.gcp.cloud_scheduler import CloudSchedulerJobs\n"
        "CloudSchedulerJobs('p', 'europe-west1', endpoint='http://127.0.0.1:9')\n"
        "assert 'google.cloud.scheduler_v1' not in sys.modules, 'imported eagerly'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


# --- failures ---------------------------------------------------------------------------------


class FailingClient:
    """A scheduler_v1 client whose every call raises the given exception."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def _fail(self, *_: Any, **__: Any) -> Any:
        raise self.exc

    create_job = get_job = list_jobs = delete_job = _fail


@pytest.mark.parametrize("operation", ["create", "get", "list", "delete"])
def test_service_errors_become_store_unavailable_without_details(operation: str) -> None:
    from google.api_core import exceptions

    secret_detail = "Bearer ya29.very-secret-access-token-value"
    jobs = CloudSchedulerJobs("p", LOCATION, client=FailingClient(exceptions.ServiceUnavailable(secret_detail)))
    call = {
        "create": lambda: jobs.create(special_job()),
        "get": lambda: jobs.get("special-send-x"),
        "list": lambda: jobs.list("special-"),
        "delete": lambda: jobs.delete("special-send-x"),
    }[operation]
    with pytest.raises(StoreUnavailable) as raised:
        call()
    assert "ServiceUnavailable" in raised.value.message
    assert "ya29" not in raised.value.message


def test_aborted_on_create_is_an_outage_not_a_duplicate() -> None:
    from google.api_core import exceptions

    jobs = CloudSchedulerJobs("p", LOCATION, client=FailingClient(exceptions.Aborted("contention")))
    with pytest.raises(StoreUnavailable):
        jobs.create(special_job())


def test_already_exists_on_create_is_a_duplicate() -> None:
    from google.api_core import exceptions

    jobs = CloudSchedulerJobs("p", LOCATION, client=FailingClient(exceptions.AlreadyExists("exists")))
    assert jobs.create(special_job()) is False


def test_invalid_argument_from_the_service_is_a_validation_error() -> None:
    from google.api_core import exceptions

    jobs = CloudSchedulerJobs("p", LOCATION, client=FailingClient(exceptions.InvalidArgument("bad uri")))
    with pytest.raises(ValidationError):
        jobs.create(special_job())


def test_an_unreachable_endpoint_is_store_unavailable() -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    jobs = CloudSchedulerJobs("p", LOCATION, endpoint=f"http://127.0.0.1:{port}")
    with pytest.raises(StoreUnavailable):
        jobs.create(special_job())


# --- the fake's own hooks ---------------------------------------------------------------------


def test_fake_counts_calls_and_fails_on_demand() -> None:
    fake = InMemoryJobScheduler()
    fake.fail_next("create", StoreUnavailable("down"), times=2)
    for _ in range(2):
        with pytest.raises(StoreUnavailable):
            fake.create(special_job())
    assert fake.create(special_job()) is True
    fake.get("special-send-special-1-20261124-0700")
    assert fake.calls == {"create": 3, "get": 1}
