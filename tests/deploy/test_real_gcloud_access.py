"""Who may do what after a real-gcloud deploy: the accounts' roles, the invokers' pinned ids, the owners, the jobs' OIDC.

Read from the fake's stored IAM policies and resources after each step of lifecycle.py, and
checked against deploy/README.md's table "Who may do what", so the guide cannot drift from what
the deploy grants.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from shared.settings import load_settings
from tests.deploy.harness import PROJECT, ROOT
from tests.deploy.lifecycle import (
    BUILD_SA,
    DEPLOYER,
    FRIEND,
    SCHEDULER_SA,
    SCOUT_SA,
    SCOUT_SERVICE,
    STATIC_JOBS,
    WORKER_SA,
    WORKER_SERVICE,
    WRONG_AUDIENCE,
    Life,
    invoker_members,
    worker_env,
)

pytestmark = pytest.mark.timeout(900)  # the session's lifecycle may run inside one of these tests
OUR_ACCOUNTS = {WORKER_SA, SCOUT_SA, SCHEDULER_SA, BUILD_SA}
DEPLOYED_STEPS = ("first", "second", "changed")
OWNER_ANNOTATION = "tesla-offpeak/owner-grants"


def _bindings(state: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(resource, b) for resource, policy in state["policies"].items() for b in policy.get("bindings", [])]


# --- nothing public, nobody promoted -------------------------------------------------------------


def test_nothing_is_ever_public(life: Life) -> None:
    for step in DEPLOYED_STEPS:
        for resource, binding in _bindings(life.states[step]):
            public = {"allUsers", "allAuthenticatedUsers"} & set(binding["members"])
            assert not public, f"{step}: {resource} gives {binding['role']} to {public}"


def test_no_owner_or_editor_role_is_granted(life: Life) -> None:
    for step in DEPLOYED_STEPS:
        for resource, binding in _bindings(life.states[step]):
            if binding["role"] in ("roles/owner", "roles/editor"):
                # Only the project's own owner, as the fake project was made.
                assert (resource, binding["members"]) == (f"projects/{PROJECT}", [f"serviceAccount:{DEPLOYER}"])


# --- each service account: exactly the README's roles -------------------------------------------


def _resource(resource: str, binding: dict[str, Any]) -> str:
    if resource == f"projects/{PROJECT}":
        return "project (if)" if "condition" in binding else "project"
    if "/serviceAccounts/" in resource:
        return resource.rsplit("/", 1)[1].split("@")[0]
    return resource.rsplit("/", 1)[1]


def _role(role: str) -> str:
    return f"custom:{role.rsplit('/', 1)[1]}" if role.startswith("projects/") else role


def granted(state: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(account, role, where) of every grant to the deploy's four service accounts."""
    found = set()
    for resource, binding in _bindings(state):
        for member in binding["members"]:
            email = member.removeprefix("serviceAccount:")
            if email in OUR_ACCOUNTS:
                found.add((email.split("@")[0], _role(binding["role"]), _resource(resource, binding)))
    return found


def readme_table() -> list[tuple[str, str, str]]:
    """(account, role cell, "on" cell) of deploy/README.md's "Who may do what" table, the account carried down."""
    text = (ROOT / "deploy" / "README.md").read_text()
    section = text.split("## Who may do what", 1)[1].split("\n## ", 1)[0]
    rows, account = [], ""
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or cells[0] == "account" or set(cells[1]) <= {"-"}:
            continue
        account = cells[0] or account
        rows.append((account, cells[1], cells[2]))
    return rows


