"""The OpenAPI 3 description of the worker's endpoints (contract section 3).

One table of operations; `/openapi.json` publishes the ones the running app actually serves, so the
description never claims an endpoint that does not exist.
"""

from __future__ import annotations

from typing import Any

ISO = {"type": "string", "format": "date-time"}
ERROR = {
    "type": "object",
    "required": ["status", "error", "message"],
    "properties": {"status": {"const": "error"}, "error": {"type": "string"}, "message": {"type": "string"}},
}
SESSION_ID = {"type": "string", "pattern": r"^special_[0-9]{1,6}_[0-9]{8}_[0-9]{4}$"}
NEED_ID = {"type": "string", "pattern": r"^need_[A-Za-z0-9]{1,40}$"}
PLAN = {
    "type": "object",
    "required": [
        "windows",
        "charging_start",
        "charging_end",
        "send_schedule_at",
        "energy_kwh",
        "estimated_cost",
        "currency",
        "feasible",
    ],
    "properties": {
        "windows": {"type": "array", "items": {"type": "object", "properties": {"start": ISO, "end": ISO}}},
        "charging_start": {"type": ["string", "null"]},
        "charging_end": {"type": ["string", "null"]},
        "send_schedule_at": {"type": ["string", "null"]},
        "energy_kwh": {"type": "number"},
        "estimated_cost": {"type": "number"},
        "currency": {"type": "string"},
        "feasible": {"type": "boolean"},
    },
}
OBJECT = {"type": "object"}
SESSION = {
    "type": "object",
    "required": ["session_id", "status"],
    "properties": {
        "session_id": SESSION_ID,
        "status": {"enum": ["SCHEDULED", "ACTIVE", "COMPLETED", "FAILED", "CANCELLED"]},
        "history": {"type": "array", "items": OBJECT},
    },
}
NEED = {"type": "object", "required": ["need_id", "status"], "properties": {"need_id": NEED_ID}}
JOB = {
    "type": "object",
    "required": ["name", "schedule", "time_zone", "uri", "body"],
    "properties": {"name": {"type": "string"}, "body": OBJECT},
}
HANDLER_ANSWER = {
    "type": "object",
    "required": ["status", "session_id"],
    "properties": {"status": {"enum": ["success", "error"]}, "session_id": SESSION_ID},
}
# What the scout sends (shared/scout/tick.py); the worker refuses other types (routes/cycle.py).
TRIGGER = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "maxLength": 200},
        "vin": {"type": "string", "maxLength": 200},
        "vehicle_state": {"type": ["string", "null"], "maxLength": 200},
        "observed_at": {"type": ["string", "null"], "maxLength": 200},
        "at_home": {"type": ["boolean", "null"]},
        "distance_m": {"type": ["number", "null"]},
        "charge_state": {"type": ["object", "null"]},
        "charge_schedules": {"type": ["array", "null"], "maxItems": 50, "items": {"type": "object"}},
    },
}
SESSION_BODY = {
    "type": "object",
    "required": ["session_id"],
    "properties": {"session_id": SESSION_ID},
    "additionalProperties": True,
}

# The owner's status page (routes/status.py): one JSON view, one HTML view, a login link, two forms.
STATUS = {
    "type": "object",
    "required": ["status", "now", "timezone", "vehicles", "needs", "sessions", "jobs", "tokens", "usage"],
    "properties": {
        "status": {"enum": ["ok", "degraded"]},
        "vehicles": {"type": "array", "items": OBJECT},
        "needs": {"type": "array", "items": NEED},
        "sessions": OBJECT,
        "jobs": {"type": "array", "items": OBJECT},
        "tokens": OBJECT,
        "owner_actions": {"type": "array", "items": OBJECT},
        "events": {"type": "array", "items": OBJECT},
        "usage": OBJECT,
    },
}
# Exactly what the form handler accepts; the CSRF token is left untyped (scripts without a browser's
# headers need none, so no value of it can be "invalid").
NEED_FORM = {
    "type": "object",
    "required": ["target_soc", "departure_date", "departure_time"],
    "properties": {
        "csrf_token": {},
        "target_soc": {"type": "string", "pattern": "^(5[0-9]|[6-9][0-9]|100)$"},
        "departure_date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        "departure_time": {"type": "string", "pattern": "^[0-9]{2}:[0-9]{2}(:[0-9]{2})?$"},
        "vin": {"type": "string", "pattern": "^[A-Z0-9]{17}$"},
    },
    "additionalProperties": False,
}
CANCEL_FORM = {"type": "object", "properties": {"csrf_token": {}}, "additionalProperties": False}
SEE_OTHER = {"description": "Post/Redirect/Get: back to /, the outcome in a short-lived signed cookie"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    ok: dict[str, Any],
    *,
    body: dict[str, Any] | None = None,
    body_required: bool = True,
    ok_status: str = "200",
    extra: dict[str, Any] | None = None,
    public: bool = False,
) -> dict[str, Any]:
    responses: dict[str, Any] = {ok_status: _json(ok)}
    if not public:
        responses["401"] = _json(ERROR, "No or malformed credentials")
        responses["403"] = _json(ERROR, "Credentials not allowed")
        # Every authenticated endpoint reads the store: when it is down the answer is 503, never 500.
        responses["503"] = _json(ERROR, "A dependency (store, secrets, scheduler, Tesla) is unavailable")
    if body is not None:
        responses["400"] = _json(ERROR, "Invalid request")
        responses["413"] = _json(ERROR, "Body larger than 64 KiB")
    responses.update(extra or {})
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if body is not None:
        operation["requestBody"] = {"required": body_required, "content": {"application/json": {"schema": body}}}
    if public:
        operation["security"] = []
    return operation


