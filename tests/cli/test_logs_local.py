"""`logs` without Cloud Logging: where the local logs are, and the same filters over a saved `make run` log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from offpeak_cli.logs import LOCAL_HINT
from tests.cli.conftest import cli, cli_env, one_line_error


def entry(age: timedelta, component: str, severity: str, text: str) -> str:
    at = (datetime.now(UTC) - age).isoformat()
    return json.dumps({"severity": severity, "message": f"[{component}] {text}", "component": component, "time": at})


def saved_log(tmp_path: Path) -> Path:
    path = tmp_path / "run.log"
    path.write_text(
        "\n".join(
            [
                "tesla-offpeak is running locally (state in .local-state):",  # make run's own help text
                entry(timedelta(hours=3), "SPECIAL", "WARNING", "too old for --since 2h"),
                entry(timedelta(hours=1), "SPECIAL", "INFO", "need need_1 registered"),
                entry(timedelta(minutes=30), "WORKER", "ERROR", "cycle failed"),
                entry(timedelta(minutes=10), "SPECIAL", "WARNING", "send retried"),
                '127.0.0.1 - - [01/Dec/2026 21:00:00] "GET /health HTTP/1.1" 200 -',
                "{not json",
            ]
        )
        + "\n"
    )
    return path


def test_local_logs_say_where_the_local_services_write_them(tmp_path: Path) -> None:
    env = cli_env(STATE_DIR=str(tmp_path))
    (tmp_path / "worker-api-token").write_text("local-secret-0123456789")
    assert one_line_error(cli("logs", env=env), 1) == f"tesla-offpeak: {LOCAL_HINT}"


def test_a_saved_log_is_filtered_by_since_component_and_severity(tmp_path: Path) -> None:
    env = cli_env(STATE_DIR=str(tmp_path))
    path = str(saved_log(tmp_path))
    special = cli("logs", "--file", path, "--component", "SPECIAL", env=env)
    assert special.returncode == 0, special.stderr
    lines = special.stdout.splitlines()
    assert [line.split("  ", 1)[1] for line in lines] == [
        "INFO     [SPECIAL] need need_1 registered",
        "WARNING  [SPECIAL] send retried",
    ]
    worse = cli("logs", "--file", path, "--severity", "warning", "--since", "4h", "--json", env=env)
    assert [r["message"] for r in json.loads(worse.stdout)] == [
        "[SPECIAL] too old for --since 2h",
        "[WORKER] cycle failed",
        "[SPECIAL] send retried",
    ]
    last = cli("logs", "--file", path, "--limit", "1", env=env)
    assert last.stdout.endswith("[SPECIAL] send retried\n") and len(last.stdout.splitlines()) == 1


def test_a_missing_log_file_is_one_line(tmp_path: Path) -> None:
    result = cli("logs", "--file", str(tmp_path / "nope.log"), env=cli_env(STATE_DIR=str(tmp_path)))
    assert one_line_error(result, 1) == f"tesla-offpeak: cannot read {tmp_path / 'nope.log'}: No such file or directory"
