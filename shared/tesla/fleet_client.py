"""Tesla Fleet API client (contract section 8): one `_request()`, one short method per endpoint.

`_request()` sets the bearer token and a timeout on every call, retries 5xx answers, connection
errors and 429s (honouring Retry-After) with bounded exponential backoff and jitter, refreshes the
token once on a 401, and translates every failure into shared.tesla.errors. Sleeps go through the
injected clock so virtual clocks work. Billing is counted by Tesla (and the simulator), not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Protocol

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from shared.clock import Clock
from shared.http_json import json_object
from shared.log import get_logger
from shared.tesla.errors import (
    TeslaAuthError,
    TeslaCommandFailed,
    TeslaError,
    TeslaRateLimited,
    TeslaUnavailable,
    VehicleAsleep,
)
from shared.tesla.retry_after import parse_retry_after

log = get_logger("TESLA")

# Since firmware 2023.38 the position needs `location_data`; Tesla documents the literal semicolon.
VEHICLE_DATA_QUERY = "endpoints=location_data;charge_state"
# A command answered `result: false` for one of these reasons already has the wanted effect.
ALREADY_DONE_REASONS = frozenset({"already_set"})


class TokenProvider(Protocol):
    """Hands out a valid access token; force_refresh=True refreshes even if the cached one looks valid."""

    def get_access_token(self, force_refresh: bool = False) -> str: ...


class FleetClient:
    """VehicleApi over HTTP; commands go to the vehicle-command proxy when proxy_url is set."""

    def __init__(
        self,
        base_url: str,
        token_provider: TokenProvider,
        *,
        clock: Clock,
        proxy_url: str | None = None,
        proxy_ca_cert: str | None = None,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = (5, 30),
        max_retries: int = 3,
        max_retry_after_s: float = 60,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._proxy_url = proxy_url.rstrip("/") if proxy_url else None
        self._proxy_verify: bool | str = proxy_ca_cert or True
        self._tokens = token_provider
        self._clock = clock
        self._session = session or requests.Session()
        self._timeout = timeout
        self._max_retries = max(0, max_retries)
        self._max_retry_after_s = max_retry_after_s
        self._backoff = wait_exponential_jitter(initial=1, max=30, jitter=1)

    def vehicle_state(self, vin: str) -> str:
        """`online`, `asleep` or `offline`; never wakes the car."""
        state = self._request("GET", f"/api/1/vehicles/{vin}").get("state")
        if not isinstance(state, str):
            raise TeslaError("vehicle answer lacks a state")
        return state

    def vehicle_data(self, vin: str) -> dict[str, Any]:
        """The `response` of vehicle_data with location_data and charge_state; VehicleAsleep on 408."""
        return self._request("GET", f"/api/1/vehicles/{vin}/vehicle_data?{VEHICLE_DATA_QUERY}")

    def wake_up(self, vin: str, timeout_s: float = 60.0, poll_s: float = 5.0) -> bool:
        """Send wake_up once, then poll the state until online or timeout_s passed; never repeats wake_up."""
        deadline = self._clock.now() + timedelta(seconds=timeout_s)
        if self._request("POST", f"/api/1/vehicles/{vin}/wake_up").get("state") == "online":
            return True
        while (remaining := (deadline - self._clock.now()).total_seconds()) > 0:
            self._clock.sleep(min(poll_s, remaining))
            if self.vehicle_state(vin) == "online":
                return True
        log.warning("vehicle did not come online", fields={"timeout_s": timeout_s})
        return False

    def set_charge_limit(self, vin: str, percent: int) -> dict[str, Any]:
        """Set the charge limit (%); `already_set` counts as success."""
        return self._command(vin, "set_charge_limit", {"percent": int(percent)})

    def add_charge_schedule(self, vin: str, schedule: Mapping[str, Any]) -> dict[str, Any]:
        """Add (or, with the same id, replace) a charge schedule."""
        return self._command(vin, "add_charge_schedule", dict(schedule))

    def remove_charge_schedule(self, vin: str, schedule_id: int) -> dict[str, Any]:
        """Remove the charge schedule with this id."""
        return self._command(vin, "remove_charge_schedule", {"id": int(schedule_id)})

    def _command(self, vin: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._request("POST", f"/api/1/vehicles/{vin}/command/{name}", body=body, command=True)
        if response.get("result") is not True:
            # The vehicle-command proxy reports the car's reason under "string" (pkg/proxy/proxy.go).
            reason = str(response.get("reason") or response.get("string") or "")
            if reason not in ALREADY_DONE_REASONS:
                raise TeslaCommandFailed(name, reason)
            log.info("command already in effect", fields={"command": name, "reason": reason})
        return response

    def _request(
        self, method: str, path: str, *, body: Mapping[str, Any] | None = None, command: bool = False
    ) -> dict[str, Any]:
        """One logical call: auth, bounded retries, error translation; returns Tesla's `response` object."""
        via_proxy = command and self._proxy_url is not None
        attempt_no = 0
        forced_refresh = False

        def attempt() -> dict[str, Any]:
            nonlocal attempt_no, forced_refresh
            attempt_no += 1
            response = self._send(method, path, body, self._tokens.get_access_token(), attempt_no, via_proxy)
            if response.status_code == 401 and not forced_refresh:
                forced_refresh = True  # one forced refresh per call: a second 401 is a real auth failure
                token = self._tokens.get_access_token(force_refresh=True)
                response = self._send(method, path, body, token, attempt_no, via_proxy)
            return self._translate(response, path)

        retrying = Retrying(
            stop=stop_after_attempt(self._max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(self._retryable),
            sleep=self._clock.sleep,
            reraise=True,
        )
        result: dict[str, Any] = retrying(attempt)
        return result

    def _send(
        self, method: str, path: str, body: Mapping[str, Any] | None, token: str, attempt: int, via_proxy: bool
    ) -> requests.Response:
        url = (self._proxy_url if via_proxy and self._proxy_url else self._base_url) + path
        verify = self._proxy_verify if via_proxy else True
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        fields: dict[str, Any] = {"method": method, "path": path, "attempt": attempt, "via_proxy": via_proxy}
        try:
            response = self._session.request(
                method, url, headers=headers, json=body, timeout=self._timeout, verify=verify
            )
        except requests.Timeout:
            log.warning("tesla request timed out", fields=fields)
            raise TeslaUnavailable(f"Tesla did not answer {method} {_short(path)} in time") from None
        except requests.RequestException as exc:
            log.warning("tesla request failed", fields={**fields, "error": type(exc).__name__})
            raise TeslaUnavailable(f"Tesla unreachable for {method} {_short(path)} ({type(exc).__name__})") from None
        log.info("tesla request", fields={**fields, "status": response.status_code})
        return response

    def _translate(self, response: requests.Response, path: str) -> dict[str, Any]:
        status = response.status_code
        body = json_object(response)
        if 200 <= status < 300:
            inner = body.get("response")
            if not isinstance(inner, dict):
                raise TeslaError(f"Tesla answer to {_short(path)} has no response object", tesla_status=status)
            return inner
        detail = str(body.get("error") or body.get("error_description") or "")[:200]
        if status == 401:
            raise TeslaAuthError("Tesla refused the access token after a forced refresh", tesla_status=status)
        if status == 408:
            raise VehicleAsleep(f"vehicle unavailable for {_short(path)}: asleep or offline")
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock.now())
            raise TeslaRateLimited(f"Tesla rate limit on {_short(path)}", retry_after=retry_after)
        if status >= 500:
            raise TeslaUnavailable(f"Tesla answered {status} for {_short(path)}", tesla_status=status)
        raise TeslaError(f"Tesla answered {status} for {_short(path)}: {detail or 'no detail'}", tesla_status=status)

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, TeslaRateLimited):
            # A Retry-After beyond our bound (seen at over 10 hours, FACTS) is raised, never slept on.
            return exc.retry_after is None or exc.retry_after <= self._max_retry_after_s
        return isinstance(exc, TeslaUnavailable)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TeslaRateLimited) and exc.retry_after is not None:
            return exc.retry_after
        return float(self._backoff(state))


def _short(path: str) -> str:
    """The path without its query, for messages."""
    return path.split("?", 1)[0]
