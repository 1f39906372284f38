"""Cloud Storage JSON API: buckets (lifecycle, IAM) and objects, enough for source uploads.

Shapes from googlecloudsdk/generated_clients/apis/storage/v1 and
https://cloud.google.com/storage/docs/json_api/v1: `GET /storage/v1/b/BUCKET` answers 404 for a
missing bucket; `POST /storage/v1/b?project=` creates one (409 when the name is taken); media,
multipart and resumable uploads go to `/upload/storage/v1/b/BUCKET/o`. Objects keep their size
and md5 only, not their bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING
from urllib.parse import unquote

from tests.deploy.gcp_fake import policies
from tests.deploy.gcp_fake.core import (
    ApiError,
    JsonDict,
    Request,
    Response,
    Routes,
    already_exists,
    new_id,
    not_found,
    now_rfc3339,
)

if TYPE_CHECKING:
    from tests.deploy.gcp_fake.server import Fake

routes = Routes()
BUCKET = r"/storage/v1/b/(?P<bucket>[^/]+)"
MUTABLE = ("lifecycle", "labels", "iamConfiguration", "versioning", "softDeletePolicy")


def _bucket(fake: Fake, name: str) -> JsonDict:
    found = fake.table("buckets").get(name)
    if found is None:
        raise not_found("The specified bucket does not exist.")
    return dict(found)


@routes.get("storage", r"/storage/v1/b")
def list_buckets(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.arg("project"))
    return {"kind": "storage#buckets", "items": list(fake.table("buckets").values())}


@routes.post("storage", r"/storage/v1/b")
def create_bucket(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.arg("project"))
    body = request.json()
    name = body["name"]
    if name in fake.table("buckets"):
        raise already_exists("Your previous request to create the named bucket succeeded and you already own it.")
    bucket = {
        "kind": "storage#bucket",
        "id": name,
        "name": name,
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{name}",
        "projectNumber": fake.project_number,
        "location": body.get("location", "US").upper(),
        "storageClass": body.get("storageClass", "STANDARD"),
        "timeCreated": now_rfc3339(),
        "updated": now_rfc3339(),
        "metageneration": "1",
        "etag": "CAE=",
        **{k: body[k] for k in MUTABLE if k in body},
    }
    fake.table("buckets")[name] = bucket
    return dict(bucket)


@routes.get("storage", BUCKET)
def get_bucket(fake: Fake, request: Request) -> JsonDict:
    return _bucket(fake, request.params["bucket"])


@routes.patch("storage", BUCKET)
@routes.put("storage", BUCKET)
def update_bucket(fake: Fake, request: Request) -> JsonDict:
    bucket = _bucket(fake, request.params["bucket"])
    body = request.json()
    for field in MUTABLE:
        if field in body:
            bucket[field] = body[field]
    bucket["metageneration"] = str(int(bucket["metageneration"]) + 1)
    bucket["updated"] = now_rfc3339()
    fake.table("buckets")[bucket["name"]] = bucket
    return dict(bucket)


@routes.delete("storage", BUCKET)
def delete_bucket(fake: Fake, request: Request) -> Response:
    bucket = _bucket(fake, request.params["bucket"])
    if any(key.startswith(bucket["name"] + "/") for key in fake.table("objects")):
        raise ApiError(409, "The bucket you tried to delete is not empty.", "CONFLICT")
    del fake.table("buckets")[bucket["name"]]
    policies.drop(fake, f"projects/_/buckets/{bucket['name']}")
    return Response(b"", 204)


@routes.get("storage", BUCKET + "/iam")
def get_bucket_policy(fake: Fake, request: Request) -> JsonDict:
    bucket = _bucket(fake, request.params["bucket"])
    return {
        "kind": "storage#policy",
        "resourceId": f"projects/_/buckets/{bucket['name']}",
        **policies.read(fake, f"projects/_/buckets/{bucket['name']}"),
    }


@routes.put("storage", BUCKET + "/iam")
def set_bucket_policy(fake: Fake, request: Request) -> JsonDict:
    bucket = _bucket(fake, request.params["bucket"])
    resource = f"projects/_/buckets/{bucket['name']}"
    return {
        "kind": "storage#policy",
        "resourceId": resource,
        **policies.write(fake, resource, {"policy": request.json()}),
    }


def store_object(
    fake: Fake, bucket: str, name: str, data: bytes, content_type: str = "application/octet-stream"
) -> JsonDict:
    """Record an uploaded object (its bytes are not kept, only their size and hash)."""
    _bucket(fake, bucket)
    stored = {
        "kind": "storage#object",
        "id": f"{bucket}/{name}/1",
        "bucket": bucket,
        "name": name,
        "size": str(len(data)),
        "md5Hash": base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode(),
        "contentType": content_type,
        "generation": "1",
        "metageneration": "1",
        "timeCreated": now_rfc3339(),
        "updated": now_rfc3339(),
    }
    fake.table("objects")[f"{bucket}/{name}"] = stored
    return dict(stored)


def _multipart(request: Request) -> tuple[JsonDict, bytes]:
    """The JSON metadata part and the data part of a multipart/related upload."""
    content_type = request.headers.get("content-type", "")
    boundary = content_type.split("boundary=", 1)[1].strip("'\"")
    parts = [p for p in request.body.split(b"--" + boundary.encode()) if p.strip() not in (b"", b"--")]
    sections = [part.split(b"\r\n\r\n", 1) if b"\r\n\r\n" in part else part.split(b"\n\n", 1) for part in parts]
    metadata = json.loads(sections[0][1])
    data = sections[1][1]
    return metadata, data.removesuffix(b"\r\n").removesuffix(b"\n")


@routes.post("storage", r"/upload/storage/v1/b/(?P<bucket>[^/]+)/o")
def upload(fake: Fake, request: Request) -> JsonDict | Response:
    bucket = request.params["bucket"]
    kind = request.arg("uploadType", "media")
    if kind == "media":
        return store_object(fake, bucket, request.arg("name"), request.body, request.headers.get("content-type", ""))
    if kind == "multipart":
        metadata, data = _multipart(request)
        return store_object(
            fake, bucket, metadata.get("name") or request.arg("name"), data, metadata.get("contentType", "")
        )
    if kind == "resumable":
        metadata = request.json()
        upload_id = new_id()
        fake.table("uploads")[upload_id] = {"bucket": bucket, "name": metadata.get("name") or request.arg("name")}
        location = f"http://storage.gcp.test/upload/storage/v1/b/{bucket}/o?uploadType=resumable&upload_id={upload_id}"
        return Response({}, 200, {"Location": location})
    raise ApiError(400, f"Unknown uploadType {kind}.")


@routes.put("storage", r"/upload/storage/v1/b/(?P<bucket>[^/]+)/o")
def upload_resumable_data(fake: Fake, request: Request) -> JsonDict:
    pending = fake.table("uploads").pop(request.arg("upload_id"), None)
    if pending is None:
        raise not_found("No such upload session.")
    return store_object(fake, pending["bucket"], pending["name"], request.body)


@routes.get("storage", BUCKET + "/o")
def list_objects(fake: Fake, request: Request) -> JsonDict:
    bucket = _bucket(fake, request.params["bucket"])["name"]
    prefix = request.arg("prefix")
    items = [o for key, o in sorted(fake.table("objects").items()) if key.startswith(f"{bucket}/{prefix}")]
    return {"kind": "storage#objects", "items": items}


@routes.get("storage", BUCKET + "/managedFolders")
def list_managed_folders(fake: Fake, request: Request) -> JsonDict:
    _bucket(fake, request.params["bucket"])
    return {"kind": "storage#managedFolders"}


@routes.get("storage", BUCKET + "/storageLayout")
def get_layout(fake: Fake, request: Request) -> JsonDict:
    bucket = _bucket(fake, request.params["bucket"])
    return {
        "kind": "storage#storageLayout",
        "bucket": bucket["name"],
        "location": bucket["location"],
        "locationType": "region",
        "hierarchicalNamespace": {"enabled": False},
    }


@routes.get("storage", BUCKET + r"/o/(?P<object>.+)")
def get_object(fake: Fake, request: Request) -> JsonDict:
    found = fake.table("objects").get(f"{request.params['bucket']}/{unquote(request.params['object'])}")
    if found is None:
        raise not_found("No such object.")
    return dict(found)


@routes.delete("storage", BUCKET + r"/o/(?P<object>.+)")
def delete_object(fake: Fake, request: Request) -> Response:
    if fake.table("objects").pop(f"{request.params['bucket']}/{unquote(request.params['object'])}", None) is None:
        raise not_found("No such object.")
    return Response(b"", 204)
