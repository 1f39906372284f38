"""The command line against a real local worker, as after `make run`: add a need, see plan and status, cancel it.

GET /status (plan, status) is being built beside this; until the worker serves it, those tests fail
with the command line's own line saying so.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

from tests.cli.conftest import TOKEN, LocalWorker, cli, cli_env, one_line_error
from tests.support.worker_processes import VIN, free_port

WARSAW = ZoneInfo("Europe/Warsaw")
NEED_LINE = re.compile(
    r"^(need_\d+): 90 % by \w{3} 05:30; plan: charge \d\d:\d\d–\d\d:\d\d, \d+\.\d kWh, est\. \d+\.\d\d PLN$"
)


def local(worker: LocalWorker, state: Path | None = None) -> dict[str, str]:
    return cli_env(STATE_DIR=str(state or worker.state))


def worker_needs(worker: LocalWorker) -> dict[str, dict[str, object]]:
    answer = requests.get(
        f"{worker.url}/special-charging-needs", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    )
    return {n["need_id"]: n for n in answer.json()["needs"]}


def add_need(worker: LocalWorker, *extra: str) -> str:
    result = cli("--url", worker.url, "need", "add", "90", "--by", "tomorrow 05:30", *extra, env=local(worker))
    assert result.returncode == 0, result.stderr
    match = NEED_LINE.match(result.stdout.strip())
    assert match, result.stdout
    return match[1]


def test_need_add_registers_the_need_in_the_household_zone_and_answers_with_the_plan_and_its_cost(
    worker: LocalWorker,
) -> None:
    need_id = add_need(worker)
    stored = worker_needs(worker)[need_id]
    departure = datetime.fromisoformat(str(stored["departure"]))
    tomorrow = datetime.now(WARSAW).date() + timedelta(days=1)
    assert departure.astimezone(WARSAW).replace(tzinfo=None) == datetime(
        tomorrow.year, tomorrow.month, tomorrow.day, 5, 30
    )
    assert stored["target_soc"] == 90 and stored["status"] == "PENDING"


def test_need_list_shows_the_need_and_cancel_cancels_it(worker: LocalWorker) -> None:
    need_id = add_need(worker)
    listed = cli("--url", worker.url, "need", "list", env=local(worker))
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith(need_id + " "))
    assert re.search(r"90 % by \w{3} 05:30\s+PENDING$", line), line

    cancelled = cli("--url", worker.url, "need", "cancel", need_id, env=local(worker))
    assert cancelled.returncode == 0, cancelled.stderr
    assert re.fullmatch(rf"{need_id} cancelled \(90 % by \w{{3}} 05:30\)\n", cancelled.stdout)
    assert worker_needs(worker)[need_id]["status"] == "CANCELLED"
    again = cli("--url", worker.url, "need", "cancel", need_id, env=local(worker))
    assert again.returncode == 0 and "was already cancelled" in again.stdout


def test_json_gives_the_workers_answers_for_scripts(worker: LocalWorker) -> None:
    added = cli("--url", worker.url, "--json", "need", "add", "80", "--by", "tomorrow 06:00", env=local(worker))
    assert added.returncode == 0, added.stderr
    body = json.loads(added.stdout)
    assert body["need"]["target_soc"] == 80 and body["need"]["need_id"].startswith("need_")
    assert body["plan"]["target_soc"] == 80 and body["plan"]["currency"] == "PLN"
    assert body["plan"]["current_soc"] == 40  # read from the car by the worker, not typed
    listed = cli("need", "list", "--json", "--url", worker.url, env=local(worker))  # options after the command too
    assert body["need"]["need_id"] in {n["need_id"] for n in json.loads(listed.stdout)["needs"]}


def test_check_runs_the_daily_check_and_shows_the_session_it_created(worker: LocalWorker) -> None:
    need_id = add_need(worker)
    result = cli("--url", worker.url, "check", env=local(worker))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"daily check: [1-9]\d* session\(s\) created", lines[0]), result.stdout
    assert any(f"({need_id}, " in line and "90 % by" in line and " charge " in line for line in lines[1:])
    assert cli("--url", worker.url, "need", "cancel", need_id, env=local(worker)).returncode == 0


def test_plan_shows_tonight_with_kwh_cost_and_the_saving(worker: LocalWorker) -> None:
    result = cli("--url", worker.url, "plan", env=local(worker))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("tonight: "), result.stdout
    json_result = cli("--url", worker.url, "plan", "--json", env=local(worker))
    assert json_result.returncode == 0 and "vehicles" in json.loads(json_result.stdout)


def test_status_shows_the_car_tokens_jobs_and_failures(worker: LocalWorker) -> None:
    result = cli("--url", worker.url, "status", env=local(worker))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("worker: ")
    assert re.search(rf"^car {VIN}: .*, plugged in, .*, battery 40 %, limit 80 % \(read ", out, re.MULTILINE), out
    assert re.search(r"^  signing: auto", out, re.MULTILINE)
    assert re.search(r"^  tonight: ", out, re.MULTILINE)
    assert re.search(r"^Tesla tokens: ok", out, re.MULTILINE)
    assert re.search(r"^jobs:", out, re.MULTILINE) and re.search(r"^last failures: ", out, re.MULTILINE)
    body = json.loads(cli("--url", worker.url, "--json", "status", env=local(worker)).stdout)
    assert body["vehicles"][0]["vin"] == VIN


def test_an_unreachable_worker_is_one_line_asking_whether_make_run_is_up(worker: LocalWorker) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    line = one_line_error(cli("--local", "--url", url, "need", "list", env=local(worker)), 1)
    assert line == f"tesla-offpeak: worker unreachable at {url}: is `make run` up?"


def test_a_worker_with_another_token_answers_403_and_the_line_says_which_token(
    worker: LocalWorker, tmp_path: Path
) -> None:
    other = tmp_path / "other-state"
    other.mkdir()
    (other / "worker-api-token").write_text("a-token-from-another-checkout-0123")
    line = one_line_error(cli("--url", worker.url, "need", "list", env=local(worker, other)), 1)
    assert f"refused the token from {other / 'worker-api-token'} (403)" in line
    assert "same STATE_DIR" in line


def test_without_a_local_token_the_line_says_to_start_make_run(tmp_path: Path) -> None:
    line = one_line_error(cli("--local", "need", "list", env=cli_env(STATE_DIR=str(tmp_path))), 1)
    assert line == f"tesla-offpeak: no local worker token at {tmp_path / 'worker-api-token'}: start the local " + (
        "system with `make run` (or use --project for the deployed worker)"
    )


def test_a_bad_time_is_a_usage_error_before_anything_is_sent(worker: LocalWorker) -> None:
    before = set(worker_needs(worker))
    line = one_line_error(cli("--url", worker.url, "need", "add", "90", "--by", "05:70", env=local(worker)), 2)
    assert line == "tesla-offpeak: --by: 05:70 is not a time of day: minutes go from 00 to 59"
    assert set(worker_needs(worker)) == before


def test_a_need_in_the_past_is_refused(worker: LocalWorker) -> None:
    before = set(worker_needs(worker))
    result = cli("--url", worker.url, "need", "add", "90", "--by", "2020-01-01T05:00", env=local(worker))
    line = one_line_error(result, 2)
    assert line.startswith("tesla-offpeak: --by: 2020-01-01T05:00 is in the past (Wed 01 Jan 2020 05:00 +01:00; now ")
    assert set(worker_needs(worker)) == before


def test_a_target_outside_50_to_100_is_refused(worker: LocalWorker) -> None:
    result = cli("--url", worker.url, "need", "add", "40", "--by", "tomorrow 05:30", env=local(worker))
    assert one_line_error(result, 2) == "tesla-offpeak: target_soc must be between 50 and 100, got 40"


def test_the_workers_own_400_is_passed_on_as_its_message(worker: LocalWorker) -> None:
    far = (datetime.now(WARSAW) + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M")
    result = cli("--url", worker.url, "need", "add", "90", "--by", far, env=local(worker))
    assert one_line_error(result, 2) == "tesla-offpeak: worker: departure must be within a year"
    unknown = cli("--url", worker.url, "need", "cancel", "need_99999", env=local(worker))
    assert one_line_error(unknown, 2) == "tesla-offpeak: worker: No special-charging need need_99999"


def test_tz_reads_the_time_in_another_zone_and_an_unknown_zone_is_a_usage_error(worker: LocalWorker) -> None:
    new_york = ZoneInfo("America/New_York")
    day = datetime.now(new_york).date() + timedelta(days=2)
    expected = datetime(day.year, day.month, day.day, 5, 30, tzinfo=new_york).isoformat()
    by = f"{day.isoformat()}T05:30"
    result = cli(
        "--url", worker.url, "--json", "--tz", "America/New_York", "need", "add", "90", "--by", by, env=local(worker)
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["need"]["departure"] == expected
    bad = cli("--url", worker.url, "--tz", "Mars/Olympus", "need", "add", "90", "--by", "05:30", env=local(worker))
    assert (
        one_line_error(bad, 2)
        == "tesla-offpeak: unknown time zone 'Mars/Olympus': use an IANA name such as Europe/Warsaw"
    )
