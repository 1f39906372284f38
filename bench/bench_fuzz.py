"""Prints what schemathesis finds against the worker's /openapi.json: operations, examples, failures.

Run from the repository root: `.venv/bin/python bench/bench_fuzz.py [EXAMPLES]` (default 100 per
operation and mode; the test suite runs the same with 20). The worker runs in-process on fakes with
one planned special-charging session; the seed is fixed, so two runs send the same requests.
Exits 1 when anything failed.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.log import configure_logging  # noqa: E402
from tests.reliability.special_world import planned_world  # noqa: E402
from tests.security.fuzzing import run_fuzz  # noqa: E402


def main() -> int:
    examples = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    configure_logging()
    logging.getLogger().setLevel(logging.CRITICAL)  # the answers are what is checked, not the logs
    with tempfile.TemporaryDirectory() as state:
        world = planned_world(Path(state))
        report = run_fuzz(world.app, world.headers(), max_examples=examples)
    width = max(len(name) for name in report.per_operation)
    for name, sent in report.per_operation.items():
        print(f"  {name:<{width}}  {sent:>5} examples")
    print(report.summary())
    for failure in report.failures:
        print(f"\nFAILED {failure}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
