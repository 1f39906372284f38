"""Every deploy script passes shellcheck (Debian's `shellcheck` package; .ci/run installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.deploy.harness import ROOT

SCRIPTS = [ROOT / "deploy_scout_worker.sh", *sorted((ROOT / "deploy").glob("*.sh"))]


def test_the_scripts_are_there_and_strict() -> None:
    names = {p.name for p in SCRIPTS}
    assert {"deploy_scout_worker.sh", "lib.sh", "iam.sh", "scheduler.sh", "teardown.sh", "smoke_check.sh"} <= names
    for script in SCRIPTS:
        text = script.read_text()
        executable = text.startswith("#!/usr/bin/env bash")
        assert executable or text.startswith("# shellcheck shell=bash"), script.name
        if executable:
            assert "set -euo pipefail" in text, script.name
            assert os.access(script, os.X_OK), f"{script.name} is not executable"
        assert "set -x" not in text.replace("set +x", ""), f"{script.name} would trace secrets"


def test_shellcheck_is_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        message = "shellcheck is not installed (apt-get install -y shellcheck)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " — CI=true requires it")
        pytest.skip("SKIPPED LOUDLY: " + message + "; the deploy scripts were NOT linted")
    result = subprocess.run(
        [shellcheck, "--external-sources", "--severity=style", *map(str, SCRIPTS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
