"""A requests session that reports each Fleet API answer Tesla bills, by billing category, to a counter.

Tesla bills every request answered below 500 (FACTS): `vehicle_data` and `fleet_status` as data,
`command/*` and `signed_command` (handshakes included) as commands, `wake_up` as a wake; the state
call `GET /api/1/vehicles/{vin}` and `users/region` are free and not reported. Hand it to the Fleet
client as its `session=`; counting never fails a call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from shared.log import get_logger

log = get_logger("TESLA")
DATA_ENDPOINTS = ("vehicle_data", "fleet_status")


def billing_category(path: str) -> str | None:
    """`data`, `commands` or `wakes` for a billed Fleet API path; None for free calls and other hosts' paths."""
    if not path.startswith("/api/1/vehicles/"):
        return None
    parts = path.rstrip("/").split("/")
    last = parts[-1]
    if last in DATA_ENDPOINTS:
        return "data"
    if last == "wake_up":
        return "wakes"
    if last == "signed_command" or (len(parts) >= 2 and parts[-2] == "command"):
        return "commands"
    return None


class CountingSession(requests.Session):
    """requests.Session whose every billed Fleet API answer (status < 500) calls on_billed(category)."""

    def __init__(self, on_billed: Callable[[str], None]) -> None:
        super().__init__()
        self._on_billed = on_billed

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        """Send as requests does, then report the answer's billing category when Tesla bills it."""
        response = super().request(method, url, *args, **kwargs)
        text = url.decode() if isinstance(url, bytes) else str(url)
        category = billing_category(urlsplit(text).path)
        if category is not None and response.status_code < 500:
            try:
                self._on_billed(category)
            except Exception:
                log.exception("counting a Fleet API call failed; the call itself went through")
        return response
