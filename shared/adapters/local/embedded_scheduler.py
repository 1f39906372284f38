"""The local stand-in for Cloud Scheduler: jobs in SQLite that really fire their HTTP calls.

Jobs live in the table `scheduler_jobs` (the file may hold other tables too), each with its next
run instant computed from its cron in its own time zone, so they survive a restart. `run_due(now)`
fires what is due; `start()` runs it on a background thread. A firing sends the same headers as
Cloud Scheduler, with the worker's shared secret instead of an OIDC token.

Delivery is at least once, like Cloud Scheduler: a job is claimed (next run advanced, a lease
recorded as `retry_at`) before its HTTP call, so a crash mid-call re-fires it after the lease; no
database lock is held during the call, so the handler may delete its own job (which then stays
deleted: outcomes are written only to the very row that was claimed).
"""

from __future__ import annotations

import builtins
import contextlib
import json
import sqlite3
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.clock import Clock
from shared.domain.cron import cron_instant, retry_backoff
from shared.errors import StoreUnavailable
from shared.log import get_logger
from shared.ports import HttpJob

log = get_logger("SCHEDULER")

# (method, url, headers, body, timeout_s) -> HTTP status
Sender = Callable[[str, str, Mapping[str, str], bytes, float], int]

_BODY_METHODS = ("POST", "PUT", "PATCH")  # Cloud Scheduler allows a body only on these
_HISTORY_LIMIT = 10_000  # a long `make run` must not grow without bound


@dataclass(frozen=True)
class FireResult:
    """One HTTP attempt of a job: status is None when no answer came back (refused, timeout)."""

    name: str
    scheduled_time: datetime
    fired_at: datetime
    attempt: int
    status: int | None
    will_retry: bool

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class _Claim:
    name: str
    generation: str
    job: HttpJob
    scheduled_time: datetime
    attempt: int


def requests_sender(method: str, url: str, headers: Mapping[str, str], body: bytes, timeout_s: float) -> int:
    """Send the job's request over HTTP with `requests`; returns the status code."""
    import requests

    response = requests.request(method, url, headers=dict(headers), data=body or None, timeout=timeout_s)
    return response.status_code


