"""Who may do what: the few permission checks the fake makes, read from the stored IAM policies.

Only what the deploy's own resources depend on is checked (builds, function builds, scheduler
deliveries), by role name: a role granted on the resource itself or on the project counts; a
conditional project binding counts for a bucket when its condition names that bucket (the form
`resource.name.startsWith("projects/_/buckets/BUCKET/")` of https://cloud.google.com/iam/docs/conditions-resource-attributes#resource-name).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.deploy.gcp_fake import policies

if TYPE_CHECKING:
    from tests.deploy.gcp_fake.server import Fake

OWNER_ROLES = ("roles/owner", "roles/editor")


def _has(fake: Fake, resource: str, member: str, role: str) -> bool:
    for binding in policies.read(fake, resource).get("bindings", []):
        if member in binding["members"] and binding["role"] in (role, *OWNER_ROLES) and "condition" not in binding:
            return True
    return False


def on_project(fake: Fake, member: str, role: str) -> bool:
    """MEMBER has ROLE (or owner/editor) on the project, unconditionally."""
    return _has(fake, f"projects/{fake.project_id}", member, role)


def can_read_bucket(fake: Fake, member: str, bucket: str) -> bool:
    """MEMBER may read objects of BUCKET: on the bucket, the project, or by a condition naming the bucket."""
    readers = ("roles/storage.objectViewer", "roles/storage.objectAdmin", "roles/storage.admin")
    if any(_has(fake, f"projects/_/buckets/{bucket}", member, role) for role in readers):
        return True
    if any(on_project(fake, member, role) for role in readers):
        return True
    for binding in policies.read(fake, f"projects/{fake.project_id}").get("bindings", []):
        expression = binding.get("condition", {}).get("expression", "")
        if (
            member in binding["members"]
            and binding["role"] in readers
            and f"projects/_/buckets/{bucket}/" in expression
        ):
            return True
    return False


def repository_of(fake: Fake, image: str) -> str:
    """The repository resource name of an image path `LOCATION-docker.pkg.dev/PROJECT/REPO/...`."""
    host, project, repository = image.split("/")[:3]
    return f"projects/{project}/locations/{host.removesuffix('-docker.pkg.dev')}/repositories/{repository}"


def on_repository(fake: Fake, member: str, repository: str, role: str) -> bool:
    """MEMBER has ROLE on REPOSITORY or on the project."""
    return _has(fake, repository, member, role) or on_project(fake, member, role)


def on_run_service(fake: Fake, member: str, service: str, role: str) -> bool:
    """MEMBER has ROLE on the Cloud Run service (full name) or on the project."""
    return _has(fake, service, member, role) or on_project(fake, member, role)
