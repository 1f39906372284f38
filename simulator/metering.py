"""Counting wrappers around the system's ports and WSGI apps: what Google and Tesla would bill.

Each wrapper forwards to the real piece and writes down what a bill is made of — Firestore reads,
writes and deletes per billing day, Secret Manager accesses and enabled versions over time, the
lifetime of every Cloud Scheduler job, each Cloud Run request with its run time, the bytes of log
lines. Nothing here prices anything (simulator/costs.py does); nothing changes behaviour.
"""

from __future__ import annotations

import builtins
import copy
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.clock import Clock
from shared.log import JsonFormatter
from shared.ports import Document, DocumentStore, HttpJob, JobScheduler, SecretStore

BILLING_ZONE = ZoneInfo("America/Los_Angeles")  # Google's billing day (Firestore's free quota resets then)
_TINY = timedelta(microseconds=1)


def billing_day(instant: datetime) -> date:
    """The Google billing day an instant falls on (US Pacific time)."""
    return instant.astimezone(BILLING_ZONE).date()


Note = Callable[[str], None]  # tells the request meter "the current request called this remote service"


def _no_note(kind: str) -> None:
    return None


class MeteredStore:
    """DocumentStore that counts Firestore billing units per billing day."""

    def __init__(self, inner: DocumentStore, clock: Clock, note: Note = _no_note) -> None:
        self.inner = inner
        self._clock = clock
        self.note = note
        self.daily: dict[date, Counter[str]] = {}
        self.by_collection: Counter[str] = Counter()

    def _count(self, kind: str, collection: str, n: int = 1) -> None:
        if kind != "writes":  # a transaction's write is part of its one round trip
            self.note("firestore")
        day = billing_day(self._clock.now())
        self.daily.setdefault(day, Counter())[kind] += n
        self.by_collection[f"{collection}.{kind}"] += n

    def totals(self) -> dict[str, int]:
        """reads, writes and deletes over the whole run."""
        total: Counter[str] = Counter()
        for counts in self.daily.values():
            total.update(counts)
        return {k: total[k] for k in ("reads", "writes", "deletes")}

    def get(self, collection: str, doc_id: str) -> Document | None:
        """One read, found or not."""
        self._count("reads", collection)  # a get is billed found or not
        return self.inner.get(collection, doc_id)

    def set(self, collection: str, doc_id: str, data: Document) -> None:
        """One write."""
        self._count("writes", collection)
        self.inner.set(collection, doc_id, data)

    def delete(self, collection: str, doc_id: str) -> bool:
        """One delete."""
        self._count("deletes", collection)
        return self.inner.delete(collection, doc_id)

    def list(self, collection: str, where: Mapping[str, Any] | None = None) -> builtins.list[Document]:
        """One read per document returned, at least one."""
        found = self.inner.list(collection, where)
        self._count("reads", collection, max(1, len(found)))  # a query costs at least one read
        return found

    def update(self, collection: str, doc_id: str, fn: Callable[[Document | None], Document | None]) -> Document | None:
        """One read, plus one write when fn returns a document."""
        wrote: builtins.list[bool] = []

        def counted(current: Document | None) -> Document | None:
            result = fn(current)
            wrote.append(result is not None)
            return result

        try:
            return self.inner.update(collection, doc_id, counted)
        finally:
            # A transaction reads the document and, when fn returned something, writes it once.
            self._count("reads", collection)
            if wrote and wrote[-1]:
                self._count("writes", collection)


