"""Injected faults: the next N requests whose path matches a pattern answer a status, or are delayed.

Patterns are shell-style (fnmatch) against the request path without the query, e.g.
`*/vehicle_data`, `/proxy/*`, `/oauth2/v3/token`. A fault with only `delay_s` sleeps (really, for
client timeout tests) and then lets the request through; with a `status` it answers that status.
With `lose_answer` the request takes effect first and only its answer is replaced by `status`:
Tesla (or the car) acted, but the client saw a gateway error — the case where a retry or a
cleanup must assume the change happened.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Fault:
    """One armed fault; `count` None means until cleared."""

    pattern: str
    status: int | None = None
    count: int | None = 1
    retry_after: str | None = None
    body: Any = None
    delay_s: float = 0.0
    method: str | None = None
    lose_answer: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method.upper()) and fnmatch.fnmatchcase(
            path, self.pattern
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultBook:
    """Armed faults, first match wins; thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        pattern: str,
        *,
        status: int | None = None,
        count: int | None = 1,
        retry_after: float | str | None = None,
        body: Any = None,
        delay_s: float = 0.0,
        method: str | None = None,
        lose_answer: bool = False,
    ) -> Fault:
        """Arm a fault for the next `count` matching requests."""
        if status is None and delay_s <= 0:
            raise ValueError("a fault needs a status or a delay")
        if status is not None and not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status code")
        if lose_answer and status is None:
            raise ValueError("a lost answer needs the status the client sees instead")
        fault = Fault(
            pattern,
            status,
            count,
            None if retry_after is None else str(retry_after),
            body,
            delay_s,
            method,
            bool(lose_answer),
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first armed fault matching this request, spending one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def armed(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]
