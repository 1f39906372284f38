"""What every fake shares: per-method call counts and queued failures for reliability tests."""

from __future__ import annotations

import builtins
import threading
from collections import Counter


class FaultInjection:
    """Per-method call counts and queued exceptions, raised before the call does anything."""

    METHODS: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._failures: dict[str, builtins.list[BaseException]] = {}
        self._lock = threading.RLock()

    def fail_next(self, method: str, exc: BaseException, times: int = 1) -> None:
        """Make the next `times` calls of method raise exc (nothing is read, written or counted as billed)."""
        if method not in self.METHODS:
            raise ValueError(f"method must be one of {self.METHODS}")
        with self._lock:
            self._failures.setdefault(method, []).extend([exc] * times)

    def _enter(self, method: str) -> None:
        with self._lock:
            self.calls[method] += 1
            pending = self._failures.get(method)
            exc = pending.pop(0) if pending else None
        if exc is not None:
            raise exc