class EmbeddedScheduler:
    """JobScheduler on SQLite that fires jobs itself (run_due, or a background thread)."""

    def __init__(
        self,
        db_path: Path,
        clock: Clock,
        *,
        auth_token: str | None,
        sender: Sender | None = None,
        poll_interval_s: float = 1.0,
    ) -> None:
        self._db_path = Path(db_path)
        self._clock = clock
        self._auth_token = auth_token
        self._sender: Sender = sender or requests_sender
        self._poll_interval_s = poll_interval_s
        self._db_lock = threading.Lock()
        self._history: deque[FireResult] = deque(maxlen=_HISTORY_LIMIT)
        self._history_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._db_path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS scheduler_jobs ("
                " name TEXT PRIMARY KEY, generation TEXT NOT NULL, job TEXT NOT NULL,"
                " next_run TEXT NOT NULL, retry_at TEXT, retry_schedule_time TEXT,"
                " attempt INTEGER NOT NULL DEFAULT 0)"
            )

    # --- JobScheduler -------------------------------------------------------------------------

    def create(self, job: HttpJob) -> bool:
        """Create the job; False (and nothing changed) when a job of that name already exists."""
        job.validate()
        # A job whose minute is the creation instant itself is due at once, not a year later.
        next_run = cron_instant(job.schedule, job.time_zone, self._clock.now() - timedelta(microseconds=1))
        with self._db() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO scheduler_jobs (name, generation, job, next_run) VALUES (?, ?, ?, ?)",
                (job.name, uuid.uuid4().hex, _dump_job(job), _iso(next_run)),
            )
            created = cursor.rowcount == 1
        if created:
            log.info(f"job created: {job.name}", fields={"job": job.name, "next_run": _iso(next_run)})
        return created

    def get(self, name: str) -> HttpJob | None:
        """The job, or None."""
        with self._db() as conn:
            row = conn.execute("SELECT job FROM scheduler_jobs WHERE name = ?", (name,)).fetchone()
        return _load_job(row[0]) if row else None

    def list(self, prefix: str = "") -> list[HttpJob]:
        """Jobs whose name starts with prefix, ordered by name."""
        with self._db() as conn:
            rows = conn.execute("SELECT name, job FROM scheduler_jobs ORDER BY name").fetchall()
        return [_load_job(job) for name, job in rows if name.startswith(prefix)]

    def delete(self, name: str) -> bool:
        """Delete the job; True when it existed."""
        with self._db() as conn:
            deleted = conn.execute("DELETE FROM scheduler_jobs WHERE name = ?", (name,)).rowcount == 1
        if deleted:
            log.info(f"job deleted: {name}", fields={"job": name})
        return deleted

    # --- firing -------------------------------------------------------------------------------

    def next_run(self, name: str) -> datetime | None:
        """When the job fires next (its pending retry, if any, comes first); None when it does not exist."""
        with self._db() as conn:
            row = conn.execute("SELECT next_run, retry_at FROM scheduler_jobs WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        instants = [_parse(value) for value in row if value]
        return min(instants)

    def run_due(self, now: datetime | None = None) -> builtins.list[FireResult]:
        """Fire every job due at `now` (default: the clock) once, and return what each attempt got."""
        if now is None:
            now = self._clock.now()
        if now.tzinfo is None:
            raise ValueError("run_due needs an aware datetime")
        now = now.astimezone(UTC)
        return [self._fire(claim, now) for claim in self._claim_due(now)]

    @property
    def history(self) -> builtins.list[FireResult]:
        """The attempts made by this instance (the latest 10,000), oldest first."""
        with self._history_lock:
            return list(self._history)

    def start(self) -> None:
        """Poll run_due(clock.now()) on a daemon thread every poll_interval_s of real time."""
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="embedded-scheduler", daemon=True)
        self._thread.start()
        log.info("embedded scheduler started", fields={"poll_interval_s": self._poll_interval_s})

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the background thread (waits for a firing in progress, up to timeout_s)."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout_s)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due(self._clock.now())
            except Exception:  # the loop must outlive one bad poll; the next poll tries again
                log.exception("embedded scheduler poll failed")
            self._stop.wait(self._poll_interval_s)

    def _claim_due(self, now: datetime) -> builtins.list[_Claim]:
        """Atomically take every due job and move it past `now`, so no other poll fires it again."""
        claims: builtins.list[_Claim] = []
        with self._db() as conn:
            rows = conn.execute(
                "SELECT name, generation, job, next_run, retry_schedule_time, attempt FROM scheduler_jobs"
                " WHERE next_run <= ? OR (retry_at IS NOT NULL AND retry_at <= ?) ORDER BY name",
                (_iso(now), _iso(now)),
            ).fetchall()
            for name, generation, raw, next_run, retry_schedule_time, attempt in rows:
                job = _load_job(raw)
                if _parse(next_run) <= now:
                    # A new execution; runs missed while the process was down collapse into this one,
                    # and it wins over a retry still pending from the previous execution.
                    scheduled, attempt, next_run = (
                        _parse(next_run),
                        1,
                        _iso(cron_instant(job.schedule, job.time_zone, now)),
                    )
                else:
                    scheduled, attempt = _parse(retry_schedule_time or next_run), attempt + 1
                # Lease: if the process dies during the call, the attempt is retried after its deadline.
                lease = (
                    _iso(now + timedelta(seconds=job.attempt_deadline_seconds)) if attempt <= job.retry_count else None
                )
                conn.execute(
                    "UPDATE scheduler_jobs SET next_run = ?, retry_at = ?, retry_schedule_time = ?, attempt = ?"
                    " WHERE name = ? AND generation = ?",
                    (next_run, lease, _iso(scheduled), attempt, name, generation),
                )
                claims.append(_Claim(name, generation, job, scheduled, attempt))
        return sorted(claims, key=lambda claim: (claim.scheduled_time, claim.name))

    def _fire(self, claim: _Claim, now: datetime) -> FireResult:
        job = claim.job
        status = self._send(claim)
        ok = status is not None and 200 <= status < 300
        will_retry = not ok and claim.attempt <= job.retry_count
        retry_at = _iso(now + retry_backoff(claim.attempt)) if will_retry else None
        with self._db() as conn:
            # Only the claimed row: a job deleted (or deleted and re-created) meanwhile stays as it is.
            updated = conn.execute(
                "UPDATE scheduler_jobs SET retry_at = ?, retry_schedule_time = ?, attempt = ?"
                " WHERE name = ? AND generation = ?",
                (
                    retry_at,
                    _iso(claim.scheduled_time) if will_retry else None,
                    claim.attempt if will_retry else 0,
                    claim.name,
                    claim.generation,
                ),
            ).rowcount
        will_retry = will_retry and updated == 1
        result = FireResult(claim.name, claim.scheduled_time, now, claim.attempt, status, will_retry)
        with self._history_lock:
            self._history.append(result)
        log_fields = {
            "job": claim.name,
            "scheduled_time": _iso(claim.scheduled_time),
            "status": status,
            "attempt": claim.attempt,
            "will_retry": will_retry,
        }
        if ok:
            log.info(f"job fired: {claim.name} -> {status}", fields=log_fields)
        else:
            log.warning(f"job failed: {claim.name} -> {status}", fields=log_fields)
        return result

    def _send(self, claim: _Claim) -> int | None:
        job = claim.job
        method = job.http_method.upper()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Google-Cloud-Scheduler",
            "X-CloudScheduler": "true",
            "X-CloudScheduler-JobName": job.name,
            "X-CloudScheduler-ScheduleTime": claim.scheduled_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if self._auth_token:
            headers["Authorization"] = f"Bearer {self._auth_token}"
        body = json.dumps(dict(job.body)).encode() if method in _BODY_METHODS else b""
        try:
            return self._sender(method, job.uri, headers, body, float(job.attempt_deadline_seconds))
        except Exception as exc:  # no answer is a failed attempt, retried like a 5xx
            log.warning(f"job request failed: {claim.name}: {type(exc).__name__}", fields={"job": claim.name})
            return None

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; SQLite errors become StoreUnavailable.

        BEGIN IMMEDIATE takes the write lock before the first read, so a claim (read due rows,
        then advance them) is atomic even against another process on the same file (the worker
        creating jobs while `make run`'s scheduler process fires them).
        """
        with self._db_lock:
            try:
                conn = sqlite3.connect(self._db_path, timeout=30, isolation_level=None)
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield conn
                    except BaseException:
                        conn.rollback()
                        raise
                    conn.commit()
                finally:
                    conn.close()
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"scheduler database unavailable: {type(exc).__name__}") from exc


def _dump_job(job: HttpJob) -> str:
    data = {f.name: getattr(job, f.name) for f in fields(job)}
    data["body"] = dict(job.body)
    return json.dumps(data, sort_keys=True)


def _load_job(raw: str) -> HttpJob:
    data: dict[str, Any] = json.loads(raw)
    return HttpJob(**data)


def _iso(instant: datetime) -> str:
    # Fixed-width UTC text, so SQLite's string comparison orders instants correctly.
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
