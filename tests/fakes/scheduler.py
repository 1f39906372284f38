"""The one in-memory JobScheduler every test shares; the conformance suite keeps it honest."""

from __future__ import annotations

import builtins

from shared.ports import HttpJob
from tests.fakes.faults import FaultInjection

METHODS = ("create", "get", "list", "delete")


class InMemoryJobScheduler(FaultInjection):
    """JobScheduler in a dict, with per-method call counts and injectable failures; never fires jobs."""

    METHODS = METHODS

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, HttpJob] = {}

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
