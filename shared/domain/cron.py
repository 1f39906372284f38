"""Cron helpers for the scheduler jobs: one-shot crons, next firing instants, job names, retry backoff.

Pure: no I/O and no clock reads; every instant comes in as an argument.

Job naming rule (one rule for every backend): `special-send-<session_id>` and
`special-cleanup-<session_id>` with every underscore of the session id replaced by a hyphen, so
`special_1_20261124_0700` gives `special-send-special-1-20261124-0700`. Cloud Scheduler's job ids
allow letters, digits, hyphens and underscores, at most 500 characters (Job.name in the
scheduler_v1 reference), so no backend strictly needs the replacement; it is applied everywhere
anyway so the name stored on a session is the same whichever backend created the job, and the
result is checked against Cloud Scheduler's job-id pattern so the local backend can never accept a
name the cloud one would refuse.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from shared.errors import ValidationError

ONE_SHOT_TIME_ZONE = "Etc/UTC"
SPECIAL_JOB_PREFIX = "special-"
JOB_KINDS = ("send", "cleanup")

# Cloud Scheduler JOB_ID: letters, numbers, hyphens or underscores; at most 500 characters.
JOB_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,500}$")

# Retry policy of the HTTP jobs, the same on both backends (Cloud Scheduler's RetryConfig
# semantics: start at the minimum, double max_doublings times, then grow linearly, capped).
# A first retry after a minute: past the session claim of a handler run that died (session.py).
MIN_BACKOFF_SECONDS = 60
MAX_BACKOFF_SECONDS = 600
MAX_DOUBLINGS = 3
# Cloud Scheduler's limits: retry_count 0-5, attempt_deadline 15 s to 30 min (for HTTP targets).
MAX_RETRY_COUNT = 5
MIN_ATTEMPT_DEADLINE_SECONDS = 15
MAX_ATTEMPT_DEADLINE_SECONDS = 1800
HTTP_METHODS = ("POST", "GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS")


def one_shot_cron(instant: datetime) -> tuple[str, str]:
    """The (cron, time zone) that fires once a year at the UTC minute of instant, rounded up.

    Cron has minute resolution. Seconds are rounded UP to the next minute so that a job never
    fires before the instant it stands for (a cleanup must not run before charging ended, a send
    must not run before the moment the planner chose). The time zone is Etc/UTC so that no
    daylight-saving night can skip (spring) or repeat (autumn) the job, as a local-time cron would.
    """
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("one_shot_cron needs an aware datetime")
    utc = instant.astimezone(UTC)
    minute = utc.replace(second=0, microsecond=0)
    if minute < utc:
        minute += timedelta(minutes=1)
    return f"{minute.minute} {minute.hour} {minute.day} {minute.month} *", ONE_SHOT_TIME_ZONE


def cron_instant(cron: str, time_zone: str, after: datetime) -> datetime:
    """The first firing instant of cron in time_zone strictly after `after`, as an aware UTC datetime.

    Raises ValidationError for a malformed cron, an unknown time zone, or a cron that never fires.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("cron_instant needs an aware datetime")
    zone = _zone(time_zone)
    _check_cron(cron)
    try:
        found = croniter(cron, after.astimezone(zone)).get_next(datetime)
    except CroniterError as exc:  # e.g. "0 0 31 2 *": a valid cron with no date
        raise ValidationError(f"schedule {cron!r} never fires") from exc
    return found.astimezone(UTC)


def job_name(kind: str, session_id: str) -> str:
    """`special-send-<session_id>` or `special-cleanup-<session_id>`, underscores turned into hyphens."""
    if kind not in JOB_KINDS:
        raise ValueError(f"job kind must be one of {JOB_KINDS}, not {kind!r}")
    name = f"{SPECIAL_JOB_PREFIX}{kind}-{session_id.replace('_', '-')}"
    if not session_id or not is_valid_job_id(name):
        raise ValidationError("session_id cannot be turned into a scheduler job name")
    return name


def is_special_job(name: str) -> bool:
    """True for the dynamic special-charging jobs (any `special-` job), which the daily check tidies."""
    return name.startswith(SPECIAL_JOB_PREFIX)


def is_valid_job_id(name: str) -> bool:
    """True when name is a job id Cloud Scheduler accepts."""
    return JOB_ID_PATTERN.fullmatch(name) is not None


def validate_job_fields(
    name: str,
    schedule: str,
    time_zone: str,
    *,
    http_method: str = "POST",
    retry_count: int = 0,
    attempt_deadline_seconds: int = 180,
) -> None:
    """Raise ValidationError unless the job's fields are within Cloud Scheduler's limits, on every backend."""
    if not is_valid_job_id(name):
        raise ValidationError("job name must be 1-500 letters, digits, hyphens or underscores")
    _zone(time_zone)
    _check_cron(schedule)
    if http_method.upper() not in HTTP_METHODS:
        raise ValidationError(f"HTTP method must be one of {', '.join(HTTP_METHODS)}")
    if not 0 <= retry_count <= MAX_RETRY_COUNT:
        raise ValidationError(f"retry_count must be 0-{MAX_RETRY_COUNT}")
    if not MIN_ATTEMPT_DEADLINE_SECONDS <= attempt_deadline_seconds <= MAX_ATTEMPT_DEADLINE_SECONDS:
        raise ValidationError(
            f"attempt deadline must be {MIN_ATTEMPT_DEADLINE_SECONDS}-{MAX_ATTEMPT_DEADLINE_SECONDS} seconds"
        )


def retry_backoff(failed_attempts: int) -> timedelta:
    """How long to wait after the given number of failed attempts before the next one."""
    if failed_attempts < 1:
        raise ValueError("failed_attempts starts at 1")
    step = failed_attempts - 1
    if step <= MAX_DOUBLINGS:
        seconds = MIN_BACKOFF_SECONDS * 2**step
    else:
        seconds = MIN_BACKOFF_SECONDS * 2**MAX_DOUBLINGS * (step - MAX_DOUBLINGS + 1)
    return timedelta(seconds=min(seconds, MAX_BACKOFF_SECONDS))


def _zone(time_zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown time zone {time_zone!r}") from exc


def _check_cron(cron: str) -> None:
    # Cloud Scheduler takes classic five-field unix cron; croniter also accepts a sixth
    # (seconds) field and other extensions, which must not slip through locally.
    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise ValidationError(f"schedule {cron!r} is not a five-field cron")
