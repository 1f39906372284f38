"""Cloud Build: `builds.create` of a Docker build from an uploaded source, finished at once.

Shapes from googlecloudsdk/generated_clients/apis/cloudbuild/v1 and
https://cloud.google.com/build/docs/api/reference/rest/v1/projects.builds: create answers an
Operation whose `metadata.build` is the Build; the Build ends SUCCESS or FAILURE with a
`statusDetail`. Copied rules: a build with `serviceAccount` must keep its logs in Cloud Logging only
or name a logs bucket (the error text is Cloud Build's); since 2024 a build without one runs as the
Compute Engine default account (https://cloud.google.com/build/docs/cloud-build-service-account-updates),
which has no roles here, as in an organisation project. The build's account needs Logs Writer,
Artifact Registry Writer on the target repository and read access to the source object
(https://cloud.google.com/build/docs/securing-builds/configure-user-specified-service-accounts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.deploy.gcp_fake import artifacts, grants
from tests.deploy.gcp_fake.core import (
    ApiError,
    JsonDict,
    Request,
    Routes,
    done_operation,
    new_id,
    not_found,
    now_rfc3339,
)
from tests.deploy.gcp_fake.iam import account_exists

if TYPE_CHECKING:
    from tests.deploy.gcp_fake.server import Fake

routes = Routes()
BUILDS = r"/v1/projects/(?P<project>[^/:]+)/locations/(?P<location>[^/:]+)/builds"
SA_RESOURCE = "projects/{project}/serviceAccounts/{email}"
LOGS_RULE = (
    "if 'build.service_account' is specified, the build must either (a) specify 'build.logs_bucket', (b) use the "
    "REGIONAL_USER_OWNED_BUCKET build.options.default_logs_bucket_behavior option, or (c) use either "
    "CLOUD_LOGGING_ONLY / NONE logging options"
)


def build_account(fake: Fake, service_account: str) -> str:
    """The e-mail a build runs as: the one named, else the Compute Engine default account."""
    if not service_account:
        return f"{fake.project_number}-compute@developer.gserviceaccount.com"
    return service_account.rsplit("/", 1)[-1]


def missing_build_roles(fake: Fake, account: str, images: list[str], source_bucket: str) -> list[str]:
    """What ACCOUNT lacks to run a build that reads SOURCE_BUCKET and pushes IMAGES."""
    member = f"serviceAccount:{account}"
    missing = []
    if not grants.on_project(fake, member, "roles/logging.logWriter"):
        missing.append("logging.logEntries.create (roles/logging.logWriter)")
    if source_bucket and not grants.can_read_bucket(fake, member, source_bucket):
        missing.append(f"storage.objects.get on gs://{source_bucket} (roles/storage.objectViewer)")
    for image in images:
        repository = grants.repository_of(fake, image)
        if not grants.on_repository(fake, member, repository, "roles/artifactregistry.writer"):
            missing.append(f"artifactregistry.repositories.uploadArtifacts on {repository}")
    return missing


@routes.post("cloudbuild", BUILDS)
def create_build(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    location = request.params["location"]
    body = request.json()
    service_account = body.get("serviceAccount", "")
    logging_option = body.get("options", {}).get("logging", "")
    if service_account and not (body.get("logsBucket") or logging_option in ("CLOUD_LOGGING_ONLY", "NONE")):
        raise ApiError(400, LOGS_RULE)
    account = build_account(fake, service_account)
    if service_account and not account_exists(fake, account):
        raise ApiError(400, f"service account {service_account} does not exist")
    source = body.get("source", {}).get("storageSource", {})
    if source and f"{source['bucket']}/{source['object']}" not in fake.table("objects"):
        raise ApiError(400, f"source gs://{source['bucket']}/{source['object']} does not exist")
    build_id = new_id()
    build: JsonDict = {
        **body,
        "id": build_id,
        "name": f"projects/{fake.project_number}/locations/{location}/builds/{build_id}",
        "projectId": fake.project_id,
        "createTime": now_rfc3339(),
        "startTime": now_rfc3339(),
        "finishTime": now_rfc3339(),
        "logUrl": f"https://console.cloud.google.com/cloud-build/builds;region={location}/{build_id}?project={fake.project_number}",
    }
    images = list(body.get("images", []))
    missing = missing_build_roles(fake, account, images, source.get("bucket", ""))
    if missing:
        build["status"] = "FAILURE"
        build["statusDetail"] = f"{account} lacks: " + "; ".join(missing)
    else:
        for image in images:
            artifacts.push_image(fake, image)
        build["status"] = "SUCCESS"
        build["results"] = {"images": [{"name": image} for image in images]}
    fake.table("builds")[build["name"]] = build
    metadata = {"@type": "type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata", "build": build}
    response = {"@type": "type.googleapis.com/google.devtools.cloudbuild.v1.Build", **build}
    return done_operation(
        f"projects/{fake.project_number}/locations/{location}/operations/{new_id()}", response, metadata
    )


@routes.get("cloudbuild", BUILDS + r"/(?P<build>[^/:]+)")
def get_build(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    name = f"projects/{fake.project_number}/locations/{request.params['location']}/builds/{request.params['build']}"
    found = fake.table("builds").get(name)
    if found is None:
        raise not_found(f"Build {request.params['build']} not found.")
    return dict(found)
