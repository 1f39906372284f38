"""The one in-memory JobScheduler every test shares; the conformance suite keeps it honest."""

from __future__ import annotations

import builtins
import threading
from collections import Counter

from shared.ports import HttpJob

METHODS = ("create", "get", "list", "delete")


class InMemoryJobScheduler:
    """JobScheduler in a dict, with per-method call counts and injectable failures; never fires jobs."""

    def __init__(self) -> None:
        self.jobs: dict[str, HttpJob] = {}
        self.calls: Counter[str] = Counter()
        self._failures: dict[str, builtins.list[Exception]] = {}
        self._lock = threading.Lock()

    def fail_next(self, method: str, exc: Exception, times: int = 1) -> None:
        """Make the next `times` calls of method raise exc (before doing anything)."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}")
        with self._lock:
            self._failures.setdefault(method, []).extend([exc] * times)

    def create(self, job: HttpJob) -> bool:
        """Create the job; False (and nothing changed) when a job of that name already exists."""
        self._enter("create")
        job.validate()
        with self._lock:
            if job.name in self.jobs:
                return False
            self.jobs[job.name] = job
            return True

    def get(self, name: str) -> HttpJob | None:
        """The job, or None."""
        self._enter("get")
        with self._lock:
            return self.jobs.get(name)

    def list(self, prefix: str = "") -> builtins.list[HttpJob]:
        """Jobs whose name starts with prefix, ordered by name."""
        self._enter("list")
        with self._lock:
            return [self.jobs[name] for name in sorted(self.jobs) if name.startswith(prefix)]

    def delete(self, name: str) -> bool:
        """Delete the job; True when it existed."""
        self._enter("delete")
        with self._lock:
            return self.jobs.pop(name, None) is not None

    def _enter(self, method: str) -> None:
        with self._lock:
            self.calls[method] += 1
            pending = self._failures.get(method)
            exc = pending.pop(0) if pending else None
        if exc is not None:
            raise exc
