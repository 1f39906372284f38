"""The deploy suites' shared fixture: one fake project lived through once per session (lifecycle.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.deploy.lifecycle import Life, life_fixture


@pytest.fixture(scope="session")
def life(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Life]:
    """Every step of lifecycle.py, run with the real gcloud CLI against the local fakes."""
    yield from life_fixture(tmp_path_factory)
