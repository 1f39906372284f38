"""Small helpers the thin routes share: the request body, the wired services, JSON answers."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from flask import current_app, request

from shared.errors import ValidationError

if TYPE_CHECKING:
    from worker_service.container import Services

SESSION_ID_PATTERN = re.compile(r"^special_\d{1,6}_\d{8}_\d{4}$")
NEED_ID_PATTERN = re.compile(r"^need_[A-Za-z0-9]{1,40}$")


def services() -> Services:
    """The wired ports and services of the running app."""
    return current_app.extensions["offpeak"]  # type: ignore[no-any-return]


def json_body(*, required: bool = True) -> dict[str, Any]:
    """The request's JSON object; a clear 400 when it is missing, not JSON, or not an object."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise ValidationError("A JSON object body is required")
        return {}
    if b"\x00" in raw:
        raise ValidationError("The body contains a null byte")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValidationError("The body must be a JSON object")
    return data


def session_id_from(body: dict[str, Any]) -> str:
    """The `session_id` field, checked against the contract's pattern."""
    value = body.get("session_id")
    if not isinstance(value, str) or not SESSION_ID_PATTERN.fullmatch(value):
        raise ValidationError("session_id must look like special_<n>_<YYYYMMDD>_<HHMM>")
    return value


def check_session_id(value: str) -> str:
    """A session id from a URL path, checked against the contract's pattern."""
    if not SESSION_ID_PATTERN.fullmatch(value):
        raise ValidationError("session_id must look like special_<n>_<YYYYMMDD>_<HHMM>")
    return value


def check_need_id(value: str) -> str:
    """A need id from a URL path, checked against its pattern."""
    if not NEED_ID_PATTERN.fullmatch(value):
        raise ValidationError("need_id must look like need_<letters and digits>")
    return value
