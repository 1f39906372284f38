"""Cloud Monitoring v3: notification channels and alert policies, as `gcloud alpha/beta monitoring` uses them.

Shapes from googlecloudsdk/generated_clients/apis/monitoring/v3 (NotificationChannel, AlertPolicy,
Condition, LogMatch, AlertStrategy, NotificationRateLimit) and the REST reference
(https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies,
.../projects.notificationChannels): `GET|POST /v3/projects/P/notificationChannels`,
`GET|PATCH|DELETE /v3/projects/P/notificationChannels/ID` (`?force=`), the same for
`alertPolicies`; lists answer `{"notificationChannels"|"alertPolicies": [...], "totalSize": N}` and
leave the list out when empty; ids are numeric and made by the server.

The checks are the ones the deploy's policy must pass: a LogMatch condition must be the policy's
only condition and needs `alertStrategy.notificationRateLimit` (the AlertStrategy field says
"Required for log-based alerting policies"); an e-mail channel needs the label `email_address`;
user labels hold only lowercase letters, digits, `_` and `-` (63 at most); every notification
channel a policy names must exist; a channel in use by a policy is deleted only with `force`.
A list's `filter` is judged with the comparisons logs.py understands (`type="email"`).
"""

from __future__ import annotations

import copy
import hashlib
import re
from typing import TYPE_CHECKING

from tests.deploy.gcp_fake import logs
from tests.deploy.gcp_fake.core import ApiError, JsonDict, Request, Routes, not_found, now_rfc3339

if TYPE_CHECKING:
    from tests.deploy.gcp_fake.server import Fake

routes = Routes()
PROJECT = r"/v3/projects/(?P<project>[^/:]+)"
CHANNELS = PROJECT + r"/notificationChannels"
CHANNEL = CHANNELS + r"/(?P<id>[^/:]+)"
POLICIES = PROJECT + r"/alertPolicies"
POLICY = POLICIES + r"/(?P<id>[^/:]+)"
CHANNEL_TABLE = "notification_channels"
POLICY_TABLE = "alert_policies"
LABEL = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
CONDITION_KINDS = (
    "conditionThreshold",
    "conditionAbsent",
    "conditionMatchedLog",
    "conditionMonitoringQueryLanguage",
    "conditionPrometheusQueryLanguage",
    "conditionSql",
)
DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")


def _new_id(fake: Fake, kind: str) -> str:
    """A numeric id, as Monitoring makes them (never reused)."""
    counters = fake.data.setdefault("monitoring_counters", {})
    counters[kind] = counters.get(kind, 0) + 1
    digest = hashlib.sha256(f"{kind}#{counters[kind]}".encode()).hexdigest()
    return str(int(digest, 16) % 10**19).rjust(19, "1")


def _check_labels(labels: JsonDict, what: str) -> None:
    for key, value in labels.items():
        if not LABEL.match(key) or not LABEL_VALUE.match(str(value)):
            raise ApiError(
                400,
                f"Invalid {what} {key}={value}: labels and values can contain only lowercase letters, numerals, "
                "underscores, and dashes (63 characters at most); keys must begin with a letter.",
            )


def _seconds(value: str, field: str) -> float:
    match = DURATION.match(value or "")
    if match is None:
        raise ApiError(400, f'Field {field} had an invalid value of "{value}": a duration such as 3600s')
    return float(match.group(1))


def _listing(fake: Fake, request: Request, table: str, key: str) -> JsonDict:
    fake.check_project(request.params["project"])
    items = [copy.deepcopy(item) for _, item in sorted(fake.table(table).items())]
    query = request.arg("filter")
    if query:
        items = logs.select(items, query)
    return {key: items, "totalSize": len(items)} if items else {}


# -- notification channels ------------------------------------------------------------------------


def _channel_name(fake: Fake, request: Request) -> str:
    fake.check_project(request.params["project"])
    name = f"projects/{fake.project_id}/notificationChannels/{request.params['id']}"
    if name not in fake.table(CHANNEL_TABLE):
        raise not_found(f"Could not find notification channel '{name}'.")
    return name


