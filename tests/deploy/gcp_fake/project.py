"""The project itself: Service Usage (enabled APIs), Resource Manager (project, its IAM policy) and
the OAuth token endpoint gcloud refreshes its credentials at.

Shapes from the discovery documents behind gcloud's generated clients
(googlecloudsdk/generated_clients/apis/serviceusage/v1, cloudresourcemanager/v1): `services.list`
answers `{"services": [{"name": "projects/NUMBER/services/API", "config": {"name": API}, "state"}]}`,
`services.batchEnable` a long-running operation; `projects.get` a Project with `projectNumber`.
The token endpoint answers like https://oauth2.googleapis.com/token to a service-account JWT grant
(developers.google.com/identity/protocols/oauth2/service-account#httprest): an access token, or an
ID token when the assertion asks for a `target_audience`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from tests.deploy.gcp_fake import policies
from tests.deploy.gcp_fake.core import ApiError, JsonDict, Request, Routes, done_operation, new_id

if TYPE_CHECKING:
    from tests.deploy.gcp_fake.server import Fake

routes = Routes()
PROJECT = r"/v1/projects/(?P<project>[^/:]+)"


def _service(fake: Fake, name: str) -> JsonDict:
    parent = f"projects/{fake.project_number}"
    return {"name": f"{parent}/services/{name}", "config": {"name": name}, "state": "ENABLED", "parent": parent}


@routes.get("serviceusage", PROJECT + "/services")
def list_services(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    enabled = sorted(fake.data["enabled"])
    if "DISABLED" in request.arg("filter"):
        return {}
    return {"services": [_service(fake, name) for name in enabled]}


@routes.get("serviceusage", PROJECT + r"/services/(?P<service>[^/:]+)")
def get_service(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    name = request.params["service"]
    service = _service(fake, name)
    service["state"] = "ENABLED" if name in fake.data["enabled"] else "DISABLED"
    return service


@routes.post("serviceusage", PROJECT + "/services:batchEnable")
def batch_enable(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    ids = request.json().get("serviceIds", [])
    for name in ids:
        if not name.endswith(".googleapis.com"):
            raise ApiError(400, f"Invalid service name {name}.")
        if name not in fake.data["enabled"]:
            fake.data["enabled"].append(name)
    response = {
        "@type": "type.googleapis.com/google.api.serviceusage.v1.BatchEnableServicesResponse",
        "services": [_service(fake, name) for name in ids],
    }
    return done_operation(f"operations/acat.p2-{fake.project_number}-{new_id()}", response)


@routes.post("serviceusage", PROJECT + r"/services/(?P<service>[^/:]+):enable")
def enable(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    name = request.params["service"]
    if name not in fake.data["enabled"]:
        fake.data["enabled"].append(name)
    response = {
        "@type": "type.googleapis.com/google.api.serviceusage.v1.EnableServiceResponse",
        "service": _service(fake, name),
    }
    return done_operation(f"operations/acf.p2-{fake.project_number}-{new_id()}", response)


@routes.get("cloudresourcemanager", PROJECT)
def get_project(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    return dict(fake.data["project"])


@routes.post("cloudresourcemanager", PROJECT + ":getIamPolicy")
def get_project_policy(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    return policies.read(fake, f"projects/{fake.project_id}")


@routes.post("cloudresourcemanager", PROJECT + ":setIamPolicy")
def set_project_policy(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    return policies.write(fake, f"projects/{fake.project_id}", request.json())


def _jwt_claims(token: str) -> JsonDict:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def id_token(email: str, audience: str, subject: str | None = None) -> str:
    """An ID token shaped like Google's (unsigned: nothing here verifies signatures); `sub` is the account's id."""

    def part(value: JsonDict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": audience,
        "azp": email,
        "email": email,
        "email_verified": True,
        "sub": subject or str(int(hashlib.sha256(email.encode()).hexdigest(), 16) % 10**21),
        "iat": now,
        "exp": now + 3600,
    }
    signature = base64.urlsafe_b64encode(b"gcp-fake: not signed").decode().rstrip("=")
    return f"{part({'alg': 'RS256', 'kid': 'gcp-fake', 'typ': 'JWT'})}.{part(claims)}.{signature}"


@routes.post("oauth2", r"/token")
def token(fake: Fake, request: Request) -> JsonDict:
    form = parse_qs(request.body.decode())
    claims = _jwt_claims(form["assertion"][0])
    if "target_audience" in claims:
        return {"id_token": id_token(claims["iss"], claims["target_audience"])}
    return {"access_token": f"ya29.gcp-fake-{new_id()}", "expires_in": 3599, "token_type": "Bearer"}
