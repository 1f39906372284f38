"""Who may call which endpoint: the scout, the scheduler's jobs, or the owner (issue 14, item 1).

A live Tesla access token leaves the worker only through `/get-token`, so that and the refresh stay
with the scout; the one-shot and nightly jobs belong to the scheduler; needs, sessions, plans and
status belong to the owner. Routes are looked up by their URL rule in `ENDPOINT_ROLES`; a module
adding routes declares them with `register()` or the `allow()` / `owner_endpoint` decorators, and
anything under `/owner/` is the owner's. A route declared nowhere is the owner's alone, so a new
route never hands anything to a service account by accident.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import g, request

from shared.errors import Forbidden
from shared.log import get_logger
from worker_service.auth import EVERY_ROLE, OWNER, SCHEDULER, SCOUT, Caller

log = get_logger("WORKER")
View = TypeVar("View", bound=Callable[..., Any])

OWNER_PREFIX = "/owner/"
ROLES_ATTRIBUTE = "allowed_roles"
SCOUT_ONLY = frozenset({SCOUT})
SCHEDULER_ONLY = frozenset({SCHEDULER})
OWNER_ONLY = frozenset({OWNER})

ENDPOINT_ROLES: dict[str, frozenset[str]] = {
    "/get-token": SCOUT_ONLY,
    "/refresh-tokens": SCOUT_ONLY,
    "/scout-trigger": SCOUT_ONLY,
    "/run-cycle": SCHEDULER_ONLY,
    "/send-special-schedule": SCHEDULER_ONLY,
    "/cleanup-single-session": SCHEDULER_ONLY,
    # The 23:00 job, and the owner's "plan tonight now".
    "/daily-special-charging-check": frozenset({SCHEDULER, OWNER}),
    "/special-charging-needs": OWNER_ONLY,
    "/special-charging-needs/<need_id>": OWNER_ONLY,
    "/special-charging-sessions": OWNER_ONLY,
    "/special-charging-sessions/<session_id>": OWNER_ONLY,
    "/plan-preview": OWNER_ONLY,
    # Read-only; the deploy's smoke check reads it as the scheduler account (SMOKE_AS_SCHEDULER=1).
    "/scheduler-jobs": frozenset({OWNER, SCHEDULER}),
    "/status": OWNER_ONLY,
    "/": OWNER_ONLY,
    # The status page's local login link (routes/status.py answers it, with its own token, before this).
    "/login": OWNER_ONLY,
    # A description of the API, nothing more: every authenticated caller may read it.
    "/openapi.json": EVERY_ROLE,
}

ROLE_NAMES = {SCOUT: "the scout", SCHEDULER: "the scheduler's jobs", OWNER: "the owner"}
# What each kind of caller is told it may use instead, so a 403 says where to go.
ROLE_HINTS = {
    OWNER: "an owner may call the needs, sessions, plan-preview, daily check, scheduler-jobs and status endpoints",
    SCHEDULER: "the scheduler account may call the job endpoints",
    SCOUT: "the scout may call /get-token, /refresh-tokens and /scout-trigger",
}


def register(rule: str, *roles: str) -> None:
    """Declare which roles may call a URL rule (for modules that add routes)."""
    ENDPOINT_ROLES[rule] = _checked(roles)


def allow(*roles: str) -> Callable[[View], View]:
    """Decorate a view with the roles that may call it (wins over the table)."""
    allowed = _checked(roles)

    def mark(view: View) -> View:
        setattr(view, ROLES_ATTRIBUTE, allowed)
        return view

    return mark


def owner_endpoint(view: View) -> View:
    """Decorate a view as the owner's alone."""
    return allow(OWNER)(view)


def _checked(roles: Iterable[str]) -> frozenset[str]:
    allowed = frozenset(roles)
    if not allowed or not allowed <= EVERY_ROLE:
        raise ValueError(f"roles must be some of {sorted(EVERY_ROLE)}")
    return allowed


def roles_for(rule: str, view: Callable[..., Any] | None = None) -> frozenset[str]:
    """The roles that may call a route: the view's own declaration, the table, the owner prefix, else the owner."""
    declared = getattr(view, ROLES_ATTRIBUTE, None) if view is not None else None
    if isinstance(declared, frozenset):
        return declared
    if rule in ENDPOINT_ROLES:
        return ENDPOINT_ROLES[rule]
    return OWNER_ONLY


def is_declared(rule: str, view: Callable[..., Any] | None = None) -> bool:
    """Whether a route's roles are written down somewhere rather than defaulted."""
    return (
        isinstance(getattr(view, ROLES_ATTRIBUTE, None), frozenset)
        or rule in ENDPOINT_ROLES
        or rule.startswith(OWNER_PREFIX)
    )


def authorize(caller: Caller, rule: str, view: Callable[..., Any] | None = None) -> None:
    """Forbidden unless the caller holds one of the roles the route admits."""
    allowed = roles_for(rule, view)
    if caller.roles & allowed:
        return
    who = " or ".join(ROLE_NAMES[r] for r in sorted(allowed))
    hints = "; ".join(ROLE_HINTS[r] for r in sorted(caller.roles)) or "this caller holds no role"
    log.warning(
        f"refused {request.method} {rule}: it is for {who}",
        fields={"caller": caller.identity, "roles": sorted(caller.roles), "path": rule},
    )
    raise Forbidden(f"{rule} is for {who} only; {hints}")


def current_caller() -> Caller | None:
    """The authenticated caller of the request being served (None on /health)."""
    caller = g.get("caller")
    return caller if isinstance(caller, Caller) else None


def acting_owner() -> str | None:
    """The owner's identity when this request is the owner's own doing (for the audit log), else None.

    A caller holding the scheduler role too (the local shared secret, or every account before
    WORKER_SCOUT_INVOKERS) acts as the scheduler when the call comes from a scheduler job.
    """
    caller = current_caller()
    if caller is None or OWNER not in caller.roles:
        return None
    if SCHEDULER in caller.roles and request.headers.get("X-CloudScheduler") == "true":
        return None
    return caller.identity


def audit(message: str, **fields: Any) -> None:
    """Log an owner's action with the owner's e-mail (`jsonPayload.owner`); nothing for a scheduler run."""
    owner = acting_owner()
    if owner is not None:
        log.info(message, fields={"owner": owner, **fields})
