"""IAM policies of any resource, the way every `:getIamPolicy` / `:setIamPolicy` answers.

Shape: google.iam.v1.Policy (https://cloud.google.com/iam/docs/reference/rest/v1/Policy):
`{"version": 1, "etag": "BwX...", "bindings": [{"role": ..., "members": [...], "condition"?}]}`.
A set with a stale etag fails with 409 ABORTED, as gcloud's read-modify-write expects; an empty
policy has no `bindings` key at all.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from tests.deploy.gcp_fake.core import ApiError, JsonDict

if TYPE_CHECKING:
    from tests.deploy.gcp_fake.server import Fake

TABLE = "policies"


def read(fake: Fake, resource: str) -> JsonDict:
    """The policy of RESOURCE (an empty one when never set)."""
    stored = fake.table(TABLE).get(resource, {"version": 1, "serial": 0, "bindings": []})
    policy: JsonDict = {"version": stored["version"], "etag": _etag(stored["serial"])}
    if stored["bindings"]:
        policy["bindings"] = stored["bindings"]
    return policy


def write(fake: Fake, resource: str, body: JsonDict) -> JsonDict:
    """Replace the policy of RESOURCE with body["policy"], checking its etag."""
    policy = body.get("policy", {})
    stored = fake.table(TABLE).get(resource, {"version": 1, "serial": 0, "bindings": []})
    if policy.get("etag") and policy["etag"] != _etag(stored["serial"]):
        raise ApiError(
            409, "There were concurrent policy changes. Please retry the whole read-modify-write.", "ABORTED"
        )
    bindings = [b for b in policy.get("bindings", []) if b.get("members")]
    for binding in bindings:
        if "condition" in binding and policy.get("version", 1) < 3:
            raise ApiError(400, "Conditional bindings need policy version 3.")
    fake.table(TABLE)[resource] = {
        "version": 3 if any("condition" in b for b in bindings) else 1,
        "serial": stored["serial"] + 1,
        "bindings": bindings,
    }
    return read(fake, resource)


def drop(fake: Fake, resource: str) -> None:
    """Forget the policy of a deleted resource."""
    fake.table(TABLE).pop(resource, None)


def members_of(fake: Fake, resource: str, role: str) -> list[str]:
    """Who has ROLE on RESOURCE (unconditionally)."""
    for binding in read(fake, resource).get("bindings", []):
        if binding["role"] == role and "condition" not in binding:
            return list(binding["members"])
    return []


def _etag(serial: int) -> str:
    return base64.b64encode(f"BwX{serial:08d}".encode()).decode()
