"""Schemathesis against the worker's /openapi.json in the suite: no 5xx, answers match the schema, auth applied.

Bounded (20 examples per operation and mode, a fixed seed, a few seconds); the figures are printed.
`bench/bench_fuzz.py` runs the same with more examples.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.reliability.special_world import planned_world
from tests.security.fuzzing import run_fuzz


def test_schemathesis_finds_no_5xx_no_schema_mismatch_and_no_open_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.CRITICAL)  # hundreds of requests: the answers are what is checked, not the logs
    try:
        world = planned_world(tmp_path)  # a need and a session exist, so not every id is unknown
        report = run_fuzz(world.app, world.headers(), max_examples=20)
    finally:
        root.setLevel(level)
    with capsys.disabled():
        print(f"\n{report.summary()}")
    assert report.operations >= 15 and report.examples >= 400
    assert report.unauthenticated_checks == report.operations - 1  # every operation but /health
    assert report.failures == [], "\n\n".join(report.failures)
    assert report.seconds < 60
