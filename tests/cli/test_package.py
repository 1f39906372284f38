"""The command line is a client: its own package, installed as `tesla-offpeak`, importing nothing of the worker."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import tomllib

from tests.cli.conftest import ROOT, cli, cli_env


def imported_modules(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_command_line_imports_nothing_from_the_worker_and_only_the_pure_parts_of_shared() -> None:
    allowed_shared = {"shared.clock", "shared.errors", "shared.domain.when", "shared.domain.targets"}
    for path in (ROOT / "offpeak_cli").rglob("*.py"):
        modules = imported_modules(path.read_text())
        assert not [m for m in modules if m.startswith(("worker_service", "scout_function", "simulator"))], path
        assert not [m for m in modules if m.startswith("google.cloud")], path
        assert {m for m in modules if m.startswith("shared")} <= allowed_shared, path


def test_importing_the_command_line_loads_no_worker_module() -> None:
    code = "import offpeak_cli.main, sys; print(','.join(m for m in sys.modules if m.startswith('worker_service')))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_the_console_script_is_declared_and_points_at_main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    module, _, name = project["project"]["scripts"]["tesla-offpeak"].partition(":")
    assert callable(getattr(importlib.import_module(module), name))
    assert "offpeak_cli*" in project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert "-e ." in (ROOT / "Makefile").read_text()  # `make` installs the project, and so the script


def test_python_dash_m_gives_the_same_help_with_every_command() -> None:
    result = cli("--help", env=cli_env())
    assert result.returncode == 0
    for command in ("need", "plan", "status", "check", "logs"):
        assert f"    {command} " in result.stdout
    assert cli("need", "add", "--help", env=cli_env()).returncode == 0


def test_a_missing_argument_is_a_usage_error_with_exit_code_2() -> None:
    result = cli("need", "add", "90", env=cli_env())
    assert result.returncode == 2 and "--by" in result.stderr
