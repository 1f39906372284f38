"""A local stand-in for the Google Cloud APIs the deploy scripts call, served to the real gcloud CLI.

gcloud reaches it through `api_endpoint_overrides/<api>` set to made-up hosts (`http://run.gcp.test/`)
and its own `proxy/*` setting pointing at this server: Cloud Run's gcloud derives a regional host
from the override (`europe-west1-run.gcp.test`, as it derives `europe-west1-run.googleapis.com`,
googlecloudsdk/command_lib/run/connection_context.py), which no loopback address could carry, so
requests arrive as proxy requests and are routed on their host. Secret Manager and Cloud Scheduler
are forwarded to a drongo server (`drongo server`), except what drongo does not serve (IAM
policies of secrets, the delivery and logs of a job run), which this fake answers itself.
"""

from __future__ import annotations

import json
import ssl
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.deploy.gcp_fake import (
    artifacts,
    build,
    firestore,
    functions,
    iam,
    logs,
    monitoring,
    project,
    run,
    scheduler,
    secrets,
    storage,
)
from tests.deploy.gcp_fake.core import ApiError, JsonDict, Request, Response, Route, State, service_disabled

# The service each API host belongs to, with the title its SERVICE_DISABLED message uses;
# None: answered whether or not enabled (gcloud bills those calls to its own project, or they are not APIs).
SERVICES: dict[str, tuple[str, str] | None] = {
    "serviceusage": None,
    "cloudresourcemanager": None,
    "oauth2": None,
    "iam": ("iam.googleapis.com", "Identity and Access Management (IAM) API"),
    "iamcredentials": ("iamcredentials.googleapis.com", "IAM Service Account Credentials API"),
    "firestore": ("firestore.googleapis.com", "Cloud Firestore API"),
    "artifactregistry": ("artifactregistry.googleapis.com", "Artifact Registry API"),
    "cloudbuild": ("cloudbuild.googleapis.com", "Cloud Build API"),
    "storage": ("storage.googleapis.com", "Cloud Storage API"),
    "run": ("run.googleapis.com", "Cloud Run Admin API"),
    "cloudfunctions": ("cloudfunctions.googleapis.com", "Cloud Functions API"),
    "logging": ("logging.googleapis.com", "Cloud Logging API"),
    "monitoring": ("monitoring.googleapis.com", "Cloud Monitoring API"),
    "cloudscheduler": ("cloudscheduler.googleapis.com", "Cloud Scheduler API"),
    "secretmanager": ("secretmanager.googleapis.com", "Secret Manager API"),
}
DRONGO_APIS = ("secretmanager", "cloudscheduler")
# Enabled in every new project (cloud.google.com/service-usage/docs/enabled-service#default).
DEFAULT_SERVICES = [
    "bigquery.googleapis.com",
    "bigquerystorage.googleapis.com",
    "cloudapis.googleapis.com",
    "cloudtrace.googleapis.com",
    "datastore.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "servicemanagement.googleapis.com",
    "serviceusage.googleapis.com",
    "sql-component.googleapis.com",
    "storage-api.googleapis.com",
    "storage-component.googleapis.com",
    "storage.googleapis.com",
]
MODULES = (project, iam, firestore, artifacts, build, storage, run, functions, secrets, scheduler, logs, monitoring)


def seed(project_id: str, project_number: str, owner: str) -> JsonDict:
    """A new, empty project: only Google's default APIs are enabled; OWNER (a member) owns it."""
    owner_policy = {"version": 1, "serial": 1, "bindings": [{"role": "roles/owner", "members": [owner]}]}
    return {
        "project": {"projectId": project_id, "projectNumber": project_number, "lifecycleState": "ACTIVE"},
        "enabled": list(DEFAULT_SERVICES),
        "policies": {f"projects/{project_id}": owner_policy},
        "requests": [],
    }


