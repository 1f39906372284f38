"""Reading Retry-After: either delta-seconds or an HTTP date (RFC 9110, section 10.2.3)."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, now: datetime | None) -> float | None:
    """Seconds to wait (never negative), or None when the header is absent or unreadable.

    An HTTP date needs `now` (aware) to become a delay; without it only delta-seconds are read.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        return None if seconds != seconds else max(0.0, seconds)  # NaN is unreadable
    if now is None:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
