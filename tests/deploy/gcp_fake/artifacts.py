"""Artifact Registry: repositories (with cleanup policies and IAM) and the Docker images in them.

Shapes from googlecloudsdk/generated_clients/apis/artifactregistry/v1 and
https://cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories:
create (`?repositoryId=`) and delete are long-running operations; `set-cleanup-policies` is a PATCH
with `updateMask=cleanupPolicies,...`, the policies a map of id → {id, action, condition |
mostRecentVersions}; `dockerImages.list` answers `{"dockerImages": [{name, uri, tags, ...}]}`.
Builds (build.py) add images here, as a real push to `LOCATION-docker.pkg.dev/...` does.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from tests.deploy.gcp_fake import policies
from tests.deploy.gcp_fake.core import (
    ApiError,
    JsonDict,
    Request,
    Routes,
    already_exists,
    done_operation,
    new_id,
    not_found,
    now_rfc3339,
)

if TYPE_CHECKING:
    from tests.deploy.gcp_fake.server import Fake

routes = Routes()
REPOSITORIES = r"/v1/projects/(?P<project>[^/:]+)/locations/(?P<location>[^/:]+)/repositories"
REPOSITORY = REPOSITORIES + r"/(?P<repository>[^/:]+)"
MUTABLE = ("description", "labels", "cleanupPolicies", "cleanupPolicyDryRun")


def repository_name(fake: Fake, location: str, repository: str) -> str:
    """The full resource name of a repository."""
    return f"projects/{fake.project_id}/locations/{location}/repositories/{repository}"


def _operation(fake: Fake, location: str, response: JsonDict | None = None) -> JsonDict:
    name = f"projects/{fake.project_id}/locations/{location}/operations/{new_id()}"
    return done_operation(
        name, response or {}, {"@type": "type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata"}
    )


def _repository(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    name = repository_name(fake, request.params["location"], request.params["repository"])
    found = fake.table("repositories").get(name)
    if found is None:
        raise not_found("Requested entity was not found.")
    return dict(found)


@routes.get("artifactregistry", REPOSITORIES)
def list_repositories(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    prefix = repository_name(fake, request.params["location"], "")
    found = [r for name, r in sorted(fake.table("repositories").items()) if name.startswith(prefix)]
    return {"repositories": found} if found else {}


@routes.post("artifactregistry", REPOSITORIES)
def create_repository(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    repository_id = request.arg("repositoryId")
    name = repository_name(fake, request.params["location"], repository_id)
    if name in fake.table("repositories"):
        raise already_exists("the repository already exists")
    body = request.json()
    if body.get("format") not in ("DOCKER", "PYTHON", "NPM", "MAVEN", "APT", "YUM", "GO", "GENERIC"):
        raise ApiError(400, "Invalid repository format.")
    repository = {
        "name": name,
        "format": body["format"],
        "mode": "STANDARD_REPOSITORY",
        "createTime": now_rfc3339(),
        "updateTime": now_rfc3339(),
        **{k: body[k] for k in MUTABLE if k in body},
    }
    fake.table("repositories")[name] = repository
    return _operation(
        fake,
        request.params["location"],
        {"@type": "type.googleapis.com/google.devtools.artifactregistry.v1.Repository", **repository},
    )


@routes.get("artifactregistry", REPOSITORY)
def get_repository(fake: Fake, request: Request) -> JsonDict:
    return _repository(fake, request)


@routes.patch("artifactregistry", REPOSITORY)
def update_repository(fake: Fake, request: Request) -> JsonDict:
    repository = _repository(fake, request)
    body = request.json()
    mask = request.arg("updateMask")
    for field in mask.split(",") if mask else list(body):
        if field not in MUTABLE:
            raise ApiError(400, f"Invalid update_mask provided: {field} cannot be updated.")
        if field in body:
            repository[field] = body[field]
        else:
            repository.pop(field, None)
    for policy_id, policy in repository.get("cleanupPolicies", {}).items():
        # gcloud sends the policy file's spelling ("Delete", "any"); the service reads enums case-blind.
        action = str(policy.get("action", "")).upper()
        if action not in ("DELETE", "KEEP") or not ("condition" in policy or "mostRecentVersions" in policy):
            raise ApiError(400, f"Invalid cleanup policy {policy_id}: {policy}")
    repository["updateTime"] = now_rfc3339()
    fake.table("repositories")[repository["name"]] = repository
    return dict(repository)


@routes.delete("artifactregistry", REPOSITORY)
def delete_repository(fake: Fake, request: Request) -> JsonDict:
    repository = _repository(fake, request)
    del fake.table("repositories")[repository["name"]]
    policies.drop(fake, repository["name"])
    images = fake.table("docker_images")
    for name in [n for n in images if n.startswith(repository["name"] + "/")]:
        del images[name]
    return _operation(fake, request.params["location"])


@routes.post("artifactregistry", REPOSITORY + ":getIamPolicy")
@routes.get("artifactregistry", REPOSITORY + ":getIamPolicy")
def get_repository_policy(fake: Fake, request: Request) -> JsonDict:
    return policies.read(fake, _repository(fake, request)["name"])


@routes.post("artifactregistry", REPOSITORY + ":setIamPolicy")
def set_repository_policy(fake: Fake, request: Request) -> JsonDict:
    return policies.write(fake, _repository(fake, request)["name"], request.json())


@routes.get("artifactregistry", REPOSITORY + r"/packages/(?P<package>[^/:]+)/versions")
def list_versions(fake: Fake, request: Request) -> JsonDict:
    repository = _repository(fake, request)
    prefix = f"{repository['name']}/dockerImages/{request.params['package']}@"
    found = [
        {
            "name": f"{repository['name']}/packages/{request.params['package']}/versions/{name.split('@')[1]}",
            "createTime": image["uploadTime"],
            "updateTime": image["updateTime"],
            "relatedTags": [
                {"name": f"{repository['name']}/packages/{request.params['package']}/tags/{tag}", "version": name}
                for tag in image["tags"]
            ],
        }
        for name, image in sorted(fake.table("docker_images").items())
        if name.startswith(prefix)
    ]
    return {"versions": found} if found else {}


@routes.get("artifactregistry", REPOSITORY + "/dockerImages")
def list_images(fake: Fake, request: Request) -> JsonDict:
    prefix = _repository(fake, request)["name"] + "/dockerImages/"
    found = [i for name, i in sorted(fake.table("docker_images").items()) if name.startswith(prefix)]
    return {"dockerImages": found} if found else {}


def push_image(fake: Fake, image: str) -> None:
    """Store IMAGE (`LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/NAME:TAG`) as a build would push it."""
    host, project, repository, rest = image.split("/", 3)
    location = host.removesuffix("-docker.pkg.dev")
    repo_name = repository_name(fake, location, repository)
    if project != fake.project_id or repo_name not in fake.table("repositories"):
        raise ApiError(404, f"Repository {repo_name} not found: the push of {image} fails.")
    package, _, tag = rest.partition(":")
    digest = "sha256:" + hashlib.sha256(image.encode()).hexdigest()
    images = fake.table("docker_images")
    for other in images.values():  # a tag names one image at a time
        if other["uri"].startswith(f"{host}/{project}/{repository}/{package}@") and tag in other.get("tags", []):
            other["tags"].remove(tag)
    images[f"{repo_name}/dockerImages/{package}@{digest}"] = {
        "name": f"{repo_name}/dockerImages/{package}@{digest}",
        "uri": f"{host}/{project}/{repository}/{package}@{digest}",
        "tags": [tag] if tag else [],
        "imageSizeBytes": "52428800",
        "uploadTime": now_rfc3339(),
        "updateTime": now_rfc3339(),
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    }
