"""The owner's alert webhook: one JSON POST with bounded retries (an ntfy topic, a Home Assistant webhook).

The URL often embeds a secret (a webhook id, a bot token), so it never reaches a message: requests'
own errors quote the URL and are reduced to their type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from shared.clock import Clock

# Bounded so a dead receiver costs a job at most ~3 × 5 s plus 3 s of waiting (Cloud Scheduler allows 320 s).
WEBHOOK_ATTEMPTS = 3
WEBHOOK_TIMEOUT = (3.05, 5.0)


class _Retryable(Exception):
    """The receiver answered in a way worth another try (5xx, 408, 429)."""


class _Refused(Exception):
    """The receiver answered with a status another try would not change (a 3xx or 4xx)."""


def deliver(url: str, payload: Mapping[str, Any], clock: Clock) -> tuple[bool, int, str | None]:
    """POST the payload with bounded retries; (delivered, attempts, problem). Never raises."""
    attempts = 0

    def once() -> None:
        nonlocal attempts
        attempts += 1
        # No redirects: a receiver that moved would otherwise get a GET without the body.
        response = requests.post(url, json=dict(payload), timeout=WEBHOOK_TIMEOUT, allow_redirects=False)
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise _Retryable(f"HTTP {response.status_code}")
        if response.status_code >= 300:
            raise _Refused(f"HTTP {response.status_code}")

    retrying = Retrying(
        stop=stop_after_attempt(WEBHOOK_ATTEMPTS),
        wait=wait_exponential(multiplier=1, min=1, max=4),
        retry=retry_if_exception_type((_Retryable, requests.ConnectionError, requests.Timeout)),
        sleep=clock.sleep,
        reraise=True,
    )
    try:
        retrying(once)
    except (_Retryable, _Refused) as problem:
        return False, attempts, str(problem)
    except Exception as error:  # requests' messages quote the URL, which may hold a secret
        return False, attempts, type(error).__name__
    return True, attempts, None
