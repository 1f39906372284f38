"""The owner's alerts after a real-gcloud deploy: the e-mail channel and its one alert policy, and the optional secrets.

Read from the fake's Cloud Monitoring and Secret Manager state after each step of lifecycle.py:
`first` and `second` run with ALERT_EMAIL, a webhook URL and an ENTSO-E token; `changed` drops the
e-mail and the token and changes the webhook; teardown finds the channel and policy again.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.gcp_fake import logs
from tests.deploy.harness import PROJECT
from tests.deploy.lifecycle import (
    ALERT_EMAIL,
    OTHER_CHANNEL,
    OTHER_POLICY,
    WORKER_SA,
    Life,
    worker_env,
)

pytestmark = pytest.mark.timeout(900)  # the session's lifecycle may run inside one of these tests
SECRETS = f"/v1/projects/{PROJECT}/secrets"


def _ours(state: dict[str, Any], table: str) -> list[dict[str, Any]]:
    return [r for r in state.get(table, {}).values() if r.get("userLabels", {}).get("app") == "tesla-offpeak"]


def _monitoring(life: Life, step: str, method: str | None = None) -> list[str]:
    return [
        f"{r['method']} {r['path']}"
        for r in life.runs[step].requests
        if r["api"] == "monitoring" and (method is None or r["method"] == method)
    ]


def test_alert_email_makes_one_channel_and_one_rate_limited_log_policy(life: Life) -> None:
    state = life.states["first"]
    (channel,) = _ours(state, "notification_channels")
    assert channel["type"] == "email" and channel["labels"] == {"email_address": ALERT_EMAIL}
    (policy,) = _ours(state, "alert_policies")
    assert policy["notificationChannels"] == [channel["name"]]
    (condition,) = policy["conditions"]  # one condition: $1.50 a month
    assert policy["alertStrategy"]["notificationRateLimit"] == {"period": "3600s"}
    assert policy["alertStrategy"]["autoClose"] == "1800s"
    assert condition["conditionMatchedLog"]["labelExtractors"] == {"event": "EXTRACT(jsonPayload.event)"}
    assert policy["enabled"] is True
    out = life.runs["first"].stdout
    assert f"e-mail to {ALERT_EMAIL}" in out and "1 alert condition, $1.50 a month" in out


def test_the_policy_matches_the_workers_alert_lines_and_nothing_else(life: Life) -> None:
    (policy,) = _ours(life.states["first"], "alert_policies")
    query = policy["conditions"][0]["conditionMatchedLog"]["filter"]

    def line(service: str, **payload: str) -> dict[str, Any]:
        labels = {"service_name": service}
        return {"resource": {"type": "cloud_run_revision", "labels": labels}, "jsonPayload": payload}

    alert = line("tesla-worker", event="session_failed", message="[SPECIAL] the schedule was refused")
    entries = [
        alert,
        line("tesla-worker", message="[WORKER] cycle done"),
        line("tesla-scout", message="[SCOUT] no change"),
        {"resource": {"type": "cloud_scheduler_job"}, "jsonPayload": {"event": "x"}},
    ]
    assert logs.select(entries, query) == [alert]


def test_a_second_deploy_finds_the_channel_and_policy_and_creates_none(life: Life) -> None:
    assert _monitoring(life, "second", "POST") == [] and _monitoring(life, "second", "DELETE") == []
    for table in ("notification_channels", "alert_policies"):
        names = [r["name"] for r in _ours(life.states["second"], table)]
        assert names == [r["name"] for r in _ours(life.states["first"], table)]
    # Updated in place, from the same file.
    (patch,) = _monitoring(life, "second", "PATCH")
    assert "/alertPolicies/" in patch


def test_without_alert_email_the_channel_and_policy_are_removed(life: Life) -> None:
    state = life.states["changed"]
    assert _ours(state, "notification_channels") == [] and _ours(state, "alert_policies") == []
    deletes = _monitoring(life, "changed", "DELETE")
    # The policy first: a channel in use cannot be deleted.
    assert [d.split("/")[4] for d in deletes] == ["alertPolicies", "notificationChannels"]
    assert "no e-mail (ALERT_EMAIL is not set" in life.runs["changed"].stdout


def test_teardown_removes_our_channel_and_policy_and_keeps_everyone_elses(life: Life) -> None:
    state = life.states["teardown"]
    assert list(state["notification_channels"]) == [OTHER_CHANNEL]
    assert list(state["alert_policies"]) == [OTHER_POLICY]
    assert _monitoring(life, "teardown_again", "DELETE") == []


# --- the optional secrets: ALERT_WEBHOOK_URL, ENTSOE_API_TOKEN -------------------------------------


def _versions(life: Life, step: str, secret: str) -> list[list[str]]:
    return [c["argv"] for c in life.runs[step].calls if c["argv"][:4] == ["secrets", "versions", "add", secret]]


def test_the_webhook_url_is_a_secret_only_the_worker_reads(life: Life) -> None:
    for step in ("first", "changed"):
        state = life.states[step]
        entry = worker_env(state)["ALERT_WEBHOOK_URL"]
        assert entry == {
            "name": "ALERT_WEBHOOK_URL",
            "valueFrom": {"secretKeyRef": {"name": "tesla-alert-webhook", "key": "latest"}},
        }
        policy = state["policies"][f"projects/{PROJECT}/secrets/tesla-alert-webhook"]
        assert policy["bindings"] == [
            {"role": "roles/secretmanager.secretAccessor", "members": [f"serviceAccount:{WORKER_SA}"]}
        ]
    # A version when the URL is new or changed, on stdin; none when it is the same.
    assert [len(_versions(life, step, "tesla-alert-webhook")) for step in ("first", "second", "changed")] == [1, 0, 1]
    assert _versions(life, "first", "tesla-alert-webhook")[0][4] == "--data-file=-"


def test_the_entsoe_token_is_given_by_reference_and_deleted_when_unset(life: Life) -> None:
    first = worker_env(life.states["first"])["ENTSOE_API_TOKEN"]
    assert first["valueFrom"]["secretKeyRef"] == {"name": "tesla-entsoe-token", "key": "latest"}
    assert [len(_versions(life, step, "tesla-entsoe-token")) for step in ("first", "second")] == [1, 0]
    # Unset: the worker no longer refers to it, then the secret (a billed version) goes.
    assert "ENTSOE_API_TOKEN" not in worker_env(life.states["changed"])
    assert f"projects/{PROJECT}/secrets/tesla-entsoe-token" not in life.states["changed"]["policies"]
    calls = [c["argv"][:3] for c in life.runs["changed"].calls]
    assert calls.index(["secrets", "delete", "tesla-entsoe-token"]) > calls.index(["run", "services", "replace"])
