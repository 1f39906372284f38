"""Injected faults: the next N requests whose path matches a pattern answer a status, or are delayed.

Patterns are shell-style (fnmatch) against the request path without the query, e.g.
`*/vehicle_data`, `/proxy/*`, `/oauth2/v3/token`. A fault with only `delay_s` sleeps (really, for
client timeout tests) and then lets the request through; with a `status` it answers that status.
With `lose_answer` the request takes effect first and only its answer is replaced by `status`:
Tesla (or the car) acted, but the client saw a gateway error — the case where a retry or a
cleanup must assume the change happened.

`random_faults(rate, rng)` adds faults drawn at random (the soak): each matching request that no
armed fault catches fails with probability `rate`, as one of RANDOM_KINDS, from a seeded RNG.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
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


# unavailable: 503 before acting; lost_answer: acts, the client sees 502; timeout: acts, then the
# client's read times out (the app answers 504; a transport that honours `timeout_pending` raises).
RANDOM_KINDS = ("unavailable", "timeout", "lost_answer")


@dataclass
class RandomFaults:
    """Faults drawn at random for requests matching `pattern`; `injected` counts them by kind."""

    rate: float
    rng: random.Random
    pattern: str = "*/api/1/*"
    kinds: tuple[str, ...] = RANDOM_KINDS
    injected: Counter[str] = field(default_factory=Counter)
    timeout_pending: bool = False  # the last drawn fault was a timeout, not yet raised by the transport

    def draw(self, method: str, path: str) -> Fault | None:
        """A one-off fault for this request, or None (most of the time)."""
        if not fnmatch.fnmatchcase(path, self.pattern) or self.rng.random() >= self.rate:
            return None
        kind = self.rng.choice(self.kinds)
        self.injected[kind] += 1
        body = {"response": None, "error": kind, "error_description": "injected random fault"}
        if kind == "unavailable":
            return Fault(path, 503, count=None, body=body, method=method, hits=1)
        self.timeout_pending = kind == "timeout"
        return Fault(path, 504 if kind == "timeout" else 502, count=None, body=body, method=method, lose_answer=True)

    def take_timeout(self) -> bool:
        """Whether the request just answered should time out at the client (clears the flag)."""
        pending, self.timeout_pending = self.timeout_pending, False
        return pending


class FaultBook:
    """Armed faults, first match wins; thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.random: RandomFaults | None = None

    def random_faults(
        self, rate: float, rng: random.Random, *, pattern: str = "*/api/1/*", kinds: tuple[str, ...] = RANDOM_KINDS
    ) -> RandomFaults:
        """From now on, each matching request no armed fault catches fails with probability `rate`."""
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        if not kinds or set(kinds) - set(RANDOM_KINDS):
            raise ValueError(f"kinds must be some of {RANDOM_KINDS}")
        with self._lock:
            self.random = RandomFaults(rate, rng, pattern, tuple(kinds))
            return self.random

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
            return self.random.draw(method, path) if self.random is not None else None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.random = None

    def armed(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]