class MeteredSecrets:
    """SecretStore that counts accesses and keeps the enabled-version count over (virtual) time."""

    def __init__(self, inner: SecretStore, clock: Clock, note: Note = _no_note) -> None:
        self.inner = inner
        self._clock = clock
        self.note = note
        self.counts: Counter[str] = Counter()
        self._enabled: dict[str, int] = {}
        self.timeline: builtins.list[tuple[datetime, int]] = []  # (instant, enabled versions in all secrets)

    def add_version(self, name: str, payload: bytes) -> str:
        """A new enabled version (billed per month while enabled)."""
        self.counts["versions_added"] += 1
        self.note("secret_manager")
        version = self.inner.add_version(name, payload)
        self._recount(name)
        return version

    def access_latest(self, name: str) -> bytes | None:
        """One billed access."""
        self.counts["accesses"] += 1
        self.note("secret_manager")
        return self.inner.access_latest(name)

    def list_enabled_versions(self, name: str) -> builtins.list[str]:
        """A management call (not billed)."""
        self.counts["list_calls"] += 1  # a management call: not billed
        self.note("secret_manager")
        return self.inner.list_enabled_versions(name)

    def destroy_version(self, name: str, version_id: str) -> None:
        """Destroyed versions are not billed."""
        self.counts["versions_destroyed"] += 1
        self.note("secret_manager")
        self.inner.destroy_version(name, version_id)
        self._recount(name)

    def _recount(self, name: str) -> None:
        self._enabled[name] = len(self.inner.list_enabled_versions(name))
        self.timeline.append((self._clock.now(), sum(self._enabled.values())))

    def enabled_version_seconds(self, start: datetime, end: datetime) -> float:
        """The integral of enabled versions over [start, end) (version-seconds)."""
        total, level, since = 0.0, 0, start
        for instant, count in self.timeline:
            instant = min(max(instant, start), end)
            total += level * (instant - since).total_seconds()
            level, since = count, instant
        return total + level * (end - since).total_seconds()

    def enabled_now(self) -> int:
        """Enabled versions (all secrets) after the last change."""
        return self.timeline[-1][1] if self.timeline else 0

    def enabled_max(self) -> int:
        """The most enabled versions at any moment."""
        return max((count for _, count in self.timeline), default=0)


@dataclass
class JobLife:
    """One Cloud Scheduler job from creation to deletion (deleted None: alive at the end)."""

    name: str
    created: datetime
    deleted: datetime | None = None


class MeteredScheduler:
    """JobScheduler that records each job's lifetime (Cloud Scheduler bills jobs per day alive)."""

    def __init__(self, inner: JobScheduler, clock: Clock, note: Note = _no_note) -> None:
        self.inner = inner
        self._clock = clock
        self.note = note
        self.lives: builtins.list[JobLife] = []
        self.changes: builtins.list[tuple[datetime, str, str]] = []  # (instant, "created"|"deleted", name)

    def create(self, job: HttpJob) -> bool:
        """Create the job; its life starts now."""
        self.note("cloud_scheduler")
        created = self.inner.create(job)
        if created:
            now = self._clock.now()
            self.lives.append(JobLife(job.name, now))
            self.changes.append((now, "created", job.name))
        return created

    def get(self, name: str) -> HttpJob | None:
        """The job, or None (an API call, not billed)."""
        self.note("cloud_scheduler")
        return self.inner.get(name)

    def list(self, prefix: str = "") -> builtins.list[HttpJob]:
        """Jobs by prefix (an API call, not billed)."""
        self.note("cloud_scheduler")
        return self.inner.list(prefix)

    def delete(self, name: str) -> bool:
        """Delete the job; its life ends now."""
        self.note("cloud_scheduler")
        deleted = self.inner.delete(name)
        if deleted:
            now = self._clock.now()
            for life in reversed(self.lives):
                if life.name == name and life.deleted is None:
                    life.deleted = now
                    break
            self.changes.append((now, "deleted", name))
        return deleted

    def job_days(self, start: datetime, end: datetime) -> int:
        """Σ over jobs of the billing days on which the job existed at any moment in [start, end).

        A run of whole local days begins and ends part-way through a Pacific billing day; a job
        alive through the whole run (the static ones) counts one day per simulated day, not one extra.
        """
        total = 0
        for life in self.lives:
            until = life.deleted or end
            first, last = billing_day(life.created), billing_day(max(life.created, until - _TINY))
            total += (last - first).days + 1
            if life.created <= start and life.deleted is None and billing_day(start) != billing_day(end):
                total -= 1
        return total

    def alive_max(self) -> int:
        """The most jobs that existed at once."""
        level = best = 0
        for _, kind, _name in sorted(self.changes, key=lambda c: (c[0], c[1] == "created")):
            level += 1 if kind == "created" else -1
            best = max(best, level)
        return best


