"""The embedded scheduler fires its jobs like Cloud Scheduler would, on a ManualClock."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.adapters.local.embedded_scheduler import EmbeddedScheduler
from shared.clock import ManualClock
from shared.domain.cron import one_shot_cron
from shared.ports import HttpJob

START = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
SEND_AT = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
TOKEN = "local-shared-secret-for-tests"


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    timeout_s: float


@dataclass
class RecordingSender:
    """Answers every request with the next status of `statuses` (the last one repeats)."""

    statuses: list[int] = field(default_factory=lambda: [200])
    requests: list[Request] = field(default_factory=list)
    on_request: Callable[[Request], object] | None = None

    def __call__(self, method: str, url: str, headers: Mapping[str, str], body: bytes, timeout_s: float) -> int:
        request = Request(method, url, dict(headers), body, timeout_s)
        self.requests.append(request)
        if self.on_request:
            self.on_request(request)
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]


def send_job(instant: datetime = SEND_AT, *, retry_count: int = 3, name: str = "special-send-s1") -> HttpJob:
    schedule, zone = one_shot_cron(instant)
    return HttpJob(
        name=name,
        schedule=schedule,
        time_zone=zone,
        uri="http://127.0.0.1:8080/send-special-schedule",
        body={"session_id": "special_1_20261124_0700"},
        retry_count=retry_count,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "local.sqlite3"


@pytest.fixture
def scheduler(db: Path, clock: ManualClock, sender: RecordingSender) -> EmbeddedScheduler:
    return EmbeddedScheduler(db, clock, auth_token=TOKEN, sender=sender)


def test_fires_at_its_minute_and_not_before(
    scheduler: EmbeddedScheduler, clock: ManualClock, sender: RecordingSender
) -> None:
    scheduler.create(send_job())
    assert scheduler.next_run("special-send-s1") == SEND_AT
    clock.set(SEND_AT - timedelta(seconds=1))
    assert scheduler.run_due() == []
    clock.set(SEND_AT)
    results = scheduler.run_due()
    assert [(r.name, r.scheduled_time, r.status, r.attempt) for r in results] == [("special-send-s1", SEND_AT, 200, 1)]
    assert len(sender.requests) == 1


def test_sends_cloud_scheduler_headers_and_the_json_body(scheduler: EmbeddedScheduler, sender: RecordingSender) -> None:
    scheduler.create(send_job())
    scheduler.run_due(SEND_AT + timedelta(seconds=3))
    (request,) = sender.requests
    assert request.method == "POST"
    assert request.url == "http://127.0.0.1:8080/send-special-schedule"
    assert json.loads(request.body) == {"session_id": "special_1_20261124_0700"}
    assert request.headers == {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Type": "application/json",
        "User-Agent": "Google-Cloud-Scheduler",
        "X-CloudScheduler": "true",
        "X-CloudScheduler-JobName": "special-send-s1",
        "X-CloudScheduler-ScheduleTime": "2026-11-24T05:00:00Z",
    }
    assert request.timeout_s == 320


def test_no_authorization_header_without_a_token(db: Path, clock: ManualClock, sender: RecordingSender) -> None:
    scheduler = EmbeddedScheduler(db, clock, auth_token=None, sender=sender)
    scheduler.create(send_job())
    scheduler.run_due(SEND_AT)
    assert "Authorization" not in sender.requests[0].headers


def test_a_job_survives_a_restart(db: Path, clock: ManualClock, sender: RecordingSender) -> None:
    EmbeddedScheduler(db, clock, auth_token=TOKEN, sender=RecordingSender()).create(send_job())
    restarted = EmbeddedScheduler(db, clock, auth_token=TOKEN, sender=sender)
    assert restarted.get("special-send-s1") == send_job()
    assert restarted.run_due(SEND_AT - timedelta(minutes=1)) == []
    assert [r.status for r in restarted.run_due(SEND_AT)] == [200]
    assert [r.headers["X-CloudScheduler-JobName"] for r in sender.requests] == ["special-send-s1"]


def test_a_job_missed_while_down_fires_once_then_resumes_its_schedule(
    db: Path, clock: ManualClock, sender: RecordingSender
) -> None:
    hourly = HttpJob(name="hourly", schedule="0 * * * *", time_zone="Europe/Warsaw", uri="http://127.0.0.1:1/x")
    clock.set(START + timedelta(minutes=10))
    EmbeddedScheduler(db, clock, auth_token=TOKEN, sender=sender).create(hourly)
    # Down from 04:10 to 09:10: five runs (05:00 ... 09:00) were missed.
    restarted = EmbeddedScheduler(db, clock, auth_token=TOKEN, sender=sender)
    back = datetime(2026, 11, 24, 9, 10, tzinfo=UTC)
    results = restarted.run_due(back)
    assert [r.scheduled_time for r in results] == [datetime(2026, 11, 24, 5, 0, tzinfo=UTC)]
    assert restarted.run_due(back + timedelta(seconds=30)) == []
    assert restarted.next_run("hourly") == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert len(sender.requests) == 1


def test_a_one_shot_job_that_is_not_deleted_waits_a_year(scheduler: EmbeddedScheduler) -> None:
    scheduler.create(send_job())
    scheduler.run_due(SEND_AT)
    assert scheduler.run_due(SEND_AT + timedelta(days=1)) == []
    assert scheduler.next_run("special-send-s1") == SEND_AT.replace(year=2027)


def test_a_job_created_for_the_current_minute_fires_at_once(scheduler: EmbeddedScheduler, clock: ManualClock) -> None:
    clock.set(SEND_AT)
    scheduler.create(send_job(SEND_AT))
    assert [r.scheduled_time for r in scheduler.run_due()] == [SEND_AT]


def test_retries_non_2xx_with_backoff_on_the_clock(scheduler: EmbeddedScheduler, sender: RecordingSender) -> None:
    sender.statuses = [500, 503, 200]
    scheduler.create(send_job(retry_count=3))
    first = scheduler.run_due(SEND_AT)
    assert [(r.status, r.attempt, r.will_retry) for r in first] == [(500, 1, True)]
    assert scheduler.next_run("special-send-s1") == SEND_AT + timedelta(seconds=60)
    assert scheduler.run_due(SEND_AT + timedelta(seconds=59)) == []
    second = scheduler.run_due(SEND_AT + timedelta(seconds=60))
    assert [(r.status, r.attempt, r.will_retry) for r in second] == [(503, 2, True)]
    assert scheduler.run_due(SEND_AT + timedelta(seconds=179)) == []  # then 120 s after the second
    third = scheduler.run_due(SEND_AT + timedelta(seconds=180))
    assert [(r.status, r.attempt, r.will_retry) for r in third] == [(200, 3, False)]
    assert scheduler.run_due(SEND_AT + timedelta(hours=1)) == []
    # Every attempt carries the same schedule time: the handler's de-duplication key.
    assert {r.headers["X-CloudScheduler-ScheduleTime"] for r in sender.requests} == {"2026-11-24T05:00:00Z"}
    assert [(h.status, h.scheduled_time) for h in scheduler.history] == [(500, SEND_AT), (503, SEND_AT), (200, SEND_AT)]


def test_stops_after_retry_count_retries(scheduler: EmbeddedScheduler, sender: RecordingSender) -> None:
    sender.statuses = [503]
    scheduler.create(send_job(retry_count=1))
    scheduler.run_due(SEND_AT)
    last = scheduler.run_due(SEND_AT + timedelta(seconds=60))
    assert [(r.status, r.attempt, r.will_retry) for r in last] == [(503, 2, False)]
    assert scheduler.run_due(SEND_AT + timedelta(days=1)) == []
    assert len(sender.requests) == 2


def test_no_answer_counts_as_a_failed_attempt(db: Path, clock: ManualClock) -> None:
    def refused(*_: object) -> int:
        raise ConnectionRefusedError("worker down")

    scheduler = EmbeddedScheduler(db, clock, auth_token=TOKEN, sender=refused)
    scheduler.create(send_job(retry_count=1))
    assert [(r.status, r.will_retry) for r in scheduler.run_due(SEND_AT)] == [(None, True)]


def test_a_job_deleting_itself_while_firing_stays_deleted(
    scheduler: EmbeddedScheduler, sender: RecordingSender
) -> None:
    def handler_deletes_own_job(request: Request) -> None:
        # The worker's handler runs on another thread (a real server) and deletes its job: the
        # scheduler must hold no lock during the call, or this join would time out.
        worker = threading.Thread(target=scheduler.delete, args=(request.headers["X-CloudScheduler-JobName"],))
        worker.start()
        worker.join(timeout=5)
        assert not worker.is_alive(), "delete blocked while the job was firing"

    sender.on_request = handler_deletes_own_job
    sender.statuses = [500]  # even a failure must not bring it back for a retry
    scheduler.create(send_job())
    results = scheduler.run_due(SEND_AT)
    assert [(r.status, r.will_retry) for r in results] == [(500, False)]
    assert scheduler.get("special-send-s1") is None
    assert scheduler.list() == []
    assert scheduler.run_due(SEND_AT + timedelta(minutes=5)) == []


def test_a_job_deleting_itself_in_process_does_not_deadlock(
    scheduler: EmbeddedScheduler, sender: RecordingSender
) -> None:
    # The simulation routes the call to the WSGI app on the same thread.
    sender.on_request = lambda request: scheduler.delete(request.headers["X-CloudScheduler-JobName"])
    scheduler.create(send_job())
    assert [r.status for r in scheduler.run_due(SEND_AT)] == [200]
    assert scheduler.get("special-send-s1") is None


def test_a_job_recreated_under_the_same_name_while_firing_is_left_alone(
    scheduler: EmbeddedScheduler, sender: RecordingSender
) -> None:
    later = SEND_AT + timedelta(hours=2)

    def replace_job(request: Request) -> None:
        scheduler.delete("special-send-s1")
        scheduler.create(send_job(later))

    sender.on_request = replace_job
    sender.statuses = [500]
    scheduler.create(send_job())
    scheduler.run_due(SEND_AT)
    assert scheduler.get("special-send-s1") == send_job(later)
    assert scheduler.next_run("special-send-s1") == later


def test_two_polls_at_once_fire_a_job_once(scheduler: EmbeddedScheduler, sender: RecordingSender) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(request: Request) -> None:
        entered.set()
        release.wait(5)

    sender.on_request = slow
    scheduler.create(send_job())
    first = threading.Thread(target=scheduler.run_due, args=(SEND_AT,))
    first.start()
    assert entered.wait(5)
    assert scheduler.run_due(SEND_AT) == []  # the job is claimed by the first poll
    release.set()
    first.join(5)
    assert len(sender.requests) == 1


def test_a_crash_during_the_call_refires_after_the_attempt_deadline(db: Path, clock: ManualClock) -> None:
    def crash(*_: object) -> int:
        raise KeyboardInterrupt  # stands for the process dying mid-call

    scheduler = EmbeddedScheduler(db, clock, auth_token=TOKEN, sender=crash)
    scheduler.create(send_job())
    with pytest.raises(KeyboardInterrupt):
        scheduler.run_due(SEND_AT)
    sender = RecordingSender()
    restarted = EmbeddedScheduler(db, clock, auth_token=TOKEN, sender=sender)
    assert restarted.run_due(SEND_AT + timedelta(seconds=319)) == []
    results = restarted.run_due(SEND_AT + timedelta(seconds=320))
    assert [(r.status, r.attempt, r.scheduled_time) for r in results] == [(200, 2, SEND_AT)]


def test_fires_due_jobs_in_schedule_order(scheduler: EmbeddedScheduler, sender: RecordingSender) -> None:
    scheduler.create(send_job(SEND_AT + timedelta(minutes=1), name="a-later"))
    scheduler.create(send_job(SEND_AT, name="b-earlier"))
    scheduler.run_due(SEND_AT + timedelta(minutes=5))
    assert [r.headers["X-CloudScheduler-JobName"] for r in sender.requests] == ["b-earlier", "a-later"]


def test_run_due_refuses_a_naive_instant(scheduler: EmbeddedScheduler) -> None:
    with pytest.raises(ValueError, match="aware"):
        scheduler.run_due(datetime(2026, 11, 24, 5, 0))


def test_shares_its_database_file_with_other_tables(db: Path, clock: ManualClock) -> None:
    import sqlite3

    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE documents (id TEXT PRIMARY KEY)")
    scheduler = EmbeddedScheduler(db, clock, auth_token=TOKEN, sender=RecordingSender())
    assert scheduler.create(send_job())
    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"documents", "scheduler_jobs"}


def test_schedulers_of_separate_processes_on_one_file_fire_a_job_once(db: Path, clock: ManualClock) -> None:
    # Each instance has its own in-process lock, so only SQLite's write lock keeps the claim atomic.
    sender = RecordingSender()
    instances = [EmbeddedScheduler(db, clock, auth_token=TOKEN, sender=sender) for _ in range(8)]
    instances[0].create(send_job())
    barrier = threading.Barrier(len(instances))
    errors: list[Exception] = []

    def poll(scheduler: EmbeddedScheduler) -> None:
        barrier.wait(5)
        try:
            scheduler.run_due(SEND_AT)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poll, args=(scheduler,)) for scheduler in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert len(sender.requests) == 1
