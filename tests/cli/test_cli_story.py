"""The issue's "done when", on a worker of its own: add a need, see it planned and in the status, cancel it."""

from __future__ import annotations

import re

from tests.cli.conftest import LocalWorker, cli, cli_env

CLOCK = r"(?:\w{3} )?\d\d:\d\d"  # a window more than a day ahead carries its weekday
TONIGHT = re.compile(
    rf"^tonight: charge {CLOCK}–\d\d:\d\d, \d+\.\d kWh, est\. \d+\.\d\d PLN; "
    r"charging on arrival \d+\.\d\d PLN, saving -?\d+\.\d\d PLN \(-?\d+ %\) "
    r"\[special charging to 90 % by \w{3} 05:30\]( \(charging now\))?$"
)


def test_add_a_need_see_the_plan_and_the_status_then_cancel_it(worker: LocalWorker) -> None:
    env = cli_env(STATE_DIR=str(worker.state))

    def run(*args: str) -> str:
        result = cli("--url", worker.url, *args, env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout

    added = run("need", "add", "90", "--by", "tomorrow 05:30")
    need_id = added.split(":", 1)[0]
    assert re.fullmatch(r"need_\d+", need_id), added

    waiting = run("plan").splitlines()
    assert waiting[-1].startswith(f"waiting: {need_id} (90 % by "), waiting

    assert run("check").startswith("daily check: 1 session(s) created")
    tonight = run("plan").splitlines()
    assert TONIGHT.match(tonight[0]), tonight

    status = run("status")
    assert re.search(rf"^need {need_id}  90 % by \w{{3}} 05:30  PLANNED  session special_", status, re.MULTILINE)
    assert re.search(r"^session (next|active): special_\S+ (SCHEDULED|ACTIVE), 90 % by ", status, re.MULTILINE)
    assert re.search(r"^  special-cleanup-special-\S+: \w{3} \d\d:\d\d -> /cleanup-single-session$", status, re.M)
    assert f"  tonight: {tonight[0].removeprefix('tonight: ')}" in status.splitlines()

    assert run("need", "cancel", need_id).startswith(f"{need_id} cancelled (90 % by ")
    after = run("status").splitlines()
    assert {"needs: none waiting", "sessions: none active or planned", "jobs: none"} <= set(after), after
    assert run("plan") == "tonight: nothing planned\n"
