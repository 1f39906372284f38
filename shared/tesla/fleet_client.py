"""Tesla Fleet API client (contract section 8): one `_request()`, one short method per endpoint.

`_request()` sets the bearer token and a timeout on every call, retries 5xx answers, connection
errors and 429s (honouring Retry-After) with bounded exponential backoff and jitter, refreshes the
token once on a 401 (handing over the token that failed, so a refresh another instance already
made is reused), and translates every failure into shared.tesla.errors. Answers that only the
owner can fix (a missing scope, a car that needs signed commands) are raised at once, never
retried: every answer below 500 is billed (FACTS). Sleeps go through the injected clock so virtual
clocks work. Billing is counted by Tesla (and the simulator), not here.

Which commands are signed, and how, is decided in shared.tesla.command_routing; this client only
carries unsigned REST commands, proxy commands and the signed messages' envelope.
"""

from __future__ import annotations

import base64
import binascii
import random
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Protocol

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from shared.clock import Clock
from shared.http_json import json_object
from shared.log import get_logger
from shared.tesla.errors import (
    MissingScope,
    SigningRequired,
    TeslaAuthError,
    TeslaCommandFailed,
    TeslaError,
    TeslaRateLimited,
    TeslaUnavailable,
    VehicleAsleep,
    WrongRegion,
)
from shared.tesla.retry_after import parse_retry_after
from shared.tesla.scopes import LOCATION_SCOPE, ScopeMemory, scope_remedy, token_scopes

log = get_logger("TESLA")

# Since firmware 2023.38 the position needs `location_data`; Tesla documents the literal semicolon.
# charge_schedule_data comes in the same billed call: what the car holds tells the worker what to send.
VEHICLE_DATA_QUERY = "endpoints=location_data;charge_state;charge_schedule_data"
# Without the vehicle_location scope Tesla refuses the whole call when location_data is asked for.
VEHICLE_DATA_QUERY_NO_LOCATION = "endpoints=charge_state;charge_schedule_data"
# A command answered `result: false` for one of these reasons already has the wanted effect.
ALREADY_DONE_REASONS = frozenset({"already_set"})
# Reasons that mean "done" only for the command named (stopping a car that is not charging).
DONE_FOR_COMMAND = {"charge_stop": frozenset({"not_charging"}), "charge_start": frozenset({"requested"})}
HARDLOCKED = "unsigned_cmds_hardlocked"
SIGNING_REMEDY = (
    "give the worker the command key (TESLA_COMMAND_KEY_FILE locally, the secret tesla-command-key on GCP), "
    "pair it with the car (https://tesla.com/_ak/<your app domain>), and leave TESLA_COMMAND_SIGNING at auto"
)
WAKE_TIMEOUT_S = 90.0  # cars may need up to ~90 s to come online; Tessie waits 90 s (FACTS)
_URL = re.compile(r"https://[^\s,;\"']+")


class TokenProvider(Protocol):
    """Hands out a valid access token; force_refresh=True refreshes even if the cached one looks valid.

    `stale_token` is the token Tesla just refused: a provider that already holds a newer one (another
    instance refreshed) hands that out instead of refreshing again.
    """

    def get_access_token(self, force_refresh: bool = False, *, stale_token: str | None = None) -> str: ...


def refusal_reason(response: Mapping[str, Any]) -> str:
    """The car's reason from a command answer, without the proxy's "car could not execute command: " prefix."""
    reason = str(response.get("reason") or response.get("string") or "")
    return reason.rsplit(": ", 1)[-1].strip()


