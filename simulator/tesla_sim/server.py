"""Serving the simulator: in a background thread for tests, or in the foreground standalone."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from werkzeug.serving import WSGIRequestHandler, make_server

from simulator.tesla_sim.app import create_app
from simulator.tesla_sim.model import TeslaSim


class QuietRequestHandler(WSGIRequestHandler):
    """No access-log line per request (tests make thousands); errors are still reported."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@dataclass(frozen=True)
class RunningSim:
    """A simulator being served; `stop()` shuts it down (also on leaving a `with` block)."""

    sim: TeslaSim
    url: str
    stop: Callable[[], None]

    @property
    def auth_url(self) -> str:
        """TESLA_AUTH_URL for this simulator."""
        return f"{self.url}/oauth2/v3/token"

    @property
    def proxy_url(self) -> str:
        """TESLA_PROXY_URL for this simulator (the proxy signs commands there; the app key must be paired)."""
        return f"{self.url}/proxy"

    def __enter__(self) -> RunningSim:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_in_thread(sim: TeslaSim, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True) -> RunningSim:
    """Serve the sim on host:port (0 = a free port) from a daemon thread; returns its URL and a stop function."""
    handler = QuietRequestHandler if quiet else WSGIRequestHandler
    server = make_server(host, port, create_app(sim), threaded=True, request_handler=handler)
    # A short poll interval makes stop() return in milliseconds (tests start hundreds of servers).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"tesla-sim-{server.server_port}", daemon=True
    )
    thread.start()
    stopped = threading.Event()

    def stop() -> None:
        if not stopped.is_set():
            stopped.set()
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

    return RunningSim(sim, f"http://{host}:{server.server_port}", stop)
