"""The whole system in one process on a virtual clock (simulator.harness), for end-to-end tests."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.log import configure_logging
from shared.scout import runtime as scout_runtime
from simulator.harness import System, build_system

WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.fixture
def make_system(tmp_path: Path) -> Iterator[Callable[..., System]]:
    """Build a system at a local Warsaw time, e.g. make_system(datetime(2026, 11, 23, 20, 0), vehicle={...})."""
    configure_logging(level=logging.WARNING)

    def make(start: datetime, **options: Any) -> System:
        if start.tzinfo is None:
            start = start.replace(tzinfo=WARSAW)
        return build_system(tmp_path / "state", start, **options)

    yield make
    scout_runtime.use_deps(None)
    configure_logging(level=logging.INFO)
