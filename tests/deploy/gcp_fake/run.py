"""Cloud Run: Knative services on the regional endpoint, their IAM policy, and a data plane.

Shapes from googlecloudsdk/generated_clients/apis/run/v1 (Service, ObjectMeta, ServiceStatus) and
https://cloud.google.com/run/docs/reference/rest/v1/namespaces.services: gcloud talks to
`REGION-run.googleapis.com/apis/serving.knative.dev/v1/namespaces/PROJECT/services[/NAME]`
(GET 404 NOT_FOUND when missing, POST creates, PUT replaces) and to
`/v1/projects/P/locations/R/services/NAME:getIamPolicy|setIamPolicy`. A service is Ready at once;
a new revision is made only when the template changed, as Cloud Run does; the URL is the
deterministic `https://NAME-PROJECT_NUMBER.REGION.run.app`
(https://cloud.google.com/run/docs/triggering/https-request#deterministic).

The data plane (`handle_data_plane`) answers HTTPS requests for `*.run.app` that reach the fake
through its CONNECT proxy (the smoke check's curl): like Cloud Run IAM it refuses a request without
a token (401) or whose caller lacks roles/run.invoker (403), and a token whose audience is not the
service's URL (401); the worker's own `/health` answer comes from state `worker_health`.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import TYPE_CHECKING, Any

from tests.deploy.gcp_fake import grants, policies
from tests.deploy.gcp_fake.core import ApiError, JsonDict, Request, Response, Routes, new_id, not_found, now_rfc3339

if TYPE_CHECKING:
    from tests.deploy.gcp_fake.server import Fake

routes = Routes()
SERVICES = r"/apis/serving\.knative\.dev/v1/namespaces/(?P<namespace>[^/]+)/services"
SERVICE = SERVICES + r"/(?P<name>[^/:]+)"
V1_SERVICE = r"/v1/projects/(?P<project>[^/]+)/locations/(?P<region>[^/]+)/services/(?P<name>[^/:]+)"
GCLOUD_CLIENT_ID = "32555940559.apps.googleusercontent.com"  # the audience of `gcloud auth print-identity-token`


def service_name(fake: Fake, region: str, name: str) -> str:
    """The full resource name of a Cloud Run service."""
    return f"projects/{fake.project_id}/locations/{region}/services/{name}"


def service_url(fake: Fake, region: str, name: str) -> str:
    """The deterministic URL Cloud Run gives a service."""
    return f"https://{name}-{fake.project_number}.{region}.run.app"


def _region(request: Request) -> str:
    if not request.region:
        raise ApiError(400, "gcp_fake: Knative calls must use the regional endpoint")
    return request.region


def _status(fake: Fake, service: JsonDict, region: str, revision: str) -> JsonDict:
    url = service_url(fake, region, service["metadata"]["name"])
    ready = [
        {"type": kind, "status": "True", "lastTransitionTime": now_rfc3339()}
        for kind in ("Ready", "ConfigurationsReady", "RoutesReady")
    ]
    return {
        "observedGeneration": service["metadata"]["generation"],
        "conditions": ready,
        "latestReadyRevisionName": revision,
        "latestCreatedRevisionName": revision,
        "traffic": [{"revisionName": revision, "percent": 100, "latestRevision": True}],
        "url": url,
        "address": {"url": url},
    }


def store_service(fake: Fake, region: str, body: JsonDict, creator: str = "deployer") -> JsonDict:
    """Create or replace a service from its Knative description (also used by Cloud Functions)."""
    name = body["metadata"]["name"]
    key = service_name(fake, region, name)
    old = fake.table("run_services").get(key)
    service = copy.deepcopy(body)
    meta = service.setdefault("metadata", {})
    template = service.setdefault("spec", {}).setdefault("template", {})
    meta["namespace"] = fake.project_number
    meta["selfLink"] = f"/apis/serving.knative.dev/v1/namespaces/{fake.project_number}/services/{name}"
    meta.setdefault("labels", {})["cloud.googleapis.com/location"] = region
    meta.setdefault("annotations", {})["serving.knative.dev/creator"] = creator
    if old is None:
        meta.update(uid=new_id(), generation=1, creationTimestamp=now_rfc3339())
        revisions = 1
    else:
        meta.update(uid=old["metadata"]["uid"], creationTimestamp=old["metadata"]["creationTimestamp"])
        changed = _template(old) != template
        meta["generation"] = old["metadata"]["generation"] + (1 if changed or old["spec"] != service["spec"] else 0)
        revisions = old["revisions"] + (1 if changed else 0)
    meta["resourceVersion"] = new_id()[:12]
    service["revisions"] = revisions
    service["status"] = _status(
        fake,
        service,
        region,
        f"{name}-{revisions:05d}-{new_id()[:3]}"
        if old is None or revisions != old["revisions"]
        else old["status"]["latestReadyRevisionName"],
    )
    fake.table("run_services")[key] = service
    return _public(service)


def _template(service: JsonDict) -> Any:
    return service["spec"].get("template", {})


def _public(service: JsonDict) -> JsonDict:
    shown = copy.deepcopy(service)
    shown.pop("revisions", None)
    return shown


def _service(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["namespace"])
    found = fake.table("run_services").get(service_name(fake, _region(request), request.params["name"]))
    if found is None:
        raise not_found(
            f"Resource '{request.params['name']}' of kind 'SERVICE' in region '{_region(request)}' in project '{fake.project_id}' does not exist."
        )
    return found


@routes.get("run", SERVICES)
def list_services(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["namespace"])
    prefix = service_name(fake, _region(request), "")
    items = [_public(s) for key, s in sorted(fake.table("run_services").items()) if key.startswith(prefix)]
    return {"apiVersion": "serving.knative.dev/v1", "kind": "ServiceList", "items": items, "metadata": {}}


@routes.get("run", SERVICE)
def get_service(fake: Fake, request: Request) -> JsonDict:
    return _public(_service(fake, request))


@routes.post("run", SERVICES)
def create_service(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["namespace"])
    body = request.json()
    if service_name(fake, _region(request), body["metadata"]["name"]) in fake.table("run_services"):
        raise ApiError(409, f"Resource '{body['metadata']['name']}' already exists.", "ALREADY_EXISTS")
    _validate(fake, body)
    return store_service(fake, _region(request), body)


@routes.put("run", SERVICE)
def replace_service(fake: Fake, request: Request) -> JsonDict:
    _service(fake, request)
    body = request.json()
    _validate(fake, body)
    return store_service(fake, _region(request), body)


def _validate(fake: Fake, body: JsonDict) -> None:
    spec = body.get("spec", {}).get("template", {}).get("spec", {})
    timeout = spec.get("timeoutSeconds", 300)
    if not 1 <= int(timeout) <= 3600:
        raise ApiError(400, "spec.template.spec.timeoutSeconds: must be between 1 and 3600")
    account = spec.get("serviceAccountName", "")
    if account and f"projects/{fake.project_id}/serviceAccounts/{account}" not in fake.table("service_accounts"):
        raise ApiError(400, f"spec.template.spec.service_account_name: Service account {account} does not exist.")
    for container in spec.get("containers", []):
        image = container.get("image", "")
        if ".pkg.dev/" in image and not _image_exists(fake, image):
            raise ApiError(400, f"Image '{image}' not found.", "FAILED_PRECONDITION")


def _image_exists(fake: Fake, image: str) -> bool:
    path, _, tag = image.rpartition(":")
    return any(i["uri"].split("@")[0] == path and tag in i["tags"] for i in fake.table("docker_images").values())


@routes.delete("run", SERVICE)
def delete_service(fake: Fake, request: Request) -> JsonDict:
    service = _service(fake, request)
    key = service_name(fake, _region(request), request.params["name"])
    del fake.table("run_services")[key]
    policies.drop(fake, key)
    return {
        "status": "Success",
        "details": {"name": service["metadata"]["name"], "kind": "services", "uid": service["metadata"]["uid"]},
    }


def _v1_service(fake: Fake, request: Request) -> str:
    fake.check_project(request.params["project"])
    key = service_name(fake, request.params["region"], request.params["name"])
    if key not in fake.table("run_services"):
        raise not_found(
            f"Resource '{request.params['name']}' of kind 'SERVICE' in region '{request.params['region']}' in project '{fake.project_id}' does not exist."
        )
    return key


@routes.get("run", V1_SERVICE + ":getIamPolicy")
@routes.post("run", V1_SERVICE + ":getIamPolicy")
def get_service_policy(fake: Fake, request: Request) -> JsonDict:
    return policies.read(fake, _v1_service(fake, request))


@routes.post("run", V1_SERVICE + ":setIamPolicy")
def set_service_policy(fake: Fake, request: Request) -> JsonDict:
    return policies.write(fake, _v1_service(fake, request), request.json())


# -- data plane --------------------------------------------------------------------------------


def _claims(token: str) -> JsonDict:
    try:
        payload = token.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (IndexError, ValueError):
        return {}


def service_for_url(fake: Fake, url: str) -> tuple[str, JsonDict] | None:
    """The service (key, resource) whose URL starts URL."""
    for key, service in fake.table("run_services").items():
        base = service["status"]["url"]
        if url == base or url.startswith(base + "/") or url.startswith(base + "?"):
            return key, service
    return None


def invoke(fake: Fake, url: str, token: str) -> tuple[int, str]:
    """What Cloud Run IAM answers a call of URL with this ID token: (status, reason)."""
    found = service_for_url(fake, url)
    if found is None:
        return 404, "no such service"
    key, service = found
    if service["metadata"].get("annotations", {}).get("run.googleapis.com/invoker-iam-disabled") == "true":
        return 200, "invoker IAM check disabled"
    if policies.members_of(fake, key, "roles/run.invoker") and any(
        m in ("allUsers", "allAuthenticatedUsers") for m in policies.members_of(fake, key, "roles/run.invoker")
    ):
        return 200, "public"
    if not token:
        return (
            401,
            "The request was not authenticated. Either allow unauthenticated invocations or set the proper Authorization header.",
        )
    claims = _claims(token)
    audience = claims.get("aud", "")
    if audience not in (service["status"]["url"], GCLOUD_CLIENT_ID):
        return 401, f"The access token could not be verified: audience {audience} is not {service['status']['url']}"
    email = str(claims.get("email", ""))
    prefix = "user" if not email.endswith("gserviceaccount.com") else "serviceAccount"
    if not grants.on_run_service(fake, f"{prefix}:{email}", key, "roles/run.invoker"):
        return 403, f"The request was not authorized to invoke this service: {email} lacks run.routes.invoke."
    return 200, "ok"


def handle_data_plane(fake: Fake, host: str, path: str, headers: dict[str, str]) -> Response:
    """Answer a request to https://HOST/PATH as Cloud Run would."""
    authorization = headers.get("authorization", "")
    token = authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""
    status, reason = invoke(fake, f"https://{host}{path}", token)
    if status != 200:
        text = f"<html><head><title>{status}</title></head><body><h1>Error: {reason}</h1></body></html>"
        return Response(text.encode(), status, {"Content-Type": "text/html; charset=UTF-8"})
    if path.split("?")[0] == "/health":
        return Response(fake.data.get("worker_health", {"status": "ok"}))
    return Response({"status": "success"})
