"""Secret Manager: drongo serves secrets and versions; this module adds what drongo 0.8.0 lacks.

- `:getIamPolicy` / `:setIamPolicy` of a secret (drongo has no route for them);
- `:addVersion` answers `clientSpecifiedPayloadChecksum: true` when the request carried
  `payload.dataCrc32c`, after checking it, as the real API does
  (https://cloud.google.com/secret-manager/docs/data-integrity); gcloud refuses a version without it;
- deleting a secret forgets its policy.
Everything else is forwarded to drongo unchanged (server.py).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from tests.deploy.gcp_fake import policies
from tests.deploy.gcp_fake.core import ApiError, JsonDict, Request, Response, Routes

if TYPE_CHECKING:
    from tests.deploy.gcp_fake.server import Fake

routes = Routes()


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


CRC32C_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum Secret Manager uses."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


SECRET = r"/v1/projects/(?P<project>[^/:]+)/secrets/(?P<secret>[^/:]+)"


def _existing(fake: Fake, request: Request) -> str:
    fake.check_project(request.params["project"])
    status, body = fake.drongo("GET", f"/v1/projects/{fake.project_id}/secrets/{request.params['secret']}")
    if status != 200:
        raise ApiError(status, body.get("error", {}).get("message", "error"))
    return f"projects/{fake.project_id}/secrets/{request.params['secret']}"


@routes.get("secretmanager", SECRET + ":getIamPolicy")
@routes.post("secretmanager", SECRET + ":getIamPolicy")
def get_secret_policy(fake: Fake, request: Request) -> JsonDict:
    return policies.read(fake, _existing(fake, request))


@routes.post("secretmanager", SECRET + ":setIamPolicy")
def set_secret_policy(fake: Fake, request: Request) -> JsonDict:
    return policies.write(fake, _existing(fake, request), request.json())


@routes.post("secretmanager", SECRET + ":addVersion")
def add_version(fake: Fake, request: Request) -> JsonDict:
    _existing(fake, request)
    payload = request.json().get("payload", {})
    checksum = payload.get("dataCrc32c")
    if checksum is not None:
        data = base64.b64decode(payload.get("data", ""))
        if int(checksum) != crc32c(data):
            raise ApiError(400, "Checksum mismatch: the payload's data_crc32c does not match its data.")
    status, version = fake.drongo("POST", request.path, request.json())
    if status != 200:
        raise ApiError(status, version.get("error", {}).get("message", "error"))
    if checksum is not None:
        version["clientSpecifiedPayloadChecksum"] = True
    return version


@routes.delete("secretmanager", SECRET)
def delete_secret(fake: Fake, request: Request) -> Response:
    name = _existing(fake, request)
    status, body = fake.drongo("DELETE", request.path)
    policies.drop(fake, name)
    return Response(body, status)
