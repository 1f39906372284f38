"""The fake's plumbing: Google's error envelope, long-running operations, routing and the JSON state.

Errors copy the shape every Google REST API answers with (google.rpc.Status as JSON, documented at
https://cloud.google.com/apis/design/errors#http_mapping):
`{"error": {"code": 404, "message": "...", "status": "NOT_FOUND", "details": [...]}}`.
A call to an API the project has not enabled answers 403 PERMISSION_DENIED with an ErrorInfo of
reason SERVICE_DISABLED, as the real services do (same page, "Error details").
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

JsonDict = dict[str, Any]

if TYPE_CHECKING:
    from tests.deploy.gcp_fake.server import Fake

STATUS_BY_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    501: "UNIMPLEMENTED",
}


class ApiError(Exception):
    """An error answered in Google's JSON envelope."""

    def __init__(self, code: int, message: str, status: str | None = None, details: list[JsonDict] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_BY_CODE.get(code, "UNKNOWN")
        self.details = details or []

    def body(self) -> JsonDict:
        """The JSON body Google sends with this error."""
        error: JsonDict = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def not_found(message: str) -> ApiError:
    """A 404 NOT_FOUND."""
    return ApiError(404, message)


def already_exists(message: str) -> ApiError:
    """A 409 ALREADY_EXISTS."""
    return ApiError(409, message)


def service_disabled(service: str, title: str, project_number: str) -> ApiError:
    """The 403 every API answers while it is not enabled on the project."""
    message = (
        f"{title} has not been used in project {project_number} before or it is disabled. Enable it by visiting "
        f"https://console.developers.google.com/apis/api/{service}/overview?project={project_number} then retry."
    )
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "SERVICE_DISABLED",
        "domain": "googleapis.com",
        "metadata": {"service": service, "consumer": f"projects/{project_number}"},
    }
    return ApiError(403, message, "PERMISSION_DENIED", [info])


def now_rfc3339() -> str:
    """The current time as Google writes it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def done_operation(name: str, response: JsonDict | None = None, metadata: JsonDict | None = None) -> JsonDict:
    """A google.longrunning.Operation that is already finished."""
    operation: JsonDict = {"name": name, "done": True, "response": response or {}}
    if metadata is not None:
        operation["metadata"] = metadata
    return operation


def new_id() -> str:
    """A random identifier for operations, builds and uploads."""
    return uuid.uuid4().hex


@dataclass
class Request:
    """One HTTP request as the handlers see it."""

    method: str
    api: str  # first label of the host: "run", "iam", "storage"...
    region: str  # "europe-west1" for Cloud Run's regional host, else ""
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> JsonDict:
        """The body as JSON ({} when empty)."""
        return json.loads(self.body) if self.body else {}

    def arg(self, name: str, default: str = "") -> str:
        """One query parameter."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    """What a handler answers; a dict body is sent as JSON."""

    body: JsonDict | bytes = field(default_factory=dict)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["Fake", "Request"], "Response | JsonDict"]


@dataclass
class Route:
    """A method and a path pattern of one API, with its handler."""

    method: str
    api: str
    pattern: re.Pattern[str]
    handler: Handler


class Routes:
    """Collects the routes of one API family (`@routes.get("iam", r"/v1/projects/(?P<project>[^/]+)")`)."""

    def __init__(self) -> None:
        self.items: list[Route] = []

    def add(self, method: str, api: str, path: str) -> Callable[[Handler], Handler]:
        """Register a handler for METHOD on API at PATH (a regex, anchored)."""

        def register(handler: Handler) -> Handler:
            self.items.append(Route(method, api, re.compile(path + r"$"), handler))
            return handler

        return register

    def get(self, api: str, path: str) -> Callable[[Handler], Handler]:
        return self.add("GET", api, path)

    def post(self, api: str, path: str) -> Callable[[Handler], Handler]:
        return self.add("POST", api, path)

    def put(self, api: str, path: str) -> Callable[[Handler], Handler]:
        return self.add("PUT", api, path)

    def patch(self, api: str, path: str) -> Callable[[Handler], Handler]:
        return self.add("PATCH", api, path)

    def delete(self, api: str, path: str) -> Callable[[Handler], Handler]:
        return self.add("DELETE", api, path)


class State:
    """All resources, as one JSON document saved after every change (so it outlives the server)."""

    def __init__(self, path: Path, seed: JsonDict) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.data: JsonDict = json.loads(path.read_text()) if path.exists() else seed
        self.save()

    def save(self) -> None:
        """Write the document (atomically: readers never see half a file)."""
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        tmp.replace(self.path)

    def table(self, name: str) -> JsonDict:
        """One collection of resources keyed by their full name."""
        return self.data.setdefault(name, {})