class Fake:
    """The fake's state, its routes and the drongo server behind it."""

    def __init__(self, state_path: Path, project_id: str, project_number: str, drongo_url: str, owner: str) -> None:
        self.state = State(state_path, seed(project_id, project_number, owner))
        self.project_id = project_id
        self.project_number = project_number
        self.deployer = owner.split(":", 1)[-1]  # the e-mail gcloud is logged in as
        self.drongo_url = drongo_url.rstrip("/")
        self.routes: list[Route] = [route for module in MODULES for route in module.routes.items]
        self.base_url = ""  # http://127.0.0.1:PORT, known once the server is bound

    # -- helpers for the API modules -----------------------------------------------------------

    @property
    def data(self) -> JsonDict:
        return self.state.data

    def table(self, name: str) -> JsonDict:
        return self.state.table(name)

    def check_project(self, project: str) -> None:
        """Only the one project exists (by ID or number), as for a caller who owns just that one."""
        if project not in (self.project_id, self.project_number):
            raise ApiError(403, f"Permission denied on resource project {project}.", "PERMISSION_DENIED")

    def drongo(self, method: str, path: str, body: JsonDict | None = None) -> tuple[int, JsonDict]:
        """Call drongo directly (JSON in, JSON out)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.drongo_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    # -- dispatch ------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request: enabled check, then a route of ours, then drongo."""
        with self.state.lock:
            self.data["requests"].append({"method": request.method, "api": request.api, "path": request.path})
            try:
                self._check_enabled(request.api)
                response = self._route(request)
            except ApiError as error:
                response = Response(error.body(), error.code)
            except Exception as error:  # a bug of the fake: 400, since gcloud retries a 500 for half a minute
                self.data.setdefault("unserved", []).append(f"{request.method} {request.api} {request.path}: {error!r}")
                response = Response(ApiError(400, f"gcp_fake crashed: {error!r}").body(), 400)
            self.state.save()
            return response

    def _check_enabled(self, api: str) -> None:
        service = SERVICES.get(api, ("?", "?"))
        if service is not None and service[0] not in self.data["enabled"]:
            raise service_disabled(service[0], service[1], self.project_number)

    def _route(self, request: Request) -> Response:
        for route in self.routes:
            if route.api != request.api or route.method != request.method:
                continue
            match = route.pattern.match(request.path)
            if match:
                request.params = match.groupdict()
                answer = route.handler(self, request)
                return answer if isinstance(answer, Response) else Response(answer)
        if request.api in DRONGO_APIS:
            return self._forward_to_drongo(request)
        # 400, not 501: gcloud retries 5xx for half a minute. Tests assert this list stays empty.
        self.data.setdefault("unserved", []).append(f"{request.method} {request.api} {request.path}")
        raise ApiError(400, f"gcp_fake does not serve {request.method} {request.api} {request.path}")

    def _forward_to_drongo(self, request: Request) -> Response:
        query = "&".join(f"{k}={v}" for k, values in request.query.items() for v in values)
        url = f"{self.drongo_url}{request.path}" + (f"?{query}" if query else "")
        upstream = urllib.request.Request(url, data=request.body or None, method=request.method)
        upstream.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(upstream, timeout=10) as answer:
                return Response(answer.read(), answer.status, {"Content-Type": "application/json"})
        except urllib.error.HTTPError as error:
            return Response(error.read(), error.code, {"Content-Type": "application/json"})


def parse(handler: BaseHTTPRequestHandler, body: bytes) -> Request:
    """A Request from a proxy request (absolute URI) or a direct one (Host header)."""
    url = urlsplit(handler.path)
    host = (url.netloc or handler.headers.get("Host", "")).split(":")[0]
    label = host.split(".")[0]
    region = ""
    if "-run" in label and label.endswith("-run"):  # Cloud Run's regional host: europe-west1-run.gcp.test
        region, label = label[: -len("-run")], "run"
    if host in ("127.0.0.1", "localhost"):
        label = "direct"
    headers = {k.lower(): v for k, v in handler.headers.items()}
    return Request(handler.command, label, region, url.path, parse_qs(url.query), headers, body)


def make_handler(fake: Fake, tls: ssl.SSLContext | None) -> type[BaseHTTPRequestHandler]:
    """The HTTP handler class bound to one Fake."""

    class FakeHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            response = fake.handle(parse(self, body))
            payload = response.body if isinstance(response.body, bytes) else json.dumps(response.body).encode()
            self.send_response(response.status)
            headers = {"Content-Type": "application/json; charset=UTF-8", **response.headers}
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def do_CONNECT(self) -> None:
            """An HTTPS tunnel to a `*.run.app` host (curl through its proxy): TLS ends here."""
            host = self.path.split(":")[0]
            if tls is None or not host.endswith(".run.app"):
                self.send_error(502, "gcp_fake tunnels only to *.run.app")
                return
            self.send_response(200, "Connection established")
            self.end_headers()
            secure = tls.wrap_socket(self.connection, server_side=True)
            data_plane_handler(fake, host)(secure, self.client_address, self.server)
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read the request log instead
            pass

    return FakeHandler


def data_plane_handler(fake: Fake, host: str) -> type[BaseHTTPRequestHandler]:
    """Serves the requests inside one tunnel as the Cloud Run service at HOST."""

    class DataPlane(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            with fake.state.lock:
                fake.data["requests"].append({"method": self.command, "api": "run.app", "path": f"{host}{self.path}"})
                response = run.handle_data_plane(fake, host, self.path, headers)
                fake.state.save()
            payload = response.body if isinstance(response.body, bytes) else json.dumps(response.body).encode()
            self.send_response(response.status)
            for key, value in {"Content-Type": "application/json", **response.headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return DataPlane


class FakeServer:
    """The fake on a free loopback port, serving from a thread."""

    def __init__(self, fake: Fake, tls_files: tuple[Path, Path] | None = None) -> None:
        self.fake = fake
        tls = None
        if tls_files is not None:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(*tls_files)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake, tls))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        fake.base_url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
