"""The embedded scheduler's background thread really sends its jobs over loopback HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from shared.adapters.local.embedded_scheduler import EmbeddedScheduler
from shared.clock import ManualClock
from shared.domain.cron import one_shot_cron
from shared.ports import HttpJob

SEND_AT = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
TOKEN = "loopback-shared-secret"


class RecordingApp:
    """A tiny WSGI app that records every request and answers with the next configured status."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses = [200]
        self.received = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "headers": dict(request.headers),
                "body": request.get_data(),
            }
        )
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        self.received.set()
        return Response(json.dumps({"status": "ok"}), status=status, mimetype="application/json")(
            environ, start_response
        )


@pytest.fixture
def app() -> Iterator[tuple[RecordingApp, str]]:
    recording = RecordingApp()
    server = make_server("127.0.0.1", 0, recording, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield recording, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def wait_for(condition: Any, timeout_s: float = 5.0) -> bool:
    """Poll condition every 20 ms until it holds or timeout_s of real time passed."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_background_thread_delivers_the_job_to_a_real_server(app: tuple[RecordingApp, str], tmp_path: Path) -> None:
    recording, base_url = app
    clock = ManualClock(SEND_AT - timedelta(minutes=10))
    scheduler = EmbeddedScheduler(tmp_path / "local.sqlite3", clock, auth_token=TOKEN, poll_interval_s=0.02)
    schedule, zone = one_shot_cron(SEND_AT)
    job = HttpJob(
        name="special-send-special-1-20261124-0600",
        schedule=schedule,
        time_zone=zone,
        uri=f"{base_url}/send-special-schedule",
        body={"session_id": "special_1_20261124_0600"},
    )
    assert scheduler.create(job)
    scheduler.start()
    try:
        assert not recording.received.wait(0.2), "fired before its minute"
        clock.set(SEND_AT)
        assert recording.received.wait(5), "the background thread never delivered the job"
        assert wait_for(lambda: len(scheduler.history) == 1)
    finally:
        scheduler.stop()
    (request,) = recording.requests
    assert request["method"] == "POST"
    assert request["path"] == "/send-special-schedule"
    assert json.loads(request["body"]) == {"session_id": "special_1_20261124_0600"}
    headers = request["headers"]
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "Google-Cloud-Scheduler"
    assert headers["X-Cloudscheduler"] == "true"
    assert headers["X-Cloudscheduler-Jobname"] == "special-send-special-1-20261124-0600"
    assert headers["X-Cloudscheduler-Scheduletime"] == "2026-11-24T05:00:00Z"
    assert [(h.name, h.status) for h in scheduler.history] == [("special-send-special-1-20261124-0600", 200)]


def test_background_thread_retries_a_failing_server(app: tuple[RecordingApp, str], tmp_path: Path) -> None:
    recording, base_url = app
    recording.statuses = [503, 200]
    clock = ManualClock(SEND_AT)
    scheduler = EmbeddedScheduler(tmp_path / "local.sqlite3", clock, auth_token=TOKEN, poll_interval_s=0.02)
    scheduler.create(HttpJob(name="run-cycle", schedule="0 5 * * *", time_zone="Etc/UTC", uri=f"{base_url}/run-cycle"))
    scheduler.start()
    try:
        assert wait_for(lambda: len(recording.requests) == 1)
        clock.advance(timedelta(seconds=60))
        assert wait_for(lambda: len(recording.requests) == 2)
        assert wait_for(lambda: len(scheduler.history) == 2)
    finally:
        scheduler.stop()
    assert [h.status for h in scheduler.history] == [503, 200]


def test_stop_ends_the_thread_and_nothing_fires_afterwards(app: tuple[RecordingApp, str], tmp_path: Path) -> None:
    recording, base_url = app
    clock = ManualClock(SEND_AT - timedelta(minutes=1))
    scheduler = EmbeddedScheduler(tmp_path / "local.sqlite3", clock, auth_token=None, poll_interval_s=0.02)
    scheduler.create(HttpJob(name="later", schedule="0 5 * * *", time_zone="Etc/UTC", uri=f"{base_url}/x"))
    scheduler.start()
    scheduler.stop()
    clock.set(SEND_AT)
    assert not recording.received.wait(0.2)
    assert recording.requests == []
