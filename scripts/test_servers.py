"""Start and stop the local GCP stand-ins the test suite uses: the real Firestore emulator and drongo.

`python scripts/test_servers.py start` launches both on loopback, waits until they answer, writes
their PIDs to `.test-state/servers.pid` and their addresses to `.test-state/servers.env`.
`python scripts/test_servers.py stop` kills exactly those PIDs. Where the emulator jar is missing
the GCP suites are skipped with one loud line, except under CI=true, where that fails the run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".test-state"
PID_FILE = STATE / "servers.pid"
ENV_FILE = STATE / "servers.env"
JAR = Path(
    os.environ.get(
        "FIRESTORE_EMULATOR_JAR",
        "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar",
    )
)
HOW_TO_INSTALL = (
    "install the gcloud Firestore emulator (apt-get install google-cloud-cli-firestore-emulator "
    "or `gcloud components install cloud-firestore-emulator`) and Java 17, or set FIRESTORE_EMULATOR_JAR"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
                if response.status < 500:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def start() -> int:
    """Start both servers; returns the process exit status."""
    stop(quiet=True)
    STATE.mkdir(exist_ok=True)
    pids: list[int] = []
    env_lines: list[str] = []
    logs = STATE / "servers.log"
    log_handle = logs.open("ab")

    if JAR.exists():
        fs_port = _free_port()
        firestore = subprocess.Popen(
            [
                "java",
                "-cp",
                str(JAR),
                "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
                "start",
                "--host=127.0.0.1",
                f"--port={fs_port}",
            ],
            stdout=log_handle,
            stderr=log_handle,
            start_new_session=True,
        )
        pids.append(firestore.pid)
        if not _wait_http(f"http://127.0.0.1:{fs_port}/", 60):
            print(f"test-servers: the Firestore emulator did not start (see {logs})", file=sys.stderr)
            _kill(pids)
            return 1
        env_lines.append(f"FIRESTORE_EMULATOR_HOST=127.0.0.1:{fs_port}")
    else:
        line = f"test-servers: Firestore emulator jar not found at {JAR}: GCP adapter suites will be SKIPPED; {HOW_TO_INSTALL}"
        print("!" * 100 + "\n" + line + "\n" + "!" * 100, file=sys.stderr)
        if os.environ.get("CI", "").lower() == "true":
            print("test-servers: CI=true, a missing emulator fails the run", file=sys.stderr)
            return 1

    drongo_port = _free_port()
    drongo_bin = Path(sys.executable).parent / "drongo"
    drongo = subprocess.Popen(
        [str(drongo_bin), "server", "--host", "127.0.0.1", "--port", str(drongo_port)],
        stdout=log_handle,
        stderr=log_handle,
        start_new_session=True,
    )
    pids.append(drongo.pid)
    if not _wait_http(f"http://127.0.0.1:{drongo_port}/drongo/health", 30):
        print(f"test-servers: drongo did not start (see {logs})", file=sys.stderr)
        _kill(pids)
        return 1
    env_lines.append(f"DRONGO_ENDPOINT=http://127.0.0.1:{drongo_port}")

    PID_FILE.write_text("\n".join(str(p) for p in pids) + "\n")
    ENV_FILE.write_text("\n".join(env_lines) + "\n")
    print("test-servers: started " + ", ".join(env_lines))
    return 0


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except (ProcessLookupError, PermissionError):
                break
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


def stop(quiet: bool = False) -> int:
    """Stop the servers recorded in the PID file."""
    if PID_FILE.exists():
        pids = [int(p) for p in PID_FILE.read_text().split() if p.strip().isdigit()]
        _kill(pids)
        PID_FILE.unlink()
        if not quiet:
            print(f"test-servers: stopped {len(pids)} server(s)")
    if ENV_FILE.exists():
        ENV_FILE.unlink()
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "start":
        sys.exit(start())
    if command == "stop":
        sys.exit(stop())
    print("usage: test_servers.py start|stop", file=sys.stderr)
    sys.exit(2)
