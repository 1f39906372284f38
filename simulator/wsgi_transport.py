"""A requests transport that hands each request to an in-process WSGI app instead of the network.

The simulation runs the real worker, scout and Tesla simulator in one process on a virtual
clock; their HTTP calls to each other go through this adapter, byte for byte as over a socket.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from werkzeug.test import Client

WsgiApp = Callable[..., Any]


class WsgiAdapter(BaseAdapter):
    """Dispatches `http://<host>/...` to the WSGI app registered for that host."""

    def __init__(self, apps: Mapping[str, WsgiApp]) -> None:
        super().__init__()
        self._apps = apps  # read at each call: apps may join after the session was made

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        app = self._apps.get(parts.netloc)
        if app is None:
            raise requests.ConnectionError(f"no in-process app for {parts.netloc}")
        client = Client(app)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = request.body.encode() if isinstance(request.body, str) else request.body
        answer = client.open(path, method=request.method or "GET", headers=dict(request.headers), data=body or b"")
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        response._content = answer.get_data()
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        response.reason = answer.status.split(" ", 1)[1] if " " in answer.status else ""
        return response

    def close(self) -> None:
        pass


def session_for(apps: Mapping[str, WsgiApp]) -> requests.Session:
    """A requests session whose http:// calls stay in the process (hosts added to `apps` later too)."""
    session = requests.Session()
    session.mount("http://", WsgiAdapter(apps))
    return session


def wsgi_sender(session: requests.Session) -> Callable[[str, str, Mapping[str, str], bytes, float], int]:
    """The embedded scheduler's sender, delivering through the session (so in-process)."""

    def send(method: str, url: str, headers: Mapping[str, str], body: bytes, timeout_s: float) -> int:
        return session.request(method, url, headers=dict(headers), data=body, timeout=timeout_s).status_code

    return send
