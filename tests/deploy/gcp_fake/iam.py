"""IAM: service accounts, custom roles, and ID tokens minted for a service account (IAM Credentials).

Shapes from googlecloudsdk/generated_clients/apis/iam/v1 (ServiceAccount, Role) and the REST
reference (https://cloud.google.com/iam/docs/reference/rest): a missing account answers 404
NOT_FOUND "Unknown service account"; creating one twice 409 ALREADY_EXISTS; a deleted custom role
stays readable with `"deleted": true` and can be undeleted (https://cloud.google.com/iam/docs/creating-custom-roles#deleting-custom-role);
`list` leaves out the `accounts`/`roles` key when there are none. An account's `uniqueId` is a
21-digit number of its own, stable while the account lives and new for an account re-created under
the same e-mail (what the worker's WORKER_ALLOWED_INVOKER_IDS pins); the `sub` of its ID tokens.
iamcredentials `generateIdToken` answers `{"token": ...}` (https://cloud.google.com/iam/docs/reference/credentials/rest).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from tests.deploy.gcp_fake import policies
from tests.deploy.gcp_fake.core import ApiError, JsonDict, Request, Routes, already_exists, not_found
from tests.deploy.gcp_fake.project import id_token

if TYPE_CHECKING:
    from tests.deploy.gcp_fake.server import Fake

routes = Routes()
ACCOUNTS = r"/v1/projects/(?P<project>[^/:]+)/serviceAccounts"
ACCOUNT = ACCOUNTS + r"/(?P<email>[^/:]+)"
ROLES = r"/v1/projects/(?P<project>[^/:]+)/roles"
ROLE = ROLES + r"/(?P<role>[^/:]+)"


def account_name(fake: Fake, email: str) -> str:
    """The full resource name of a service account."""
    return f"projects/{fake.project_id}/serviceAccounts/{email}"


def account_exists(fake: Fake, email: str) -> bool:
    """Whether the project has this service account."""
    return account_name(fake, email) in fake.table("service_accounts")


def unique_id_of(fake: Fake, email: str) -> str | None:
    """The uniqueId of the project's service account EMAIL (None when there is none)."""
    found = fake.table("service_accounts").get(account_name(fake, email))
    return None if found is None else str(found["uniqueId"])


def _new_unique_id(fake: Fake, email: str) -> str:
    created = fake.data.setdefault("accounts_created", 0) + 1
    fake.data["accounts_created"] = created
    digest = hashlib.sha256(f"{email}#{created}".encode()).hexdigest()
    return "1" + str(int(digest, 16) % 10**20).zfill(20)


def _account(fake: Fake, request: Request) -> JsonDict:
    project = request.params["project"]
    if project != "-":
        fake.check_project(project)
    found = fake.table("service_accounts").get(account_name(fake, request.params["email"]))
    if found is None:
        raise not_found(f"Unknown service account: {request.params['email']}")
    return dict(found)


