"""Cloud Functions v2 (Cloud Run functions): functions, source upload URLs and their operations.

Shapes from googlecloudsdk/generated_clients/apis/cloudfunctions/v2 and
https://cloud.google.com/functions/docs/reference/rest/v2/projects.locations.functions:
`generateUploadUrl` answers `{"uploadUrl", "storageSource"}` and gcloud PUTs the zip there
(googlecloudsdk/command_lib/functions/source_util.py); create (`?functionId=`), patch
(`?updateMask=`) and delete are operations (`projects/P/locations/R/operations/ID`). A gen2 function
is served by a Cloud Run service of the same name. The build rules are Cloud Build's (build.py),
with the function's `buildConfig.serviceAccount` or, without one, the Compute Engine default
account (https://cloud.google.com/functions/docs/securing/build-custom-sa); images go to the
`gcf-artifacts` repository, sources to the `gcf-v2-sources-NUMBER-REGION` bucket.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from tests.deploy.gcp_fake import build, run, storage
from tests.deploy.gcp_fake.core import ApiError, JsonDict, Request, Response, Routes, new_id, not_found, now_rfc3339

if TYPE_CHECKING:
    from tests.deploy.gcp_fake.server import Fake

routes = Routes()
LOCATION = r"/v2/projects/(?P<project>[^/:]+)/locations/(?P<location>[^/:]+)"
FUNCTIONS = LOCATION + r"/functions"
FUNCTION = FUNCTIONS + r"/(?P<name>[^/:]+)"
UPDATABLE = ("labels", "buildConfig", "serviceConfig", "description", "environment")


def function_name(fake: Fake, location: str, name: str) -> str:
    """The full resource name of a function."""
    return f"projects/{fake.project_id}/locations/{location}/functions/{name}"


def _operation(
    fake: Fake, location: str, target: str, verb: str, function: JsonDict | None, error: JsonDict | None = None
) -> JsonDict:
    name = f"projects/{fake.project_id}/locations/{location}/operations/operation-{new_id()}"
    operation: JsonDict = {
        "name": name,
        "done": True,
        "metadata": {
            "@type": "type.googleapis.com/google.cloud.functions.v2.OperationMetadata",
            "target": target,
            "verb": verb,
            "apiVersion": "v2",
            "createTime": now_rfc3339(),
            "endTime": now_rfc3339(),
            "stages": [],
        },
    }
    if error is not None:
        operation["error"] = error
    else:
        operation["response"] = {"@type": "type.googleapis.com/google.cloud.functions.v2.Function", **(function or {})}
    fake.table("function_operations")[name] = operation
    return operation


def _function(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    found = fake.table("functions").get(function_name(fake, request.params["location"], request.params["name"]))
    if found is None:
        raise not_found(
            f"Resource 'projects/{fake.project_id}/locations/{request.params['location']}/functions/{request.params['name']}' was not found"
        )
    return copy.deepcopy(found)


@routes.get("cloudfunctions", FUNCTIONS)
def list_functions(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    location = request.params["location"]
    found = [
        f for key, f in sorted(fake.table("functions").items()) if location == "-" or f"/locations/{location}/" in key
    ]
    return {"functions": found} if found else {}


@routes.get("cloudfunctions", r"/v1/projects/(?P<project>[^/:]+)/locations")
@routes.get("cloudfunctions", r"/v2/projects/(?P<project>[^/:]+)/locations")
def list_locations(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    regions = ("europe-west1", "europe-west3", "us-central1")
    return {"locations": [{"name": f"projects/{fake.project_id}/locations/{r}", "locationId": r} for r in regions]}


@routes.get("cloudfunctions", r"/v1/projects/(?P<project>[^/:]+)/locations/(?P<location>[^/:]+)/functions")
def list_gen1_functions(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    return {}  # no 1st-gen functions here: gcloud's list asks both APIs


# The Python runtimes `runtimes.list` offered in 2025 (https://cloud.google.com/functions/docs/runtime-support).
RUNTIMES = ("python39", "python310", "python311", "python312", "python313")


@routes.get("cloudfunctions", LOCATION + r"/runtimes")
def list_runtimes(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    return {
        "runtimes": [
            {"name": name, "displayName": f"Python 3.{name[7:]}", "stage": "GA", "environment": "GEN_2"}
            for name in RUNTIMES
        ]
    }


@routes.get("cloudfunctions", FUNCTION)
def get_function(fake: Fake, request: Request) -> JsonDict:
    return _function(fake, request)


@routes.post("cloudfunctions", FUNCTIONS + ":generateUploadUrl")
def generate_upload_url(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    location = request.params["location"]
    bucket = f"gcf-v2-uploads-{fake.project_number}.{location}.cloudfunctions.appspot.com"
    _ensure_bucket(fake, bucket, location)
    upload_object = f"{new_id()}.zip"
    return {
        "uploadUrl": f"http://storage.gcp.test/{bucket}/{upload_object}?GoogleAccessId=service-{fake.project_number}@gcf-admin-robot.iam.gserviceaccount.com&Signature=gcp-fake",
        "storageSource": {"bucket": bucket, "object": upload_object},
    }


def _ensure_bucket(fake: Fake, bucket: str, location: str) -> None:
    if bucket not in fake.table("buckets"):
        fake.table("buckets")[bucket] = {
            "kind": "storage#bucket",
            "name": bucket,
            "location": location.upper(),
            "metageneration": "1",
            "projectNumber": fake.project_number,
        }


@routes.put("storage", r"/(?P<bucket>gcf-v2-uploads-[^/]+)/(?P<object>[^/]+)")
def signed_upload(fake: Fake, request: Request) -> Response:
    storage.store_object(fake, request.params["bucket"], request.params["object"], request.body, "application/zip")
    return Response(b"", 200)


@routes.post("cloudfunctions", FUNCTIONS)
def create_function(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    location = request.params["location"]
    name = function_name(fake, location, request.arg("functionId"))
    if name in fake.table("functions"):
        raise ApiError(
            409,
            f"Function {request.arg('functionId')} in region {location} in project {fake.project_id} already exists",
            "ALREADY_EXISTS",
        )
    body = {**request.json(), "name": name}
    return _deploy(fake, location, body, "create", None)


@routes.patch("cloudfunctions", FUNCTION)
def update_function(fake: Fake, request: Request) -> JsonDict:
    old = _function(fake, request)
    body = request.json()
    mask = request.arg("updateMask")
    merged = copy.deepcopy(old)
    for path in mask.split(",") if mask else list(body):
        top, _, rest = path.partition(".")
        if top not in UPDATABLE:
            continue
        if rest:
            merged.setdefault(top, {})
            merged[top][rest.split(".")[0]] = body.get(top, {}).get(rest.split(".")[0])
            if merged[top][rest.split(".")[0]] is None:
                del merged[top][rest.split(".")[0]]
        elif top in body:
            merged[top] = body[top]
        else:
            merged.pop(top, None)
    return _deploy(fake, request.params["location"], merged, "update", old)


def _deploy(fake: Fake, location: str, function: JsonDict, verb: str, old: JsonDict | None) -> JsonDict:
    """Build (with the build rules) and serve the function; an operation in any case."""
    build_config = function.setdefault("buildConfig", {})
    service_config = function.setdefault("serviceConfig", {})
    short = function["name"].rsplit("/", 1)[-1]
    source = build_config.get("source", {}).get("storageSource", {})
    sources_bucket = f"gcf-v2-sources-{fake.project_number}-{location}"
    if source:
        uploaded = fake.table("objects").get(f"{source['bucket']}/{source['object']}")
        if uploaded is None:
            raise ApiError(
                400, f"Source gs://{source['bucket']}/{source['object']} does not exist.", "FAILED_PRECONDITION"
            )
        _ensure_bucket(fake, sources_bucket, location)
        copied = f"{short}/function-source.zip"
        fake.table("objects")[f"{sources_bucket}/{copied}"] = {**uploaded, "bucket": sources_bucket, "name": copied}
        build_config["source"] = {"storageSource": {"bucket": sources_bucket, "object": copied}}
    repository = build_config.setdefault(
        "dockerRepository", f"projects/{fake.project_id}/locations/{location}/repositories/gcf-artifacts"
    )
    if repository not in fake.table("repositories"):  # Cloud Functions makes its repository on first use
        fake.table("repositories")[repository] = {
            "name": repository,
            "format": "DOCKER",
            "mode": "STANDARD_REPOSITORY",
            "createTime": now_rfc3339(),
            "updateTime": now_rfc3339(),
            "description": "This repository is created and used by Cloud Functions for storing function docker images.",
            "labels": {"goog-managed-by": "cloudfunctions"},
        }
    account = build.build_account(fake, build_config.get("serviceAccount", ""))
    image = f"{location}-docker.pkg.dev/{fake.project_id}/{repository.rsplit('/', 1)[-1]}/{short.replace('_', '--')}:version_1"
    missing = build.missing_build_roles(fake, account, [image], sources_bucket)
    now = now_rfc3339()
    function.update(environment="GEN_2", updateTime=now)
    function.setdefault("createTime", now)
    build_id = new_id()
    build_config["build"] = f"projects/{fake.project_number}/locations/{location}/builds/{build_id}"
    if missing:
        function["state"] = "FAILED"
        fake.table("functions")[function["name"]] = function
        message = f"Build failed with status: FAILURE. {account} lacks: " + "; ".join(missing)
        return _operation(fake, location, function["name"], verb, None, {"code": 3, "message": message})
    from tests.deploy.gcp_fake import artifacts

    artifacts.push_image(fake, image)
    service = run.store_service(
        fake,
        location,
        _knative(function, image),
        creator=f"service-{fake.project_number}@gcf-admin-robot.iam.gserviceaccount.com",
    )
    service_config.update(
        service=f"projects/{fake.project_id}/locations/{location}/services/{short}",
        uri=service["status"]["url"],
        revision=service["status"]["latestReadyRevisionName"],
    )
    function["url"] = f"https://{location}-{fake.project_id}.cloudfunctions.net/{short}"
    function["state"] = "ACTIVE"
    fake.table("functions")[function["name"]] = function
    return _operation(fake, location, function["name"], verb, function)


def _knative(function: JsonDict, image: str) -> JsonDict:
    """The Cloud Run service behind a gen2 function (what its serviceConfig becomes)."""
    config = function["serviceConfig"]
    short = function["name"].rsplit("/", 1)[-1]
    env = [{"name": k, "value": v} for k, v in sorted(config.get("environmentVariables", {}).items())]
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": short, "labels": {"goog-managed-by": "cloudfunctions"}},
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {"autoscaling.knative.dev/maxScale": str(config.get("maxInstanceCount", 100))}
                },
                "spec": {
                    "timeoutSeconds": config.get("timeoutSeconds", 60),
                    "serviceAccountName": config.get("serviceAccountEmail", ""),
                    "containers": [{"image": image, "env": env}],
                },
            }
        },
    }


@routes.delete("cloudfunctions", FUNCTION)
def delete_function(fake: Fake, request: Request) -> JsonDict:
    function = _function(fake, request)
    del fake.table("functions")[function["name"]]
    service = run.service_name(fake, request.params["location"], request.params["name"])
    fake.table("run_services").pop(service, None)
    from tests.deploy.gcp_fake import policies

    policies.drop(fake, service)
    return _operation(fake, request.params["location"], function["name"], "delete", None)


@routes.get("cloudfunctions", LOCATION + r"/operations/(?P<operation>[^/:]+)")
def get_operation(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    name = f"projects/{fake.project_id}/locations/{request.params['location']}/operations/{request.params['operation']}"
    found = fake.table("function_operations").get(name)
    if found is None:
        raise not_found(f"Operation {name} not found.")
    return dict(found)
