"""The worker's HTTP API as the owner uses it: one `_request`, one short method per endpoint, errors translated once."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from offpeak_cli.errors import RUNTIME, USAGE, CliError
from offpeak_cli.target import Target

TIMEOUT_S = 120  # a plan preview on a cold Cloud Run instance may read prices and the car first
DEPLOYED_FORBIDDEN = (
    "your account may not call the worker: ask the owner to add you to WORKER_OWNER_EMAILS "
    "and grant roles/run.invoker on the worker (deploy/README.md)"
)


class WorkerClient:
    """Calls one worker with its credential; every failure becomes one CliError line."""

    def __init__(self, target: Target, session: requests.Session | None = None) -> None:
        self.target = target
        self._session = session or requests.Session()

    def add_need(self, target_soc: int, departure: str) -> dict[str, Any]:
        """POST /special-charging-needs: 201 {"status", "need"}."""
        return self._request("POST", "/special-charging-needs", {"target_soc": target_soc, "departure": departure})

    def list_needs(self) -> dict[str, Any]:
        """GET /special-charging-needs: {"needs": [...]}."""
        return self._request("GET", "/special-charging-needs")

    def cancel_need(self, need_id: str) -> dict[str, Any]:
        """DELETE /special-charging-needs/<id>: {"status", "need", "message"?}."""
        return self._request("DELETE", f"/special-charging-needs/{quote(need_id, safe='')}")

    def plan_preview(self, target_soc: int, departure: str) -> dict[str, Any]:
        """POST /plan-preview with the car's own state of charge: {"plan": {...}}."""
        return self._request("POST", "/plan-preview", {"target_soc": target_soc, "departure": departure})

    def status(self) -> dict[str, Any]:
        """GET /status: the car, tonight's plan, sessions, jobs, tokens, signing and recent failures."""
        try:
            return self._request("GET", "/status")
        except CliError as error:
            if error.status == 404:
                raise CliError(
                    f"the worker at {self.target.url} has no GET /status yet: update it "
                    "(restart `make run` from a newer checkout, or deploy again)",
                    status=404,
                ) from None
            raise

    def daily_check(self) -> dict[str, Any]:
        """POST /daily-special-charging-check: {"sessions": [...], "swept": {...}}."""
        return self._request("POST", "/daily-special-charging-check")

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = self.target.url + path
        headers = {"Authorization": f"Bearer {self.target.token}", "Accept": "application/json"}
        try:
            answer = self._session.request(method, url, json=body, headers=headers, timeout=TIMEOUT_S)
        except requests.Timeout:
            raise CliError(f"the worker at {self.target.url} did not answer within {TIMEOUT_S} s") from None
        except requests.RequestException:
            raise CliError(self._unreachable()) from None
        data = _json_object(answer)
        if answer.status_code < 400:
            if data is None:
                raise CliError(f"the worker at {self.target.url} answered {path} with something that is not JSON")
            return data
        raise self._refusal(answer.status_code, data or {})

    def _unreachable(self) -> str:
        if self.target.mode == "local":
            return f"worker unreachable at {self.target.url}: is `make run` up?"
        return f"worker unreachable at {self.target.url}: check your network connection"

    def _refusal(self, status: int, data: dict[str, Any]) -> CliError:
        message = str(data.get("message") or data.get("error") or "").strip()
        if status in (401, 403):
            if self.target.mode == "local":
                text = (
                    f"the local worker at {self.target.url} refused the token from {self.target.source} ({status}): "
                    "is this the `make run` of the same STATE_DIR?"
                )
                return CliError(text, status=status)
            return CliError(f"{DEPLOYED_FORBIDDEN} ({status})", status=status)
        if status in (400, 404):  # what was typed: a bad time, an unknown need id
            return CliError(f"worker: {message or f'HTTP {status}'}", exit_code=USAGE, status=status)
        code = data.get("error") or "http_error"
        return CliError(f"worker error {status} ({code}): {message or 'no message'}", exit_code=RUNTIME, status=status)


def _json_object(answer: requests.Response) -> dict[str, Any] | None:
    try:
        data = answer.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