@routes.get("iam", ACCOUNTS)
def list_accounts(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    accounts = [dict(a) for a in fake.table("service_accounts").values()]
    return {"accounts": accounts} if accounts else {}


@routes.post("iam", ACCOUNTS)
def create_account(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    body = request.json()
    account_id = body["accountId"]
    if not 6 <= len(account_id) <= 30:
        raise ApiError(400, "Account ID must be between 6 and 30 characters.")
    email = f"{account_id}@{fake.project_id}.iam.gserviceaccount.com"
    name = account_name(fake, email)
    if name in fake.table("service_accounts"):
        raise already_exists(f"Service account {account_id} already exists within project projects/{fake.project_id}.")
    unique = _new_unique_id(fake, email)
    account = {
        "name": name,
        "projectId": fake.project_id,
        "uniqueId": unique,
        "email": email,
        "displayName": body.get("serviceAccount", {}).get("displayName", ""),
        "etag": "MDEwMjE5MjA=",
        "oauth2ClientId": unique,
    }
    fake.table("service_accounts")[name] = account
    return dict(account)


@routes.get("iam", ACCOUNT)
def get_account(fake: Fake, request: Request) -> JsonDict:
    return _account(fake, request)


@routes.delete("iam", ACCOUNT)
def delete_account(fake: Fake, request: Request) -> JsonDict:
    account = _account(fake, request)
    del fake.table("service_accounts")[account["name"]]
    policies.drop(fake, account["name"])
    return {}


@routes.post("iam", ACCOUNT + ":getIamPolicy")
def get_account_policy(fake: Fake, request: Request) -> JsonDict:
    return policies.read(fake, _account(fake, request)["name"])


@routes.post("iam", ACCOUNT + ":setIamPolicy")
def set_account_policy(fake: Fake, request: Request) -> JsonDict:
    return policies.write(fake, _account(fake, request)["name"], request.json())


def _role(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    name = f"projects/{fake.project_id}/roles/{request.params['role']}"
    found = fake.table("roles").get(name)
    if found is None:
        raise not_found(f"The role named {name} was not found.")
    return dict(found)


def _basic(role: JsonDict) -> JsonDict:
    return {k: v for k, v in role.items() if k != "includedPermissions"}


@routes.get("iam", ROLES)
def list_roles(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    show_deleted = request.arg("showDeleted").lower() == "true"
    full = request.arg("view") == "FULL"
    roles = [r if full else _basic(r) for r in fake.table("roles").values() if show_deleted or not r.get("deleted")]
    return {"roles": roles} if roles else {}


@routes.post("iam", ROLES)
def create_role(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    body = request.json()
    name = f"projects/{fake.project_id}/roles/{body['roleId']}"
    if name in fake.table("roles"):
        raise already_exists(f"A role named {body['roleId']} in projects/{fake.project_id} already exists.")
    role = {"name": name, "etag": "BwXhqDnC7ys=", **body.get("role", {})}
    fake.table("roles")[name] = role
    return dict(role)


@routes.get("iam", ROLE)
def get_role(fake: Fake, request: Request) -> JsonDict:
    return _role(fake, request)


@routes.patch("iam", ROLE)
def update_role(fake: Fake, request: Request) -> JsonDict:
    role = _role(fake, request)
    body = request.json()
    mask = request.arg("updateMask")
    fields = mask.split(",") if mask else list(body)
    for name in fields:
        if name in body:
            role[name] = body[name]
    fake.table("roles")[role["name"]] = role
    return dict(role)


@routes.delete("iam", ROLE)
def delete_role(fake: Fake, request: Request) -> JsonDict:
    role = _role(fake, request)
    if role.get("deleted"):
        raise ApiError(
            400, f"You can't delete role_id ({request.params['role']}) as it is already deleted.", "FAILED_PRECONDITION"
        )
    role["deleted"] = True
    fake.table("roles")[role["name"]] = role
    return dict(role)


@routes.post("iam", ROLE + ":undelete")
def undelete_role(fake: Fake, request: Request) -> JsonDict:
    role = _role(fake, request)
    role.pop("deleted", None)
    fake.table("roles")[role["name"]] = role
    return dict(role)


@routes.post("iamcredentials", r"/v1/projects/-/serviceAccounts/(?P<email>[^/:]+):generateIdToken")
def generate_id_token(fake: Fake, request: Request) -> JsonDict:
    email = request.params["email"]
    if not account_exists(fake, email):
        raise not_found(f"Unknown service account: {email}")
    body = request.json()
    return {"token": id_token(email, body["audience"], unique_id_of(fake, email))}


# What `permissions.queryTestablePermissions` lists for a project and custom roles may hold; gcloud
# checks a custom role's permissions against it before creating or updating the role.
TESTABLE_PERMISSIONS = [
    f"cloudscheduler.jobs.{verb}"
    for verb in ("create", "delete", "enable", "fullView", "get", "list", "pause", "run", "update")
] + ["cloudscheduler.locations.get", "cloudscheduler.locations.list"]


@routes.post("iam", r"/v1/permissions:queryTestablePermissions")
def testable_permissions(fake: Fake, request: Request) -> JsonDict:
    permissions = [{"name": p, "stage": "GA", "customRolesSupportLevel": "SUPPORTED"} for p in TESTABLE_PERMISSIONS]
    return {"permissions": permissions}
