"""Runs the deploy scripts in a scratch folder for the tests of their own logic (settings, DRY_RUN).

Those runs call no gcloud: `gcloud` on their PATH is a stub that records the call and fails, so a
test notices a script that would reach the cloud. Runs against the real CLI: real_gcloud.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

PROJECT = "tesla-offpeak-demo"
REGION = "europe-west1"
CLIENT_SECRET = "cs-Very-Secret-4242"
REFRESH_TOKEN = "EU_rt-Secret-Token-9999"
# Optional secrets: a webhook URL carries its own secret (an ntfy topic nobody can guess).
WEBHOOK_URL = "https://ntfy.sh/tesla-offpeak-Secret-Topic-7777"
ENTSOE_TOKEN = "entsoe-Secret-Token-3131"
SECRET_VALUES = (CLIENT_SECRET, REFRESH_TOKEN)
OPTIONAL_SECRET_VALUES = (WEBHOOK_URL, ENTSOE_TOKEN)

WORKER_SA = f"tesla-worker@{PROJECT}.iam.gserviceaccount.com"
SCOUT_SA = f"tesla-scout@{PROJECT}.iam.gserviceaccount.com"
SCHEDULER_SA = f"tesla-scheduler@{PROJECT}.iam.gserviceaccount.com"
WORKER_URL = f"https://tesla-worker-123456789012.{REGION}.run.app"
SCOUT_URL = "https://tesla-scout-abcdef-ew.a.run.app"

# What a deploy reads from the checkout; copied so the runs see one fixed tree.
CHECKOUT_FILES = (
    "deploy_scout_worker.sh",
    "cloud-run-service-worker.yaml",
    "Dockerfile",
    ".gcloudignore",
    "requirements_cloud.txt",
)
CHECKOUT_DIRS = ("deploy", "worker_service", "scout_function", "shared")

BASE_CONFIG = {
    "GOOGLE_CLOUD_PROJECT": PROJECT,
    "TESLA_CLIENT_ID": "client-id-0001",
    "TESLA_CLIENT_SECRET": CLIENT_SECRET,
    "TESLA_REFRESH_TOKEN": REFRESH_TOKEN,
    "TESLA_VIN": "5YJ3E7EB2KF000001",
    "HOME_LATITUDE": "50.0614",
    "HOME_LONGITUDE": "19.9366",
}


def copy_checkout(dest: Path) -> None:
    """Copy what a deploy reads from the checkout (not local settings or keys) to DEST."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "config.env", "*.pem")
    for name in CHECKOUT_DIRS:
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    for name in CHECKOUT_FILES:
        shutil.copy2(ROOT / name, dest / name)


@dataclass
class Run:
    """One script run: its exit status, output and the gcloud calls it made."""

    returncode: int
    stdout: str
    stderr: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # API requests (real-CLI runs only)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def argvs(self) -> list[list[str]]:
        return [call["argv"] for call in self.calls]

    def find(self, *words: str) -> list[list[str]]:
        """The argv of every call whose leading words are `words`."""
        return [
            argv for argv in self.argvs() if [a for a in argv if not a.startswith("-")][: len(words)] == list(words)
        ]


class DeployHarness:
    """A scratch project: config file, fake gcloud first on PATH, its state and call log."""

    def __init__(self, root: Path, config: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.checkout = root / "checkout"
        self._copy_checkout()
        self.bin = root / "bin"
        self.bin.mkdir(parents=True)
        (root / "home").mkdir()
        (root / "tmp").mkdir()
        self.state_path = root / "state.json"
        self.log_path = root / "calls.jsonl"
        self.config_path = root / "config.env"
        shim = self.bin / "gcloud"
        shim.write_text(
            f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{self.log_path}"\necho "gcloud stub: no cloud here" >&2\nexit 2\n'
        )
        shim.chmod(0o755)
        self.write_config(dict(BASE_CONFIG) if config is None else dict(config))

    def _copy_checkout(self) -> None:
        copy_checkout(self.checkout)

    def write_config(self, config: Mapping[str, str]) -> None:
        lines = ["# test settings"] + [f'{key}="{value}"' for key, value in config.items()]
        self.config_path.write_text("\n".join(lines) + "\n")
        self.config_path.chmod(0o600)

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_path.read_text()) if self.state_path.exists() else {}

    def set_state(self, **values: Any) -> None:
        state = self.state()
        state.update(values)
        self.state_path.write_text(json.dumps(state))

    def all_calls(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        return [{"argv": line.split(" ")} for line in self.log_path.read_text().splitlines()]

    def run(self, script: str = "deploy_scout_worker.sh", *args: str, env: Mapping[str, str] | None = None) -> Run:
        before = len(self.all_calls())
        environment = {
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.root / "home"),
            "TMPDIR": str(self.root / "tmp"),
            "LANG": "C.UTF-8",
            "DEPLOY_CONFIG": str(self.config_path),
            "CLOUDSDK_CONFIG": str(self.root / "gcloud-config"),
            "RETRY_SLEEP_SECONDS": "0",
            **(env or {}),
        }
        result = subprocess.run(
            ["bash", str(self.checkout / script), *args],
            cwd=self.root,
            env=environment,
            capture_output=True,
            text=True,
            timeout=240,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        return Run(result.returncode, result.stdout, result.stderr, self.all_calls()[before:])


def flag(argv: list[str], name: str) -> str | None:
    """The value of --name=value in argv (None when absent)."""
    prefix = f"--{name}="
    values = [a[len(prefix) :] for a in argv if a.startswith(prefix)]
    return values[-1] if values else None
