"""Authenticated calls from the scout (or the simulator) to the worker (contract section 5)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from shared.clock import Clock
from shared.errors import UpstreamError
from shared.http_json import json_object
from shared.log import get_logger

log = get_logger("SCOUT")
ID_TOKEN_REUSE_S = 45 * 60  # Google ID tokens live an hour; fetch a new one well before that


class WorkerUnavailable(UpstreamError):
    """The worker could not be reached or failed; the scout finishes its tick and tries next time."""

    status = 503
    code = "worker_unavailable"


@dataclass(frozen=True)
class WorkerAnswer:
    status: int
    body: dict[str, Any]


IdTokenFetcher = Callable[[str], str]


def google_id_token(audience: str) -> str:
    """A Google-signed ID token for the audience, from the runtime's service account."""
    import google.auth.transport.requests
    import google.oauth2.id_token

    return str(google.oauth2.id_token.fetch_id_token(google.auth.transport.requests.Request(), audience))


class WorkerClient:
    """POSTs JSON to the worker with the credential the worker expects."""

    def __init__(
        self,
        base_url: str,
        *,
        auth_mode: str,
        clock: Clock,
        api_token: str | None = None,
        session: requests.Session | None = None,
        id_token_fetcher: IdTokenFetcher | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._mode = auth_mode
        self._clock = clock
        self._api_token = api_token
        self._session = session or requests.Session()
        self._fetch_id_token = id_token_fetcher or google_id_token
        self._id_token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def _authorization(self) -> dict[str, str]:
        if self._mode == "shared-secret" and self._api_token:
            return {"Authorization": f"Bearer {self._api_token}"}
        if self._mode == "google-oidc":
            with self._lock:
                now = self._clock.now().timestamp()
                if self._id_token is None or now - self._id_token[1] > ID_TOKEN_REUSE_S:
                    self._id_token = (self._fetch_id_token(self._base), now)
                return {"Authorization": f"Bearer {self._id_token[0]}"}
        return {}

    def post(self, path: str, body: dict[str, Any] | None = None, *, timeout_s: float = 45.0) -> WorkerAnswer:
        """POST and return the answer; WorkerUnavailable when the worker cannot be reached."""
        headers = {"Content-Type": "application/json", **self._authorization()}
        try:
            response = self._session.post(
                self._base + path, data=json.dumps(body or {}), headers=headers, timeout=(5, timeout_s)
            )
        except requests.RequestException as error:
            raise WorkerUnavailable(f"worker unreachable at {path}: {type(error).__name__}") from None
        return WorkerAnswer(response.status_code, json_object(response))
