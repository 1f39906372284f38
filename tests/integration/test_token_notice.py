"""Tesla's 2024-02-01 notice, read strictly: a refresh also kills every older access token.

FACTS marks it unconfirmed, so the system must work under it: the worker refreshes, the scout's
cached token dies at once, the scout's 401 hands the dead token over, and it picks up the token the
worker already stored instead of asking for another refresh (which would kill the worker's too).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from simulator.harness import System
from simulator.tesla_sim import SimConfig
from tests.integration.test_special_night import DEPARTURE, session


def test_scout_and_worker_keep_working_when_a_refresh_kills_older_access_tokens(
    make_system: Callable[..., System],
) -> None:
    config = SimConfig(refresh_invalidates_access_tokens=True, access_token_ttl_s=2 * 3600)
    system = make_system(
        datetime(2026, 11, 23, 20, 0), vehicle={"battery_level": 40, "asleep": False}, sim_config=config
    )
    status, _ = system.call_worker("POST", "/special-charging-needs", {"target_soc": 90, "departure": DEPARTURE})
    assert status == 201
    ticks: list[dict[str, object]] = []
    end = system.clock.now() + timedelta(hours=14)
    while system.clock.now() < end:
        ticks.append(system.scout_tick())
        system.advance(timedelta(minutes=15), scout_every=None)
        if system.clock.now() == datetime.fromisoformat("2026-11-23T23:00:00+01:00"):
            assert system.call_worker("POST", "/daily-special-charging-check")[0] == 200
    counters = system.sim.counters()
    assert counters["token_refreshes"] >= 5 and counters["rejected_refreshes"] == 0
    assert all(t.get("status") == "success" for t in ticks), [t for t in ticks if t.get("status") != "success"]
    assert session(system)["status"] == "COMPLETED"
    assert system.sim.snapshot(system.vin)["charge_limit"] == 80
    # Each refresh kills the other side's token at most once: 401s stay a small multiple of refreshes.
    assert counters["unauthorized"] <= 2 * counters["token_refreshes"]


def test_a_refresh_the_scout_did_not_see_costs_it_one_401_and_no_second_refresh(
    make_system: Callable[..., System],
) -> None:
    config = SimConfig(refresh_invalidates_access_tokens=True)
    system = make_system(
        datetime(2026, 11, 23, 20, 0), vehicle={"battery_level": 40, "asleep": False}, sim_config=config
    )
    assert system.scout_tick()["status"] == "success"  # the scout caches the current access token
    system.advance(timedelta(minutes=7), scout_every=None)
    assert system.call_worker("POST", "/refresh-tokens", {"reason": "owner"})[0] == 200  # kills the scout's token
    refreshed = system.sim.counters()["token_refreshes"]
    system.advance(timedelta(hours=1), scout_every=15)
    counters = system.sim.counters()
    assert counters["unauthorized"] == 1  # the scout's first tick after the refresh, once
    assert counters["token_refreshes"] == refreshed  # it took the worker's new token, no second refresh
