"""Runs the deploy scripts with the real gcloud CLI, offline, against the local fakes (gcp_fake + drongo).

gcloud gets a throw-away CLOUDSDK_CONFIG: a service-account key whose token endpoint is the fake
(so it holds credentials, mints ID tokens and never reaches Google), `api_endpoint_overrides/*` on
made-up `*.gcp.test` hosts and `proxy/*` on the fake, which routes on the host (gcp_fake/server.py
says why). curl (the smoke check) reaches `*.run.app` through the same proxy (a `.curlrc` in the
scratch HOME) and the fake ends TLS with a throw-away certificate.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.gcp_fake.server import Fake, FakeServer
from tests.deploy.harness import BASE_CONFIG, PROJECT, Run, copy_checkout

PROJECT_NUMBER = "123456789012"
DEPLOYER = f"deployer@{PROJECT}.iam.gserviceaccount.com"
SHIM = Path(__file__).with_name("gcloud_shim.py")
# Every API the deploy scripts call, by the name of its endpoint-override property.
OVERRIDDEN_APIS = (
    "serviceusage",
    "cloudresourcemanager",
    "iam",
    "iamcredentials",
    "firestore",
    "artifactregistry",
    "cloudbuild",
    "storage",
    "run",
    "cloudfunctions",
    "logging",
    "monitoring",
    "cloudscheduler",
    "secretmanager",
)


def real_gcloud() -> str:
    """The installed gcloud CLI; fails under CI=true and skips loudly elsewhere when it is missing."""
    found = shutil.which("gcloud") or ("/usr/bin/gcloud" if Path("/usr/bin/gcloud").exists() else None)
    if found is None:
        message = "the gcloud CLI is not installed: the deploy scripts were NOT run against the real CLI"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true requires it)")
        pytest.skip("SKIPPED LOUDLY: " + message)
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_drongo(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    drongo = Path(sys.executable).with_name("drongo")
    process = subprocess.Popen(
        [str(drongo), "server", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/drongo/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"drongo did not start: {log.read_text()}")


def _key_files(folder: Path) -> tuple[Path, Path, Path]:
    """A service-account key for the deployer and a TLS certificate for *.run.app (throw-away)."""
    rsa = folder / "deployer.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(rsa), "2048"], check=True, capture_output=True)
    key = {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "gcp-fake-key",
        "private_key": rsa.read_text(),
        "client_email": DEPLOYER,
        "client_id": "100000000000000000001",
        "token_uri": "http://oauth2.gcp.test/token",
    }
    key_file = folder / "deployer-key.json"
    key_file.write_text(json.dumps(key))
    cert, tls_key = folder / "run-app.crt", folder / "run-app.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=*.run.app",
            "-keyout",
            str(tls_key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return key_file, cert, tls_key


class RealGcloudProject:
    """A fresh fake project, the real gcloud configured for it, and a checkout to deploy from."""

    def __init__(self, root: Path, config: Mapping[str, str] | None = None) -> None:
        self.gcloud = real_gcloud()
        self.root = root
        self.checkout = root / "checkout"
        copy_checkout(self.checkout)
        for name in ("bin", "home", "tmp", "gcloud-config", "keys"):
            (root / name).mkdir()
        self.config_path = root / "config.env"
        self.write_config(dict(BASE_CONFIG) if config is None else dict(config))
        self.calls_log = root / "gcloud-calls.jsonl"
        self.drongo, drongo_url = _start_drongo(root / "drongo.log")
        try:
            self._start(drongo_url)
        except BaseException:
            self.drongo.kill()  # never leave a server behind a failed fixture
            raise

    def _start(self, drongo_url: str) -> None:
        root = self.root
        key_file, cert, tls_key = _key_files(root / "keys")
        self.fake = Fake(root / "gcp-state.json", PROJECT, PROJECT_NUMBER, drongo_url, f"serviceAccount:{DEPLOYER}")
        self.server = FakeServer(self.fake, (cert, tls_key)).start()
        shim = root / "bin" / "gcloud"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{SHIM}" "$@"\n')
        shim.chmod(0o755)
        (root / "home" / ".curlrc").write_text(f"proxy = http://127.0.0.1:{self.server.port}\ninsecure\n")
        self.base_env = self._gcloud_env()
        activate = subprocess.run(
            [self.gcloud, "auth", "activate-service-account", f"--key-file={key_file}"],
            env=self.base_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert activate.returncode == 0, activate.stderr

    def _gcloud_env(self) -> dict[str, str]:
        env = {
            "PATH": f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.root / "home"),
            "TMPDIR": str(self.root / "tmp"),
            "LANG": "C.UTF-8",
            "CLOUDSDK_CONFIG": str(self.root / "gcloud-config"),
            "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
            "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "1",
            "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "1",
            "CLOUDSDK_PROXY_TYPE": "http",
            "CLOUDSDK_PROXY_ADDRESS": "127.0.0.1",
            "CLOUDSDK_PROXY_PORT": str(self.server.port),
            "GCLOUD_SHIM_REAL": self.gcloud,
            "GCLOUD_SHIM_LOG": str(self.calls_log),
        }
        for api in OVERRIDDEN_APIS:
            env[f"CLOUDSDK_API_ENDPOINT_OVERRIDES_{api.upper()}"] = f"http://{api}.gcp.test/"
        return env

    def write_config(self, config: Mapping[str, str]) -> None:
        """deploy/config.env of this run (mode 0600)."""
        lines = ["# test settings"] + [f'{key}="{value}"' for key, value in config.items()]
        self.config_path.write_text("\n".join(lines) + "\n")
        self.config_path.chmod(0o600)

    def state(self) -> dict[str, Any]:
        """The fake's whole state, as saved."""
        with self.fake.state.lock:
            return json.loads(json.dumps(self.fake.data))

    def drongo_get(self, path: str) -> dict[str, Any]:
        """A GET on drongo (secrets, jobs)."""
        status, body = self.fake.drongo("GET", path)
        assert status == 200, body
        return body

    def jobs(self) -> dict[str, dict[str, Any]]:
        """The scheduler jobs, by short name."""
        body = self.drongo_get(f"/v1/projects/{PROJECT}/locations/europe-west1/jobs")
        return {job["name"].rsplit("/", 1)[1]: job for job in body.get("jobs", [])}

    def _calls(self) -> list[dict[str, Any]]:
        if not self.calls_log.exists():
            return []
        return [json.loads(line) for line in self.calls_log.read_text().splitlines()]

    def run(self, script: str = "deploy_scout_worker.sh", *args: str, env: Mapping[str, str] | None = None) -> Run:
        """Run a deploy script; its gcloud calls and the API requests they made come with it."""
        calls_before = len(self._calls())
        requests_before = len(self.state()["requests"])
        environment = {
            **self.base_env,
            "DEPLOY_CONFIG": str(self.config_path),
            "RETRY_SLEEP_SECONDS": "0",
            **(env or {}),
        }
        result = subprocess.run(
            ["bash", str(self.checkout / script), *args],
            cwd=self.root,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        run = Run(result.returncode, result.stdout, result.stderr, self._calls()[calls_before:])
        run.requests = self.state()["requests"][requests_before:]
        return run

    def close(self) -> None:
        """Stop the fake and drongo."""
        self.server.stop()
        self.drongo.terminate()
        self.drongo.wait(timeout=10)