def _check_channel(channel: JsonDict) -> None:
    if channel.get("type") != "email":
        raise ApiError(400, f"gcp_fake serves e-mail channels only, not type '{channel.get('type')}'")
    address = channel.get("labels", {}).get("email_address", "")
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
        raise ApiError(400, "Notification channel of type 'email' requires the label 'email_address'.")
    _check_labels(channel.get("userLabels", {}), "user label")
    if len(channel.get("displayName", "")) > 512:
        raise ApiError(400, "The display name is limited to 512 characters.")


@routes.get("monitoring", CHANNELS)
def list_channels(fake: Fake, request: Request) -> JsonDict:
    return _listing(fake, request, CHANNEL_TABLE, "notificationChannels")


@routes.post("monitoring", CHANNELS)
def create_channel(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    channel = request.json()
    _check_channel(channel)
    channel["name"] = f"projects/{fake.project_id}/notificationChannels/{_new_id(fake, 'channel')}"
    channel.setdefault("enabled", True)
    fake.table(CHANNEL_TABLE)[channel["name"]] = channel
    return copy.deepcopy(channel)


@routes.get("monitoring", CHANNEL)
def get_channel(fake: Fake, request: Request) -> JsonDict:
    return copy.deepcopy(fake.table(CHANNEL_TABLE)[_channel_name(fake, request)])


@routes.patch("monitoring", CHANNEL)
def update_channel(fake: Fake, request: Request) -> JsonDict:
    name = _channel_name(fake, request)
    channel = copy.deepcopy(fake.table(CHANNEL_TABLE)[name])
    body = request.json()
    mask = request.arg("updateMask")
    fields = [_camel(f) for f in mask.split(",")] if mask else [k for k in body if k != "name"]
    for field in fields:
        if field in body:
            channel[field] = body[field]
        else:
            channel.pop(field, None)
    _check_channel(channel)
    fake.table(CHANNEL_TABLE)[name] = channel
    return copy.deepcopy(channel)


@routes.delete("monitoring", CHANNEL)
def delete_channel(fake: Fake, request: Request) -> JsonDict:
    name = _channel_name(fake, request)
    users = [p["name"] for p in fake.table(POLICY_TABLE).values() if name in p.get("notificationChannels", [])]
    if users and request.arg("force").lower() != "true":
        raise ApiError(
            400,
            f"Notification channel '{name}' is in use by alerting policies: {', '.join(users)}. "
            "Remove it from those policies or set force.",
            "FAILED_PRECONDITION",
        )
    for policy_name in users:
        policy = fake.table(POLICY_TABLE)[policy_name]
        policy["notificationChannels"] = [c for c in policy["notificationChannels"] if c != name]
    del fake.table(CHANNEL_TABLE)[name]
    return {}


def _camel(field: str) -> str:
    head, *rest = field.strip().split("_")
    return head + "".join(part.capitalize() for part in rest)


# -- alert policies -----------------------------------------------------------------------------


def _policy_name(fake: Fake, request: Request) -> str:
    fake.check_project(request.params["project"])
    name = f"projects/{fake.project_id}/alertPolicies/{request.params['id']}"
    if name not in fake.table(POLICY_TABLE):
        raise not_found(f"Could not find alert policy '{name}'.")
    return name


def _check_policy(fake: Fake, policy: JsonDict) -> None:
    if not policy.get("displayName"):
        raise ApiError(400, "Field alert_policy.display_name is required.")
    conditions = policy.get("conditions") or []
    if not conditions:
        raise ApiError(400, "Field alert_policy.conditions must contain at least one condition.")
    if len(conditions) > 1 and policy.get("combiner") not in ("AND", "OR", "AND_WITH_MATCHING_RESOURCE"):
        raise ApiError(400, "Field alert_policy.combiner is required when a policy has several conditions.")
    for condition in conditions:
        kinds = [k for k in CONDITION_KINDS if k in condition]
        if len(kinds) != 1:
            raise ApiError(400, "Each condition must set exactly one condition type.")
        if not condition.get("displayName"):
            raise ApiError(400, "Field alert_policy.conditions[0].display_name is required.")
    log_match = [c["conditionMatchedLog"] for c in conditions if "conditionMatchedLog" in c]
    strategy = policy.get("alertStrategy", {})
    if log_match:
        if len(conditions) > 1:
            raise ApiError(400, "A policy with a log match condition may have only that one condition.")
        if not log_match[0].get("filter"):
            raise ApiError(400, "Field conditionMatchedLog.filter is required.")
        logs.select([], log_match[0]["filter"])  # refuses a filter this fake cannot judge
        for key, extractor in log_match[0].get("labelExtractors", {}).items():
            if not re.fullmatch(r"(REGEXP_)?EXTRACT\(.+\)", extractor) or not LABEL.match(key):
                raise ApiError(400, f"Invalid label extractor {key}: {extractor}")
        period = strategy.get("notificationRateLimit", {}).get("period")
        if not period:
            raise ApiError(
                400, "Field alert_strategy.notification_rate_limit is required for log-based alerting policies."
            )
        if _seconds(period, "notification_rate_limit.period") < 300:
            raise ApiError(400, "notification_rate_limit.period must be at least 5 minutes.")
    if "autoClose" in strategy and _seconds(strategy["autoClose"], "auto_close") < 1800:
        raise ApiError(400, "alert_strategy.auto_close must be at least 30 minutes.")
    for channel in policy.get("notificationChannels", []):
        if channel not in fake.table(CHANNEL_TABLE):
            raise ApiError(404, f"Could not find notification channel '{channel}'.", "NOT_FOUND")
    _check_labels(policy.get("userLabels", {}), "user label")
    documentation = policy.get("documentation", {})
    if documentation and documentation.get("mimeType", "text/markdown") != "text/markdown":
        raise ApiError(400, "documentation.mime_type must be text/markdown.")
    if len(documentation.get("subject", "")) > 255:
        raise ApiError(400, "documentation.subject is limited to 255 characters.")


def _stamp(fake: Fake, policy: JsonDict, name: str, created: JsonDict | None) -> JsonDict:
    record = {"mutateTime": now_rfc3339(), "mutatedBy": fake.deployer}
    policy["name"] = name
    policy["creationRecord"] = created or record
    policy["mutationRecord"] = record
    policy.setdefault("enabled", True)
    for condition in policy["conditions"]:
        condition.setdefault("name", f"{name}/conditions/{_new_id(fake, 'condition')}")
    return policy


@routes.get("monitoring", POLICIES)
def list_policies(fake: Fake, request: Request) -> JsonDict:
    return _listing(fake, request, POLICY_TABLE, "alertPolicies")


@routes.post("monitoring", POLICIES)
def create_policy(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    policy = request.json()
    policy.pop("name", None)
    _check_policy(fake, policy)
    name = f"projects/{fake.project_id}/alertPolicies/{_new_id(fake, 'policy')}"
    fake.table(POLICY_TABLE)[name] = _stamp(fake, policy, name, None)
    return copy.deepcopy(policy)


@routes.get("monitoring", POLICY)
def get_policy(fake: Fake, request: Request) -> JsonDict:
    return copy.deepcopy(fake.table(POLICY_TABLE)[_policy_name(fake, request)])


@routes.patch("monitoring", POLICY)
def update_policy(fake: Fake, request: Request) -> JsonDict:
    name = _policy_name(fake, request)
    old = fake.table(POLICY_TABLE)[name]
    body = request.json()
    mask = request.arg("updateMask")
    if mask:
        policy = copy.deepcopy(old)
        for field in (_camel(f) for f in mask.split(",")):
            top = field.split(".")[0]
            if top in body:
                policy[top] = body[top]
    else:  # no mask: the policy is replaced as a whole
        policy = {k: v for k, v in body.items() if k not in ("name", "creationRecord", "mutationRecord")}
    _check_policy(fake, policy)
    fake.table(POLICY_TABLE)[name] = _stamp(fake, policy, name, old["creationRecord"])
    return copy.deepcopy(policy)


@routes.delete("monitoring", POLICY)
def delete_policy(fake: Fake, request: Request) -> JsonDict:
    del fake.table(POLICY_TABLE)[_policy_name(fake, request)]
    return {}