def _owner_errors() -> dict[str, Any]:
    return {
        "401": _json(ERROR, "No or malformed credentials"),
        "403": _json(ERROR, "Credentials not allowed, or a form from another page (CSRF)"),
        "503": _json(ERROR, "A dependency (store, secrets, scheduler) is unavailable"),
    }


def _page_op() -> dict[str, Any]:
    html = {"description": "The status page", "content": {"text/html": {"schema": {"type": "string"}}}}
    return {"summary": "The owner's status page (HTML)", "responses": {"200": html, **_owner_errors()}}


def _login_op() -> dict[str, Any]:
    return {
        "summary": "Local login link (shared-secret mode): sets the page's session cookie and redirects to /",
        "parameters": [{"name": "token", "in": "query", "required": True, "schema": {"type": "string"}}],
        "responses": {
            "303": {"description": "Logged in: the session cookie is set"},
            "400": _json(ERROR, "No token in the link"),
            "404": _json(ERROR, "Not in shared-secret mode"),
            **_owner_errors(),
            "401": _json(ERROR, "No credentials, or the link's token is wrong"),
        },
    }


def _form_op(summary: str, schema: dict[str, Any], required: bool) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "303": SEE_OTHER,
        "400": _json(ERROR, "Invalid form (answered to scripts; a browser gets the 303 with the message)"),
        "413": _json(ERROR, "Body larger than 64 KiB"),
        "415": _json(ERROR, "Not a form body"),
        **_owner_errors(),
    }
    if not required:
        responses["404"] = _json(ERROR, "Unknown need")
        responses["409"] = _json(ERROR, "The session is being handled right now; try again")
        responses["502"] = _json(ERROR, "Tesla unavailable: the limit is restored by the cleanup job")
    return {
        "summary": summary,
        "requestBody": {"required": required, "content": {"application/x-www-form-urlencoded": {"schema": schema}}},
        "responses": responses,
    }


