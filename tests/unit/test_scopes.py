"""Reading the scopes of a Tesla access token, and remembering a scope a 403 showed missing."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from shared.clock import ManualClock
from shared.tesla.scopes import LEARNED_FOR, LOCATION_SCOPE, ScopeMemory, token_scopes
from tests.fakes.stores import InMemoryDocumentStore


def _jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_a_jwt_access_token_tells_its_scopes() -> None:
    token = _jwt({"scp": ["openid", "vehicle_device_data", "vehicle_cmds"], "sub": "x"})
    assert token_scopes(token) == frozenset({"openid", "vehicle_device_data", "vehicle_cmds"})
    assert LOCATION_SCOPE not in (token_scopes(token) or set())


def test_a_space_separated_scp_claim_is_read_too() -> None:
    assert token_scopes(_jwt({"scp": "openid vehicle_location"})) == frozenset({"openid", "vehicle_location"})


def test_an_opaque_or_claimless_token_tells_nothing() -> None:
    assert token_scopes("EU_opaque-access-token") is None
    assert token_scopes(_jwt({"sub": "x"})) is None
    assert token_scopes("a.%%%.c") is None


def test_a_learnt_missing_scope_is_news_once_and_kept_for_a_day_across_instances() -> None:
    clock, store = ManualClock(datetime(2026, 12, 3, tzinfo=UTC)), InMemoryDocumentStore()
    memory = ScopeMemory(store, clock)
    assert memory.learn_missing(LOCATION_SCOPE) is True
    assert memory.learn_missing(LOCATION_SCOPE) is False
    assert LOCATION_SCOPE in ScopeMemory(store, clock).missing()  # a cold instance knows it too
    clock.sleep(LEARNED_FOR.total_seconds() + 1)
    assert LOCATION_SCOPE not in ScopeMemory(store, clock).missing()


def test_a_scope_that_worked_is_forgotten() -> None:
    clock, store = ManualClock(datetime(2026, 12, 3, tzinfo=UTC)), InMemoryDocumentStore()
    memory = ScopeMemory(store, clock)
    memory.learn_missing(LOCATION_SCOPE)
    memory.forget(LOCATION_SCOPE)
    assert ScopeMemory(store, clock).missing() == frozenset()
