"""A webhook receiver on 127.0.0.1 (an ntfy topic or Home Assistant webhook as far as the worker can tell)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """Records every POST; answers each with the next of `statuses` (the last one repeats)."""

    def __init__(self, statuses: tuple[int, ...] = (200,)) -> None:
        self.statuses = list(statuses)
        self.posts: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server calls
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with receiver._lock:
                    receiver.posts.append(json.loads(raw or b"null"))
                    receiver.paths.append(self.path)
                    status = receiver.statuses[min(len(receiver.posts), len(receiver.statuses)) - 1]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/tesla-offpeak-alerts"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def of(self, event: str) -> list[dict[str, Any]]:
        """The POSTed payloads of one event name."""
        with self._lock:
            return [p for p in self.posts if isinstance(p, dict) and p.get("event") == event]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def webhook_receiver(statuses: tuple[int, ...] = (200,)) -> Iterator[WebhookReceiver]:
    """A running receiver for the duration of the block."""
    receiver = WebhookReceiver(statuses)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/nobody-home"