# (flask rule, method) -> operation
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("/health", "get"): _op(
        "Liveness and token-chain health; no Tesla or cloud calls",
        {"type": "object", "required": ["status"], "properties": {"status": {"enum": ["ok", "degraded"]}}},
        public=True,
    ),
    ("/get-token", "get"): _op(
        "A valid Tesla access token (refreshed first when under 5 minutes remain)",
        {"type": "object", "required": ["status", "access_token", "remaining_minutes", "architecture"]},
        extra={"502": _json(ERROR, "Tesla refused the refresh"), "503": _json(ERROR, "Tokens unavailable")},
    ),
    ("/refresh-tokens", "post"): _op(
        "Refresh the Tesla tokens now (at most once per 60 s)",
        {"type": "object", "required": ["success"]},
        body={"type": "object", "properties": {"reason": {"type": "string", "maxLength": 200}}},
        body_required=False,
        extra={
            "429": _json({"type": "object", "required": ["success", "message"]}, "Rate limit"),
            "502": _json(ERROR, "Tesla refused the refresh"),
            "503": _json(ERROR, "Tokens unavailable"),
        },
    ),
    ("/scout-trigger", "post"): _op(
        "The normal OFF PEAK cycle for a vehicle the scout saw change state",
        OBJECT,
        body=TRIGGER,
        body_required=False,
        extra={"502": _json(ERROR, "Tesla unavailable"), "503": _json(ERROR, "Dependency unavailable")},
    ),
    ("/run-cycle", "post"): _op(
        "The nightly failsafe cycle; may wake the vehicle once",
        OBJECT,
        extra={"502": _json(ERROR, "Tesla unavailable"), "503": _json(ERROR, "Dependency unavailable")},
    ),
    ("/daily-special-charging-check", "post"): _op(
        "Plan every pending special-charging need in the horizon; create sessions and jobs",
        {"type": "object", "required": ["status", "sessions"]},
        extra={"502": _json(ERROR, "Tesla unavailable"), "503": _json(ERROR, "Dependency unavailable")},
    ),
    ("/send-special-schedule", "post"): _op(
        "Wake the car, set the session's limit and schedule (one-shot job target)",
        HANDLER_ANSWER,
        body=SESSION_BODY,
        extra={
            "404": _json(ERROR, "Unknown session"),
            "502": _json(ERROR, "Tesla unavailable"),
            "503": _json(ERROR, "Dependency unavailable"),
        },
    ),
    ("/cleanup-single-session", "post"): _op(
        "Restore the original limit, remove the schedule, complete the session (one-shot job target)",
        HANDLER_ANSWER,
        body=SESSION_BODY,
        extra={
            "404": _json(ERROR, "Unknown session"),
            "502": _json(ERROR, "Tesla unavailable"),
            "503": _json(ERROR, "Dependency unavailable"),
        },
    ),
    ("/special-charging-needs", "post"): _op(
        "Register a special-charging need",
        {"type": "object", "required": ["status", "need"], "properties": {"need": NEED}},
        body={
            "type": "object",
            "required": ["target_soc", "departure"],
            "properties": {
                "target_soc": {"type": "integer", "minimum": 50, "maximum": 100},
                "departure": ISO,
                "vin": {"type": "string"},
            },
        },
        ok_status="201",
    ),
    ("/special-charging-needs", "get"): _op(
        "List special-charging needs",
        {"type": "object", "required": ["needs"], "properties": {"needs": {"type": "array", "items": NEED}}},
    ),
    ("/special-charging-needs/<need_id>", "delete"): _op(
        "Cancel a need (and its session and jobs)",
        {"type": "object", "required": ["status", "need"], "properties": {"need": NEED}},
        extra={
            "404": _json(ERROR, "Unknown need"),
            "400": _json(ERROR, "Invalid id"),
            "409": _json(ERROR, "The session is being handled right now; try again"),
            "502": _json(ERROR, "Tesla unavailable: the limit is restored by the cleanup job"),
        },
    ),
    ("/special-charging-sessions", "get"): _op(
        "List sessions",
        {"type": "object", "required": ["sessions"], "properties": {"sessions": {"type": "array", "items": SESSION}}},
    ),
    ("/special-charging-sessions/<session_id>", "get"): _op(
        "One session",
        {"type": "object", "required": ["session"], "properties": {"session": SESSION}},
        extra={"404": _json(ERROR, "Unknown session"), "400": _json(ERROR, "Invalid id")},
    ),
    ("/scheduler-jobs", "get"): _op(
        "The dynamic jobs as the backend holds them",
        {"type": "object", "required": ["jobs"], "properties": {"jobs": {"type": "array", "items": JOB}}},
    ),
    ("/plan-preview", "post"): _op(
        "The plan the planner would make, with no side effects",
        {"type": "object", "required": ["plan"], "properties": {"plan": PLAN}},
        body={
            "type": "object",
            "required": ["target_soc", "departure"],
            "properties": {
                "target_soc": {"type": "integer", "minimum": 50, "maximum": 100},
                "departure": ISO,
                "current_soc": {"type": "number", "minimum": 0, "maximum": 100},
                "now": ISO,
            },
        },
        extra={"502": _json(ERROR, "Price source or Tesla unavailable"), "503": _json(ERROR, "Dependency unavailable")},
    ),
    ("/openapi.json", "get"): _op("This description", OBJECT),
    ("/status", "get"): _op("Everything the owner's status page shows, as JSON; no Tesla call", STATUS),
    ("/", "get"): _page_op(),
    ("/login", "get"): _login_op(),
    ("/owner/needs", "post"): _form_op("Add a special-charging need from the status page's form", NEED_FORM, True),
    ("/owner/needs/<need_id>/cancel", "post"): _form_op("Cancel a need from the status page", CANCEL_FORM, False),
}


def build_spec(served: set[tuple[str, str]]) -> dict[str, Any]:
    """The OpenAPI document for the (rule, method) pairs the app serves."""
    paths: dict[str, Any] = {}
    for (rule, method), operation in OPERATIONS.items():
        if (rule, method) not in served:
            continue
        path = rule.replace("<", "{").replace(">", "}")
        item = paths.setdefault(path, {})
        op = dict(operation)
        if "<need_id>" in rule:
            op["parameters"] = [{"name": "need_id", "in": "path", "required": True, "schema": NEED_ID}]
        if "<session_id>" in rule:
            op["parameters"] = [{"name": "session_id", "in": "path", "required": True, "schema": SESSION_ID}]
        item[method] = op
    return {
        "openapi": "3.1.0",  # the schemas use JSON Schema 2020-12 (`const`, type lists)
        "info": {"title": "tesla-offpeak worker", "version": "1.0.0"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    }
