"""The status page in a real browser: headless Debian chromium against `make run`'s processes.

`python -m simulator.run_local` starts the Tesla simulator, the worker (with its embedded scheduler)
and the scout on free loopback ports. The owner plugs the car in, the scout sees it, the worker plans
the night; then the browser opens the login link `make run` printed, finds tonight's plan drawn on
the price curve, adds a need through the form and sees it listed. Screenshots of the page at desktop
and phone widths are written to test-artifacts/.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.browser.webdriver import browser_paths, chromium, free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
VIN = "5YJ3E7EB2NF000001"
WARSAW = ZoneInfo("Europe/Warsaw")
LOGIN_LINE = re.compile(r"(http://127\.0\.0\.1:\d+/login\?token=\S+)")
# Settings from the caller's environment that would change what `make run` starts.
FOREIGN_PREFIXES = ("WORKER_", "TESLA_", "OFFPEAK_", "HOME_", "RUN_", "STATE_DIR", "BACKEND", "READY_BY")


def require_chromium() -> None:
    """Chromium and its driver are Debian packages .ci/run installs; missing them is loud, and fatal in CI."""
    if browser_paths() is not None:
        return
    message = (
        "headless Chromium is not installed (apt-get install chromium chromium-driver): "
        "the status page's browser test did NOT run"
    )
    print(f"\n*** {message} ***", file=sys.stderr)
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " — CI=true requires it")
    pytest.skip(message)


@dataclass
class LocalRun:
    login_link: str
    worker: str
    scout: str
    simulator: str
    token: str


@pytest.fixture
def local_run(tmp_path: Path) -> Iterator[LocalRun]:
    """`make run` on free ports with a fresh STATE_DIR; everything it started is stopped afterwards."""
    sim_port, worker_port, scout_port = free_port(), free_port(), free_port()
    state = tmp_path / "state"
    # Ready by 10 hours from now: tonight's plan has hours to choose from whenever the test runs.
    ready_by = (datetime.now(WARSAW) + timedelta(hours=10)).strftime("%H:%M")
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_PREFIXES)}
    env.update(
        {
            "STATE_DIR": str(state),
            "BACKEND": "local",
            "READY_BY": ready_by,
            "RUN_SIMULATOR_PORT": str(sim_port),
            "RUN_WORKER_PORT": str(worker_port),
            "RUN_SCOUT_PORT": str(scout_port),
        }
    )
    log_path = tmp_path / "make-run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "simulator.run_local"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        link = _wait_for_login_link(process, log_path)
        yield LocalRun(
            login_link=link,
            worker=f"http://127.0.0.1:{worker_port}",
            scout=f"http://127.0.0.1:{scout_port}",
            simulator=f"http://127.0.0.1:{sim_port}",
            token=(state / "worker-api-token").read_text().strip(),
        )
    finally:
        # As Ctrl-C would: run_local stops its three children itself.
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_for_login_link(process: subprocess.Popen[bytes], log_path: Path) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = LOGIN_LINE.search(log_path.read_text(errors="replace"))
        if found:
            return found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.2)
    tail = log_path.read_text(errors="replace")[-3000:]
    raise AssertionError(f"make run did not print its login link:\n{tail}")


def _plan_tonight(run: LocalRun) -> dict[str, object]:
    """The owner plugs the car in (it wakes); the scout's tick sees it at home and the worker plans the night."""
    bearer = {"Authorization": f"Bearer {run.token}"}
    # The first Tesla token, as the scout would ask for it (its tick asks at most once a minute).
    requests.post(f"{run.worker}/refresh-tokens", headers=bearer, json={}, timeout=30).raise_for_status()
    requests.post(f"{run.simulator}/sim/vehicles/{VIN}/soc", json={"percent": 40}, timeout=10).raise_for_status()
    requests.post(f"{run.simulator}/sim/vehicles/{VIN}/plug", json={"plugged": True}, timeout=10).raise_for_status()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        requests.post(f"{run.scout}/", headers=bearer, json={}, timeout=30)
        status = requests.get(f"{run.worker}/status", headers=bearer, timeout=30).json()
        tonight = status["vehicles"][0]["tonight"]
        if tonight and tonight["windows"]:
            return dict(tonight)
        time.sleep(0.5)
    raise AssertionError(f"no plan for tonight: {status}")


def test_the_owner_logs_in_sees_tonights_plan_and_adds_a_need(local_run: LocalRun, tmp_path: Path) -> None:
    require_chromium()
    started = time.monotonic()
    tonight = _plan_tonight(local_run)
    with chromium(tmp_path / "chromium-profile") as browser:
        browser.resize(1280, 900)
        browser.open(local_run.login_link)
        assert browser.url() == f"{local_run.worker}/"  # the token left the address bar with the redirect

        chart = browser.find("svg.plan-chart")
        windows = browser.find_all("svg.plan-chart rect.window")
        assert len(windows) == len(tonight["windows"])  # type: ignore[arg-type]
        assert browser.find_all("svg.plan-chart path.price")
        width = browser.script("return arguments[0].getBoundingClientRect().width", chart)
        assert width > 300  # drawn, not collapsed
        assert "Tonight" in browser.text(browser.find("#tonight-1 h2"))

        departure = (datetime.now(WARSAW) + timedelta(days=2)).date().isoformat()
        target = browser.find("#add-need input[name=target_soc]")
        browser.clear(target)
        browser.type(target, "90")
        # Date and time pickers take typed digits in the browser's locale; set their values as a picker would.
        browser.script(f"arguments[0].value = '{departure}'", browser.find("#add-need input[name=departure_date]"))
        browser.script("arguments[0].value = '06:30'", browser.find("#add-need input[name=departure_time]"))
        browser.click(browser.find("#add-need button[type=submit]"))

        assert browser.url() == f"{local_run.worker}/"  # Post/Redirect/Get
        flash = browser.text(browser.find(".flash"))
        assert flash.startswith("Need need_1 added: 90 % by") and "06:30" in flash
        rows = [browser.text(row) for row in browser.find_all("tr.need-row")]
        assert len(rows) == 1 and "need_1" in rows[0] and "90 %" in rows[0] and "PENDING" in rows[0]

        browser.screenshot(ARTIFACTS / "status-page.png", 1280)
        browser.screenshot(ARTIFACTS / "status-page-phone.png", 390)
        # Readable on a phone: one column, sections stacked at the same left edge.
        lefts = browser.script(
            "return ['#needs', '#health', '#usage'].map(s => document.querySelector(s).getBoundingClientRect().left)"
        )
        assert len(set(lefts)) == 1, lefts
    assert (ARTIFACTS / "status-page.png").stat().st_size > 10_000
    bearer = {"Authorization": f"Bearer {local_run.token}"}
    needs = requests.get(f"{local_run.worker}/special-charging-needs", headers=bearer, timeout=10).json()["needs"]
    assert [(n["need_id"], n["target_soc"]) for n in needs] == [("need_1", 90)]
    print(f"\nbrowser test: {time.monotonic() - started:.1f} s after make run was up")
