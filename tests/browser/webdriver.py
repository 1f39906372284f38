"""Just enough of the W3C WebDriver protocol to drive Debian's chromium through its chromedriver.

WebDriver is plain JSON over HTTP (https://www.w3.org/TR/webdriver2/), so `requests` is all the
client needs: no browser download, no extra package.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference
# What headless Chromium needs on these machines (no sandbox as root; no calls home on a closed network).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--lang=en-US",
)


def browser_paths() -> tuple[str, str] | None:
    """(chromium, chromedriver) when both are installed."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Browser:
    """One WebDriver session: open pages, find elements, type, click, run a script, take screenshots."""

    def __init__(self, endpoint: str, session_id: str) -> None:
        self._base = f"{endpoint}/session/{session_id}"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = requests.request(method, self._base + path, json=body, timeout=30)
        value = answer.json().get("value")
        if answer.status_code >= 400:
            raise AssertionError(f"WebDriver {method} {path}: {value}")
        return value

    def open(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    def url(self) -> str:
        return str(self._call("GET", "/url"))

    def source(self) -> str:
        return str(self._call("GET", "/source"))

    def find(self, css: str) -> str:
        return str(self._call("POST", "/element", {"using": "css selector", "value": css})[ELEMENT])

    def find_all(self, css: str) -> list[str]:
        return [e[ELEMENT] for e in self._call("POST", "/elements", {"using": "css selector", "value": css})]

    def text(self, element: str) -> str:
        return str(self._call("GET", f"/element/{element}/text"))

    def clear(self, element: str) -> None:
        self._call("POST", f"/element/{element}/clear", {})

    def type(self, element: str, text: str) -> None:
        self._call("POST", f"/element/{element}/value", {"text": text})

    def click(self, element: str) -> None:
        self._call("POST", f"/element/{element}/click", {})

    def script(self, code: str, *elements: str) -> Any:
        return self._call("POST", "/execute/sync", {"script": code, "args": [{ELEMENT: e} for e in elements]})

    def resize(self, width: int, height: int) -> None:
        self._call("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path: Path, width: int) -> None:
        """The whole page at this width (the window is made as tall as the page first)."""
        self.resize(width, 900)
        height = int(self.script("return document.documentElement.scrollHeight"))
        self.resize(width, min(max(height + 120, 600), 8000))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self._call("GET", "/screenshot")))


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[Browser]:
    """Headless Debian chromium under its chromedriver on a free loopback port; stopped afterwards."""
    paths = browser_paths()
    assert paths is not None
    binary, driver = paths
    port = free_port()
    process = subprocess.Popen(
        [driver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    endpoint = f"http://127.0.0.1:{port}"
    session_id = None
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{endpoint}/status", timeout=1).json()["value"]["ready"]:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError("chromedriver did not start")
            time.sleep(0.1)
        options = {"binary": binary, "args": [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]}
        # An implicit wait: after a form's click the next page may still be loading on a busy machine,
        # so element lookups wait for it (up to 10 s) instead of failing on the page being left.
        capabilities = {
            "alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options, "timeouts": {"implicit": 10_000}}
        }
        answer = requests.post(f"{endpoint}/session", json={"capabilities": capabilities}, timeout=60)
        value = answer.json()["value"]
        assert answer.status_code == 200, value
        session_id = value["sessionId"]
        yield Browser(endpoint, session_id)
    finally:
        if session_id is not None:
            with contextlib.suppress(requests.RequestException):
                requests.delete(f"{endpoint}/session/{session_id}", timeout=10)
        # chromedriver's own process group: the driver and any browser it left behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
