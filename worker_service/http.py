"""Small helpers the thin routes share: the request body, the wired services, JSON answers."""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from flask import current_app, request

from shared.errors import ValidationError

if TYPE_CHECKING:
    from worker_service.container import Services

# ASCII digits only, as the OpenAPI patterns mean it (Python's \d would also take other scripts' digits).
SESSION_ID_PATTERN = re.compile(r"^special_[0-9]{1,6}_[0-9]{8}_[0-9]{4}$")
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
        data = json.loads(raw, parse_constant=_non_finite, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("The body is not valid JSON") from None
    except RecursionError:  # "[[[[..." nested thousands deep
        raise ValidationError("The body is nested too deeply") from None
    if not isinstance(data, dict):
        raise ValidationError("The body must be a JSON object")
    for key, value in data.items():
        if _has_null_character(key) or _has_null_character(value):
            raise ValidationError(f"{_printable(key)} contains a null byte")
    return data


def _has_null_character(data: Any) -> bool:
    """True when any key or string inside holds U+0000 (no id, date or text of ours has one)."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _printable(name: str) -> str:
    """A field name fit for a message: control characters dropped, at most 40 characters."""
    return "".join(c for c in name if c.isprintable())[:40] or "a field"


def _non_finite(name: str) -> float:
    # Python's json accepts NaN and Infinity, which are not JSON and break every comparison after.
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses to inf
        raise ValueError("number out of range")
    return value


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
