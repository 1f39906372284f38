"""The one clock every piece of logic asks for the time, so tests and the simulation can move it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What logic may ask of time: the current aware UTC instant, and a pause."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time; the only place that reads the system clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A clock that moves only when told to; sleep() advances it instead of waiting."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=max(0.0, seconds)))

    def advance(self, delta: timedelta) -> datetime:
        """Move time forward by delta and return the new instant."""
        with self._lock:
            self._now += delta
            return self._now

    def set(self, instant: datetime) -> None:
        """Jump to an instant (never backwards)."""
        if instant.tzinfo is None:
            raise ValueError("ManualClock.set needs an aware datetime")
        with self._lock:
            target = instant.astimezone(UTC)
            if target < self._now:
                raise ValueError("ManualClock cannot go backwards")
            self._now = target