def readme_claims() -> set[tuple[str, str, str]]:
    """(account, role, where) the README's table grants to the deploy's service accounts."""
    claims = set()
    for account_cell, role_cell, on_cell in readme_table():
        account = re.search(r"`([a-z-]+)@…`", account_cell)
        if account is None:
            continue  # the owners' row: people, checked by the owner tests
        roles, prefix = [], ""
        for token in re.findall(r"`([^`]+)`", role_cell):
            if token.startswith("roles/"):
                prefix = token.rsplit(".", 1)[0] + "."
                roles.append(token)
            elif re.fullmatch(r"[a-z][A-Za-z]+", token):
                roles.append(f"custom:{token}" if role_cell.startswith("custom") else prefix + token)
        if "IAM condition" in role_cell + on_cell:
            places = ["project (if)"]
        elif on_cell.startswith("project"):
            places = ["project"]
        else:
            places = re.findall(r"`([^`]+)`", on_cell)
        claims |= {(account.group(1), role, place) for role in roles for place in places}
    return claims


def test_each_service_account_has_exactly_the_roles_the_readme_lists(life: Life) -> None:
    # `second` holds every optional part (command key, webhook, ENTSO-E token).
    claims = readme_claims()
    assert len(claims) > 15  # the table was read
    assert granted(life.states["second"]) == claims


def test_the_scout_never_reads_the_command_key_or_the_optional_secrets(life: Life) -> None:
    state = life.states["second"]
    for secret in ("tesla-command-key", "tesla-alert-webhook", "tesla-entsoe-token"):
        members = {
            m for b in state["policies"][f"projects/{PROJECT}/secrets/{secret}"]["bindings"] for m in b["members"]
        }
        assert members == {f"serviceAccount:{WORKER_SA}"}, secret


# --- the worker's invokers, pinned by unique id ----------------------------------------------------


def _unique_ids(state: dict[str, Any]) -> dict[str, str]:
    return {a["email"]: a["uniqueId"] for a in state["service_accounts"].values()}


def test_the_invokers_are_pinned_to_the_accounts_unique_ids(life: Life) -> None:
    # `first` read the ids from the create answers, the others from the list of accounts.
    for step in DEPLOYED_STEPS:
        ids = _unique_ids(life.states[step])
        assert all(re.fullmatch(r"[0-9]{21}", ids[email]) for email in (SCOUT_SA, SCHEDULER_SA))
        env = worker_env(life.states[step])
        assert env["WORKER_ALLOWED_INVOKERS"]["value"] == f"{SCOUT_SA},{SCHEDULER_SA}"
        assert env["WORKER_ALLOWED_INVOKER_IDS"]["value"] == (
            f"{SCOUT_SA}={ids[SCOUT_SA]},{SCHEDULER_SA}={ids[SCHEDULER_SA]}"
        )
        assert env["WORKER_SCOUT_INVOKERS"]["value"] == SCOUT_SA


def test_the_worker_accepts_the_environment_the_deploy_gives_it(life: Life) -> None:
    for step in ("first", "changed"):
        env = {name: entry["value"] for name, entry in worker_env(life.states[step]).items() if entry.get("value")}
        settings = load_settings({**env, "K_SERVICE": "tesla-worker"}, component="worker")
        ids = _unique_ids(life.states[step])
        assert dict(settings.worker_allowed_invoker_ids) == {SCOUT_SA: ids[SCOUT_SA], SCHEDULER_SA: ids[SCHEDULER_SA]}
        assert settings.worker_scout_invokers == (SCOUT_SA,)
        assert DEPLOYER in settings.worker_owner_emails


# --- owners: their own identity, run.invoker on the worker only -------------------------------------


def _owner_grants(state: dict[str, Any]) -> str:
    return str(state["run_services"][WORKER_SERVICE]["metadata"]["annotations"][OWNER_ANNOTATION])


def _owner_binding_calls(life: Life, step: str, verb: str) -> list[str]:
    return [
        a.removeprefix("--member=")
        for argv in life.runs[step].find("run", "services", f"{verb}-iam-policy-binding", "tesla-worker")
        for a in argv
        if a.startswith("--member=")
    ]


SERVICES_AS_INVOKERS = {f"serviceAccount:{SCOUT_SA}", f"serviceAccount:{SCHEDULER_SA}"}