def counts_as_done(command: str, reason: str) -> bool:
    """Whether a refusal reason means the command's effect is already in place."""
    return reason in ALREADY_DONE_REASONS or reason in DONE_FOR_COMMAND.get(command, frozenset())


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
        scopes: ScopeMemory | None = None,
        rng: random.Random | None = None,
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
        self._backoff = wait_exponential(multiplier=1, max=30)
        # Jitter keeps two workers from retrying in step; a seeded rng makes a simulated month repeatable.
        self._rng = rng or random.Random()
        self._scopes = scopes

    @property
    def base_url(self) -> str:
        return self._base_url

    def vehicle_state(self, vin: str) -> str:
        """`online`, `asleep` or `offline`; never wakes the car."""
        state = self._request("GET", f"/api/1/vehicles/{vin}").get("state")
        if not isinstance(state, str):
            raise TeslaError("vehicle answer lacks a state")
        return state

    def vehicle_data(self, vin: str) -> dict[str, Any]:
        """vehicle_data with charge_state, and location_data when the token may read it; VehicleAsleep on 408.

        Without the vehicle_location scope the answer has no drive_state: callers treat the position
        as unknown (the scope is known missing from the JWT's `scp`, or learnt from a 403 once a day).
        """
        # One token read serves the scope check and the first attempt (each read may be a secret access).
        token = self._tokens.get_access_token()
        if not self.location_allowed(token):
            path = f"/api/1/vehicles/{vin}/vehicle_data?{VEHICLE_DATA_QUERY_NO_LOCATION}"
            return self._request("GET", path, first_token=token)
        try:
            data = self._request(
                "GET",
                f"/api/1/vehicles/{vin}/vehicle_data?{VEHICLE_DATA_QUERY}",
                scope=LOCATION_SCOPE,
                first_token=token,
            )
        except MissingScope as missing:
            if self._scopes is None or missing.scope != LOCATION_SCOPE:
                raise
            if self._scopes.learn_missing(LOCATION_SCOPE):
                log.warning(
                    f"the Tesla token lacks the vehicle_location scope: the position cannot be read; {missing.remedy}",
                    fields={"error": missing.code},
                )
            return self._request("GET", f"/api/1/vehicles/{vin}/vehicle_data?{VEHICLE_DATA_QUERY_NO_LOCATION}")
        if self._scopes is not None:
            self._scopes.forget(LOCATION_SCOPE)
        return data

    def location_allowed(self, token: str | None = None) -> bool:
        """False when the token's `scp` lacks vehicle_location or a 403 taught us so in the last day."""
        if self._scopes is not None and LOCATION_SCOPE in self._scopes.missing():
            return False
        granted = token_scopes(token or self._tokens.get_access_token())
        return granted is None or LOCATION_SCOPE in granted

    def fleet_status(self, vins: list[str]) -> dict[str, Any]:
        """POST /api/1/vehicles/fleet_status: pairing, signing need and firmware per VIN."""
        return self._request("POST", "/api/1/vehicles/fleet_status", body={"vins": list(vins)})

    def user_region(self) -> dict[str, Any]:
        """GET /api/1/users/region: the account's region and its Fleet API base URL."""
        return self._request("GET", "/api/1/users/region")

    def signed_command(self, vin: str, routable_message: bytes) -> bytes:
        """POST a Vehicle Command Protocol message; returns the car's RoutableMessage bytes."""
        body = {"routable_message": base64.b64encode(routable_message).decode()}
        response = self._request("POST", f"/api/1/vehicles/{vin}/signed_command", body=body, raw_response=True)
        encoded = response.get("response")
        if not isinstance(encoded, str):
            raise TeslaError("signed_command answer has no response message", tesla_status=200)
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise TeslaError("signed_command answer is not base64", tesla_status=200) from None

    def wake_up(self, vin: str, timeout_s: float = WAKE_TIMEOUT_S, poll_s: float = 5.0) -> bool:
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

    def unsigned_command(self, vin: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A REST command (`/command/{name}`), to the proxy when one is configured; checks the result."""
        return self._command(vin, name, dict(body))

    @property
    def via_proxy(self) -> bool:
        """Commands go to the owner's vehicle-command proxy, which signs them itself."""
        return self._proxy_url is not None

    def _command(self, vin: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._request(
            "POST", f"/api/1/vehicles/{vin}/command/{name}", body=body, command=True, scope="vehicle_cmds"
        )
        return check_command_result(name, response)

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        command: bool = False,
        scope: str | None = None,
        raw_response: bool = False,
        first_token: str | None = None,
    ) -> dict[str, Any]:
        """One logical call: auth, bounded retries, error translation; returns Tesla's `response` object."""
        via_proxy = command and self._proxy_url is not None
        attempt_no = 0
        forced_refresh = False

        def attempt() -> dict[str, Any]:
            nonlocal attempt_no, forced_refresh
            attempt_no += 1
            token = first_token if attempt_no == 1 and first_token else self._tokens.get_access_token()
            response = self._send(method, path, body, token, attempt_no, via_proxy)
            if response.status_code == 401 and not forced_refresh:
                forced_refresh = True  # one forced refresh per call: a second 401 is a real auth failure
                token = self._tokens.get_access_token(force_refresh=True, stale_token=token)
                response = self._send(method, path, body, token, attempt_no, via_proxy)
            return self._translate(response, path, via_proxy=via_proxy, scope=scope, raw=raw_response)

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

    def _translate(
        self, response: requests.Response, path: str, *, via_proxy: bool, scope: str | None, raw: bool
    ) -> dict[str, Any]:
        status = response.status_code
        body = json_object(response)
        if 200 <= status < 300:
            if raw:
                return body
            inner = body.get("response")
            if not isinstance(inner, dict):
                raise TeslaError(f"Tesla answer to {_short(path)} has no response object", tesla_status=status)
            return inner
        detail = str(body.get("error") or body.get("error_description") or "")[:200]
        if status == 403 and "vehicle command protocol required" in detail.lower():
            raise SigningRequired(
                f"the car accepts only signed commands ({_short(path)} was refused unsigned)",
                remedy=SIGNING_REMEDY,
                tesla_status=403,
            )
        if status == 403 and "missing scope" in detail.lower():
            wanted = scope or "unknown"
            raise MissingScope(
                f"the Tesla token lacks the {wanted} scope for {_short(path)}",
                scope=wanted,
                remedy=scope_remedy(wanted),
            )
        if status == 421:
            named = _URL.search(detail + " " + str(body.get("error_description") or ""))
            base_url = named.group(0).rstrip("./") if named else None
            raise WrongRegion(
                "the Tesla account lives in another region: set TESLA_API_BASE_URL="
                + (base_url or "the base URL that GET /api/1/users/region names"),
                base_url=base_url,
            )
        if via_proxy and status == 500 and "offline or asleep" in detail.lower():
            # The vehicle-command proxy answers 500 for a sleeping car (vehicle-command issue 186).
            raise VehicleAsleep(f"vehicle unavailable for {_short(path)}: asleep or offline", tesla_status=500)
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
        return float(self._backoff(state)) + self._rng.uniform(0, 1)


def check_command_result(name: str, response: dict[str, Any]) -> dict[str, Any]:
    """Raise TeslaCommandFailed (or SigningRequired) for a refusal that is not already-done; else the answer."""
    if response.get("result") is True:
        return response
    reason = refusal_reason(response)
    if reason == HARDLOCKED:
        raise SigningRequired(f"the car refused unsigned {name} ({HARDLOCKED})", remedy=SIGNING_REMEDY)
    if not counts_as_done(name, reason):
        raise TeslaCommandFailed(name, reason)
    log.info("command already in effect", fields={"command": name, "reason": reason})
    return response


def _short(path: str) -> str:
    """The path without its query, for messages."""
    return path.split("?", 1)[0]
