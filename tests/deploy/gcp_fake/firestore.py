"""Firestore admin: the project's databases (googlecloudsdk/generated_clients/apis/firestore/v1,
https://cloud.google.com/firestore/docs/reference/rest/v1/projects.databases).

`databases.create` (`?databaseId=(default)`) and `delete` are long-running operations whose
response is the Database; a second create answers 409 ALREADY_EXISTS; `list` answers
`{"databases": [...]}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from tests.deploy.gcp_fake.core import (
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
DATABASES = r"/v1/projects/(?P<project>[^/:]+)/databases"
TYPE = "type.googleapis.com/google.firestore.admin.v1.Database"


def _operation(fake: Fake, database: JsonDict, verb: str) -> JsonDict:
    metadata = {"@type": f"type.googleapis.com/google.firestore.admin.v1.{verb}DatabaseMetadata"}
    name = f"projects/{fake.project_id}/databases/{database['name'].split('/')[-1]}/operations/{new_id()}"
    return done_operation(name, {"@type": TYPE, **database}, metadata)


@routes.get("firestore", DATABASES)
def list_databases(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    return {"databases": list(fake.table("databases").values())}


@routes.post("firestore", DATABASES)
def create_database(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    database_id = unquote(request.arg("databaseId"))
    name = f"projects/{fake.project_id}/databases/{database_id}"
    if name in fake.table("databases"):
        raise already_exists(f"Database '{database_id}' already exists for project {fake.project_id}.")
    body = request.json()
    database = {
        "name": name,
        "uid": new_id(),
        "createTime": now_rfc3339(),
        "locationId": body.get("locationId", ""),
        "type": body.get("type", "FIRESTORE_NATIVE"),
        "concurrencyMode": "PESSIMISTIC",
        "appEngineIntegrationMode": "DISABLED",
        "deleteProtectionState": "DELETE_PROTECTION_DISABLED",
        "etag": new_id()[:16],
    }
    fake.table("databases")[name] = database
    return _operation(fake, database, "Create")


def _database(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    name = f"projects/{fake.project_id}/databases/{unquote(request.params['database'])}"
    found = fake.table("databases").get(name)
    if found is None:
        raise not_found(
            f"Project '{fake.project_id}' or database '{unquote(request.params['database'])}' does not exist."
        )
    return dict(found)


@routes.get("firestore", DATABASES + r"/(?P<database>[^/:]+)")
def get_database(fake: Fake, request: Request) -> JsonDict:
    return _database(fake, request)


@routes.delete("firestore", DATABASES + r"/(?P<database>[^/:]+)")
def delete_database(fake: Fake, request: Request) -> JsonDict:
    database = _database(fake, request)
    del fake.table("databases")[database["name"]]
    return _operation(fake, database, "Delete")