@dataclass
class Invocation:
    """One HTTP request served by a Cloud Run service (the scout function or the worker)."""

    service: str
    method: str
    path: str
    started: datetime  # virtual
    status: int = 0
    wall_s: float = 0.0  # real time in-process, children included
    virtual_s: float = 0.0  # virtual time that passed (e.g. waiting for a car to wake), children included
    children: builtins.list[int] = field(default_factory=builtins.list)
    remote_calls: Counter[str] = field(default_factory=Counter)  # calls to Tesla, Firestore, ... (not children)
    tesla_billable: builtins.list[str] = field(default_factory=builtins.list)  # billed Fleet API endpoints, in order
    body: Any = None  # the JSON answer, when capture is on

    @property
    def ended(self) -> datetime:
        """The virtual instant the request finished."""
        return self.started + timedelta(seconds=self.virtual_s)


class RequestMeter:
    """Collects Invocations from the MeteredApp wrappers, with their nesting (scout → worker)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.invocations: builtins.list[Invocation] = []  # in completion order
        self._open: builtins.list[Invocation] = []
        self.capture = False
        self.tesla_by_caller: Counter[tuple[str, str]] = Counter()

    def wrap(self, service: str, app: Callable[..., Any]) -> Callable[..., Any]:
        """A WSGI app that serves through `app` and records one Invocation per request."""

        def metered(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            call = Invocation(
                service, environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""), self.clock.now()
            )
            statuses: builtins.list[str] = []

            def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
                statuses.append(status)
                return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

            self._open.append(call)
            began = time.perf_counter()
            try:
                result = app(environ, recording_start_response)
                try:
                    chunks = builtins.list(result)  # the answer is produced (and billed) before it is sent
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
            finally:
                call.wall_s = time.perf_counter() - began
                call.virtual_s = (self.clock.now() - call.started).total_seconds()
                self._open.pop()
                call.status = int(statuses[0].split(" ", 1)[0]) if statuses else 500
                index = len(self.invocations)
                self.invocations.append(call)
                if self._open:
                    self._open[-1].children.append(index)
            if self.capture:
                try:
                    call.body = json.loads(b"".join(chunks) or b"null")
                except ValueError:
                    call.body = None
            return chunks

        return metered

    def note(self, kind: str) -> None:
        """The request being served called a remote service (its latency is billed as waiting)."""
        if self._open:
            self._open[-1].remote_calls[kind] += 1

    def wrap_remote(self, kind: str, app: Callable[..., Any]) -> Callable[..., Any]:
        """A WSGI app (Tesla, the price feed) whose every call is noted on the calling request.

        Billable Fleet API answers (every answer below 500, 401s included: what Tesla bills) are also counted
        per caller — the scout, or the worker's endpoint — to show where the Tesla bill comes from.
        """

        def noted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            self.note(kind)
            endpoint = _billable_endpoint(environ.get("PATH_INFO", ""))

            def counting_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
                code = int(status.split(" ", 1)[0])
                if endpoint and code < 500:
                    self.tesla_by_caller[(self.caller(), endpoint)] += 1
                    if self._open:
                        self._open[-1].tesla_billable.append(endpoint)
                return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

            result: Iterable[bytes] = app(environ, counting_start_response)
            return result

        return noted

    def caller(self) -> str:
        """Who is making a remote call now: `scout`, `worker <path>`, or `outside` (no request open)."""
        if not self._open:
            return "outside"
        call = self._open[-1]
        return call.service if call.service == "scout" else f"{call.service} {call.path}"

    def of(self, service: str) -> builtins.list[Invocation]:
        """This service's requests, in completion order."""
        return [i for i in self.invocations if i.service == service]


def _billable_endpoint(path: str) -> str | None:
    """`vehicle_data`, `wake_up`, `signed_command`, `fleet_status` or the command's name for a billable
    Fleet API path; None otherwise (the state call is free)."""
    if not path.startswith("/api/1/vehicles/"):
        return None
    last = path.rsplit("/", 1)[-1]
    if last in ("vehicle_data", "wake_up", "signed_command", "fleet_status") or "/command/" in path:
        return last
    return None


class LogMeter(logging.Handler):
    """Counts the bytes of the JSON log lines the services write (what Cloud Logging would ingest)."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.setFormatter(JsonFormatter())
        self.bytes = 0
        self.lines = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Count one line of our own loggers, formatted as Cloud Logging would receive it."""
        if not record.name.startswith("tesla_offpeak"):
            return
        fixed = copy.copy(record)
        fixed.created = 0.0  # the timestamp's length varies; counts must not depend on the real clock
        self.bytes += len(self.format(fixed).encode()) + 1
        self.lines += 1
