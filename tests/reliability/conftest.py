"""Reliability tests drive the whole system on a virtual clock, as the integration tests do."""

from tests.integration.conftest import make_system

__all__ = ["make_system"]