def test_the_deploying_account_and_the_listed_owners_may_call_the_worker(life: Life) -> None:
    state = life.states["first"]
    owners = {f"serviceAccount:{DEPLOYER}", "user:old-owner@example.com"}  # config said Old-Owner@Example.com
    assert invoker_members(state) == SERVICES_AS_INVOKERS | owners
    assert worker_env(state)["WORKER_OWNER_EMAILS"]["value"] == f"{DEPLOYER},old-owner@example.com"
    assert _owner_grants(state) == f"serviceAccount:{DEPLOYER},user:old-owner@example.com"
    # On the worker service only: nothing on the project, the scout or anywhere else.
    for resource, binding in _bindings(state):
        if resource != WORKER_SERVICE and binding["role"] != "roles/owner":
            assert not owners & set(binding["members"]), resource


def test_a_second_deploy_leaves_the_owners_grants_alone(life: Life) -> None:
    assert life.states["second"]["policies"][WORKER_SERVICE] == life.states["first"]["policies"][WORKER_SERVICE]
    assert _owner_binding_calls(life, "second", "add") == []
    assert _owner_binding_calls(life, "second", "remove") == []


def test_a_config_change_adds_the_new_owner_and_removes_only_its_own_grants(life: Life) -> None:
    state = life.states["changed"]
    # family@ is new: one binding added; old-owner@ is no longer listed: the deploy's grant goes;
    # friend@ was granted by someone else before being listed: kept, and never recorded as ours.
    assert _owner_binding_calls(life, "changed", "add") == ["user:family@example.com"]
    assert _owner_binding_calls(life, "changed", "remove") == ["user:old-owner@example.com"]
    assert invoker_members(state) == SERVICES_AS_INVOKERS | {
        f"serviceAccount:{DEPLOYER}",
        "user:family@example.com",
        FRIEND,
    }
    assert _owner_grants(state) == f"serviceAccount:{DEPLOYER},user:family@example.com"
    assert worker_env(state)["WORKER_OWNER_EMAILS"]["value"] == (f"{DEPLOYER},family@example.com,friend@example.com")


# --- scheduler jobs: OIDC everywhere, and the smoke check's reasons when it is refused ----------------


def test_every_scheduler_job_calls_with_the_scheduler_accounts_oidc_token(life: Life) -> None:
    for step in DEPLOYED_STEPS:
        state = life.states[step]
        bases = {s["status"]["url"] for s in state["run_services"].values()}
        assert set(state["jobs"]) == set(STATIC_JOBS)
        for name, job in state["jobs"].items():
            target = job["httpTarget"]
            assert target["oidcToken"]["serviceAccountEmail"] == SCHEDULER_SA, name
            # The audience is the target's base URL, which the worker checks (contract section 5).
            assert target["oidcToken"]["audience"] in bases, name
            assert target["uri"].startswith(target["oidcToken"]["audience"]), name
            assert "oauthToken" not in target, name


def test_the_smoke_check_names_each_refused_job_and_the_fix(life: Life) -> None:
    refused = life.runs["smoke_refused"]
    worker_url = life.states["changed"]["run_services"][WORKER_SERVICE]["status"]["url"]
    assert refused.returncode != 0
    out = refused.stdout
    # A wrong audience: Cloud Run answers 401.
    assert "FAIL  tesla-run-cycle-failsafe: tesla-worker refused the job's OIDC token (401" in out
    assert f"its audience must be {worker_url}" in out
    # The scheduler account without run.invoker on the scout: 403.
    assert "FAIL  tesla-scout-every-15-min: tesla-scout refused the caller (403" in out
    assert f"{SCHEDULER_SA} needs roles/run.invoker on tesla-scout" in out
    assert out.count("run ./deploy_scout_worker.sh") == 2
    assert "PASS  tesla-daily-special-charging-check delivered" in out
    assert "2 check(s) failed" in out
    # What the targets logged about it is shown under each failure.
    assert WRONG_AUDIENCE in out and "lacks run.routes.invoke" in out
    # The healthy deployment passed the same check just before (test_real_gcloud.py).
    assert f"serviceAccount:{SCHEDULER_SA}" in invoker_members(life.states["changed"], SCOUT_SERVICE)
