"""One quiet day counted by hand: the car stays at home, plugged in, already at its limit.

What must happen, from the production crons and the services' rules:
- 00:00 the failsafe /run-cycle (its job sorts before the scout's) finds the car asleep, wakes it
  (1 wake) and reads it (1 vehicle_data): at its limit, nothing to send. The worker's first token
  use refreshes the bootstrap refresh token (token refresh 1).
- 00:00 the scout's first tick sees the car online for the first time: vehicle_data (data 2),
  worker triggered (first_detection) with that charge state — no further Tesla call.
- 00:15 the car is still awake (last touched 00:00:20, sleeps 15 min later): same state, no call.
- 00:30 it sleeps: online → asleep is a change, the worker is triggered and skips (asleep).
- 08:00 and 16:00 the 8-hour access token runs out: the scout asks the worker's /refresh-tokens.
- 23:00 the daily check: no needs.
- 96 scout ticks in all; each refresh adds a secret version, the worker keeps the newest two.
"""

from __future__ import annotations

from typing import Any

import pytest

from simulator.month import run_simulation
from simulator.report import build_report
from simulator.scenario import DEFAULT_SCENARIO, load_scenario


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return build_report(run_simulation(load_scenario(DEFAULT_SCENARIO.parent / "home_day.yaml"), days=1, seed=1))


def test_cloud_scheduler_fired_each_static_job_at_its_times(report: dict[str, Any]) -> None:
    assert report["scout_invocations"] == 96
    assert report["scheduler_job_runs"] == {
        "tesla-daily-special-charging-check": 1,
        "tesla-run-cycle-failsafe": 1,
        "tesla-scout-every-15-min": 96,
    }


def test_the_worker_was_called_six_times(report: dict[str, Any]) -> None:
    assert report["worker_invocations_by_path"] == {
        "/daily-special-charging-check": 1,
        "/refresh-tokens": 2,
        "/run-cycle": 1,
        "/scout-trigger": 2,
    }
    assert report["worker_invocations"] == 6


def test_tesla_billed_one_wake_two_reads_and_no_command(report: dict[str, Any]) -> None:
    assert report["tesla_billable"] == {"data": 2, "commands": 0, "wakes": 1}
    assert report["tesla_cost_usd"] == pytest.approx(2 / 500 + 1 / 50)
    assert report["tesla_other_requests"]["token_refreshes_free"] == 3
    # one state call per scout tick; the failsafe checks once and polls every 5 s while the car takes 20 s
    # to wake (4 polls); the 00:30 trigger, which brings no charge state, checks once
    assert report["tesla_other_requests"]["state_calls_free"] == 96 + 1 + 4 + 1


def test_secret_versions_stay_bounded(report: dict[str, Any]) -> None:
    secrets = report["secret_manager"]
    assert secrets["versions_added"] == 4  # the bootstrap record, then the refreshes at 00:00, 08:00, 16:00
    assert secrets["versions_destroyed"] == 2 and secrets["enabled_versions_end"] == 2


def test_scheduler_jobs_and_nothing_else(report: dict[str, Any]) -> None:
    jobs = report["cloud_scheduler"]
    assert jobs["jobs_created"] == 3 and jobs["one_shot_jobs_created"] == 0
    assert jobs["job_days"] == 3 and jobs["jobs_alive_end"] == 3


def test_nothing_charged_and_no_special_session(report: dict[str, Any]) -> None:
    assert report["energy_kwh"] == 0 and report["energy_cost"]["planned"] == 0
    assert report["special_sessions"]["completed"] == report["special_sessions"]["failed"] == 0
    assert report["charge_limit_restored"]["of"] == 0
