"""Reading the ISO 8601 times users and feeds send: always with a UTC offset (pure)."""

from __future__ import annotations

from datetime import datetime


def parse_aware(text: object) -> datetime:
    """An ISO 8601 date-time that carries a UTC offset; ValueError naming what is wrong otherwise."""
    if not isinstance(text, str) or len(text) > 64:
        raise ValueError("must be an ISO 8601 time string with a UTC offset")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("is not an ISO 8601 time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("must include a UTC offset, e.g. 2026-11-24T07:00:00+01:00 (no UTC offset given)")
    return moment


def aware_or_none(value: object) -> datetime | None:
    """The offset-aware time a stored field holds, or None for anything else (missing, naive, malformed)."""
    try:
        return parse_aware(value)
    except ValueError:
        return None
