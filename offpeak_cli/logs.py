"""`logs`: the README's `gcloud logging read` recipes for the deployed services, or the same filters over a saved local log.

Locally the worker, scout and simulator of `make run` write their JSON lines to that terminal and
nowhere else, so there is nothing to read unless it was kept: `make run 2>&1 | tee run.log`, then
`tesla-offpeak logs --file run.log`. The filters are the same in both places.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from offpeak_cli.errors import USAGE, CliError
from offpeak_cli.target import Place, gcloud

COMPONENTS = ("WORKER", "SCOUT", "SPECIAL", "TOKENS", "PLANNER", "SCHEDULER", "TESLA", "SIMULATOR")
SEVERITIES = ("DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY")
SCOUT_SERVICE = "tesla-scout"  # a 2nd-gen function runs as a Cloud Run service of the same name
_SINCE = re.compile(r"^(\d{1,4})([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
LOCAL_HINT = (
    "the local services log to the terminal of `make run`; keep them with `make run 2>&1 | tee run.log` "
    "and read them with `tesla-offpeak logs --file run.log`"
)


def since_delta(text: str) -> timedelta:
    """'2h', '30m', '1d', '90s' as a timedelta; a usage error otherwise."""
    match = _SINCE.match(text.strip())
    if not match or int(match[1]) == 0:
        raise CliError(f"--since must look like 30m, 2h or 1d, got {text!r}", exit_code=USAGE)
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def cloud_filter(place: Place, component: str | None, severity: str | None) -> str:
    """The Cloud Logging filter: both services, optionally one component tag and a lowest severity."""
    parts = [
        'resource.type="cloud_run_revision"',
        f'resource.labels.service_name=("{place.service}" OR "{SCOUT_SERVICE}")',
    ]
    if component:
        parts.append(f'jsonPayload.component="{component}"')
    if severity:
        parts.append(f"severity>={severity}")
    return " AND ".join(parts)


def read_cloud(
    place: Place,
    since: str,
    component: str | None,
    severity: str | None,
    limit: int,
    as_json: bool,
    env: Mapping[str, str],
) -> None:
    """Run `gcloud logging read` with the README's filter; its output goes straight to ours."""
    since_delta(since)
    fmt = "json" if as_json else "table(timestamp, severity, jsonPayload.component, jsonPayload.message)"
    args = ["logging", "read", cloud_filter(place, component, severity), f"--project={place.project}"]
    args += [f"--freshness={since.strip()}", f"--limit={limit}", f"--format={fmt}"]
    gcloud(args, env, capture=False)


def read_file(
    path: Path, since: str, component: str | None, severity: str | None, limit: int, as_json: bool, now: datetime
) -> None:
    """The same filters over a saved `make run` log (JSON lines among other text), oldest first, in now's zone."""
    after = now - since_delta(since)
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            records = list(matching(_records(handle), after, component, severity))
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror}") from None
    _print_records(records[-limit:], as_json, now, sys.stdout)


def matching(
    records: Iterable[dict[str, Any]], after: datetime, component: str | None, severity: str | None
) -> Iterator[dict[str, Any]]:
    """Records at or after `after`, of `component`, at `severity` or worse."""
    lowest = SEVERITIES.index(severity) if severity else 0
    for record in records:
        at = _when(record)
        if at is None or at < after:
            continue
        if component and record.get("component") != component:
            continue
        level = str(record.get("severity", "DEFAULT")).upper()
        if severity and (level not in SEVERITIES or SEVERITIES.index(level) < lowest):
            continue
        yield record


def _records(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        start = line.find("{")
        if start < 0:
            continue
        try:
            record = json.loads(line[start:])
        except ValueError:  # make run's own help text, a traceback, a half-written line
            continue
        if isinstance(record, dict):
            yield record


def _when(record: dict[str, Any]) -> datetime | None:
    try:
        at = datetime.fromisoformat(str(record.get("time") or record.get("timestamp")))
    except ValueError:
        return None
    return at if at.tzinfo else None


def _print_records(records: list[dict[str, Any]], as_json: bool, now: datetime, out: TextIO) -> None:
    if as_json:
        json.dump(records, out, indent=2)
        out.write("\n")
        return
    for record in records:
        at = _when(record)
        when = f"{at.astimezone(now.tzinfo):%a %H:%M:%S}" if at else "?"
        out.write(f"{when}  {record.get('severity', '?'):<8} {record.get('message', '')}\n")
