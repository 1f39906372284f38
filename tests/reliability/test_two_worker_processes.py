"""Two real worker processes on one store (the local backend's SQLite and token file), hit at once.

Cloud Run may run two instances, and Cloud Scheduler may deliver one job twice at the same moment:
one Tesla refresh between them, one session per need, one set of commands per send job.
(tests/integration/test_two_workers.py covers concurrent /get-token and restarts.)
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from shared.adapters.local.sqlite_store import SqliteDocumentStore
from shared.clock import SystemClock
from shared.domain import session as S
from simulator.tesla_sim import SimConfig, TeslaSim, serve_in_thread
from tests.support.worker_processes import HOME, VIN, command_key_pem, start_workers, stop_workers

TOKEN = "two-processes-shared-secret-0123456789"
WARSAW = ZoneInfo("Europe/Warsaw")


@dataclass
class Pair:
    sim: TeslaSim
    state: Path
    urls: list[str]

    def call(self, url: str, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        answer = requests.request(
            method, url + path, json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120
        )
        return answer.status_code, answer.json()

    def at_once(self, method: str, path: str, body: Any = None, per_process: int = 4) -> list[tuple[int, Any]]:
        """The same request to both processes, `per_process` times each, all at the same moment."""
        targets = self.urls * per_process
        with ThreadPoolExecutor(max_workers=len(targets)) as pool:
            return list(pool.map(lambda url: self.call(url, method, path, body), targets))


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    # Awake and staying awake: no real-time wake-up waits in these tests.
    sim = TeslaSim(SystemClock(), refresh_token="EU_bootstrap", client_id="client", config=SimConfig(idle_sleep_s=3600))
    sim.add_vehicle(
        VIN, asleep=False, battery_level=40, charge_limit=80, plugged_in=True, latitude=HOME[0], longitude=HOME[1]
    )
    sim.register_app_key(command_key_pem(tmp_path / "state"))  # the car needs signed commands
    with serve_in_thread(sim) as running:
        workers = start_workers(tmp_path / "state", running.url, 2, token=TOKEN)
        try:
            yield Pair(sim, tmp_path / "state", [url for _, url in workers])
        finally:
            stop_workers(workers)


def commands(sim: TeslaSim) -> list[str]:
    return [r.command for r in sim.requests() if r.command is not None and r.status < 500]


def test_refresh_requests_to_both_processes_at_once_refresh_tesla_tokens_once(pair: Pair) -> None:
    answers = pair.at_once("POST", "/refresh-tokens", {"reason": "concurrency test"})
    assert {status for status, _ in answers} <= {200, 429}
    assert sum(1 for status, body in answers if status == 200 and body["refreshed"]) == 1
    counters = pair.sim.counters()
    assert counters["token_refreshes"] == 1 and counters["rejected_refreshes"] == 0


def test_the_daily_check_in_both_processes_at_once_creates_one_session_and_one_set_of_jobs(pair: Pair) -> None:
    departure = (datetime.now(UTC) + timedelta(hours=30)).replace(second=0, microsecond=0)
    status, body = pair.call(
        pair.urls[0], "POST", "/special-charging-needs", {"target_soc": 90, "departure": departure.isoformat()}
    )
    assert status == 201, body
    answers = pair.at_once("POST", "/daily-special-charging-check", per_process=3)
    assert all(status == 200 for status, _ in answers), answers
    assert sum(len(body["sessions"]) for _, body in answers) == 1
    sessions = pair.call(pair.urls[1], "GET", "/special-charging-sessions")[1]["sessions"]
    assert [s["session_id"] for s in sessions] == [S.session_id_for(1, departure, WARSAW)]
    jobs = sorted(j["name"] for j in pair.call(pair.urls[0], "GET", "/scheduler-jobs")[1]["jobs"])
    if sessions[0]["status"] == "SCHEDULED":
        assert [j.split("-")[1] for j in jobs] == ["cleanup", "send"] and commands(pair.sim) == []
    else:  # the send time had already passed: sent at once, exactly once
        assert sessions[0]["status"] == "ACTIVE" and [j.split("-")[1] for j in jobs] == ["cleanup"]
        assert sorted(commands(pair.sim)) == ["add_charge_schedule", "set_charge_limit"]


def test_one_send_job_delivered_to_both_processes_at_once_sends_one_set_of_commands(pair: Pair) -> None:
    now = datetime.now(UTC)
    start, end = now + timedelta(hours=3), now + timedelta(hours=6)
    plan = {
        "windows": [{"start": start.isoformat(), "end": end.isoformat()}],
        "charging_start": start.isoformat(),
        "charging_end": end.isoformat(),
        "send_schedule_at": (start - timedelta(hours=2)).isoformat(),
        "estimated_cost": 10.0,
        "feasible": True,
    }
    departure = end + timedelta(hours=1)
    session_id = S.session_id_for(7, departure, WARSAW)
    need = {"need_id": "need_7", "vin": VIN, "target_soc": 90, "departure": departure.isoformat()}
    record = S.new_session(
        session_id=session_id,
        need=need,
        plan=plan,
        cleanup_at=end + timedelta(minutes=30),
        send_job_name=f"special-send-{session_id.replace('_', '-')}",
        cleanup_job_name=f"special-cleanup-{session_id.replace('_', '-')}",
        now=now,
        tz=WARSAW,
    )
    SqliteDocumentStore(pair.state / "documents.sqlite3").set("special_charging_sessions", session_id, record)

    answers = pair.at_once("POST", "/send-special-schedule", {"session_id": session_id})
    # one run sends; a delivery that finds it mid-way answers 503 in_progress and is retried later
    assert all(status == 200 or (status == 503 and body["in_progress"]) for status, body in answers), answers
    assert any(status == 200 and not body.get("in_progress") for status, body in answers)
    assert sorted(commands(pair.sim)) == ["add_charge_schedule", "set_charge_limit"]
    done = pair.call(pair.urls[0], "GET", f"/special-charging-sessions/{session_id}")[1]["session"]
    assert done["status"] == "ACTIVE" and done["original_charge_limit"] == 80
    car = pair.sim.snapshot(VIN)
    assert car["charge_limit"] == 90 and len(car["schedules"]) == 1
