"""The house's boundaries: cloud clients and HTTP only in adapters, a pure domain, a light scout."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "worker_service", "scout_function")
# Where talking HTTP is the module's job.
REQUESTS_ALLOWED = (
    "shared/adapters/",
    "shared/tesla/",
    "shared/prices/",
    "shared/scout/worker_client.py",
    "shared/http_json.py",
)
CLOCK_READS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "sleep"),
}


def sources(*roots: str) -> list[Path]:
    return [p for root in roots for p in (ROOT / root).rglob("*.py")]


def imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_only_gcp_adapters_import_google_cloud() -> None:
    offenders = [
        relative(p)
        for p in sources(*PACKAGES)
        if any(m.startswith("google.cloud") for m in imported_modules(ast.parse(p.read_text())))
        and not relative(p).startswith("shared/adapters/gcp/")
    ]
    assert offenders == []


def test_only_adapters_and_clients_import_requests() -> None:
    offenders = [
        relative(p)
        for p in sources(*PACKAGES)
        if any(m == "requests" or m.startswith("requests.") for m in imported_modules(ast.parse(p.read_text())))
        and not relative(p).startswith(REQUESTS_ALLOWED)
    ]
    assert offenders == []


def test_the_domain_is_pure_no_io_libraries_and_no_clock_reads() -> None:
    forbidden = ("flask", "requests", "google", "sqlite3", "urllib", "socket", "shared.adapters")
    for path in sources("shared/domain"):
        tree = ast.parse(path.read_text())
        bad_imports = [m for m in imported_modules(tree) if m.startswith(forbidden)]
        assert bad_imports == [], relative(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                assert (node.value.id, node.attr) not in CLOCK_READS, f"{relative(path)}:{node.lineno}"


def test_no_logic_reads_the_system_clock_outside_the_clock_module() -> None:
    allowed = {"shared/clock.py", "shared/log.py"}
    for path in sources(*PACKAGES):
        if relative(path) in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                pair = (node.value.id, node.attr)
                assert pair not in CLOCK_READS - {("time", "sleep"), ("time", "monotonic")}, (
                    f"{relative(path)}:{node.lineno} reads the system clock"
                )


def test_importing_the_scout_loads_no_cloud_client() -> None:
    code = (
        "import sys, runpy; sys.path.insert(0, 'scout_function');"
        "import main;"
        "heavy = [m for m in sys.modules if m.startswith(('google.cloud.firestore', 'google.cloud.secretmanager', 'google.cloud.scheduler', 'grpc', 'matplotlib'))];"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
