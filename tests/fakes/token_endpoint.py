"""A Tesla token endpoint in memory: single-use rotating refresh tokens, counted (for token-service tests)."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

from shared.tesla.errors import TokenRejected


@dataclass(frozen=True)
class FakeGrant:
    access_token: str
    refresh_token: str
    expires_in: int


class FakeTokenEndpoint:
    """Each refresh token works once; the answer carries a new pair."""

    def __init__(
        self, first_refresh_token: str = "EU_refresh_0", expires_in: int = 28800, delay_s: float = 0.0
    ) -> None:
        self.valid = {first_refresh_token}
        self.expires_in = expires_in
        self.delay_s = delay_s
        self.calls = 0
        self.rejected = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(self, refresh_token: str) -> FakeGrant:
        with self._lock:
            self.calls += 1
            if refresh_token not in self.valid:
                self.rejected += 1
                raise TokenRejected("invalid_grant")
            self.valid.discard(refresh_token)
            n = next(self._ids)
            grant = FakeGrant(
                f"eyJaccess{n:04d}.eyJpayload{n:04d}.signature{n:04d}", f"EU_refresh_{n}", self.expires_in
            )
            self.valid.add(grant.refresh_token)
        if self.delay_s:
            import time

            time.sleep(self.delay_s)  # widen the window in which a second refresh could sneak in
        return grant
