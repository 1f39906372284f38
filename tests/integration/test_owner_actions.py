"""Failures only the owner can fix end clearly, once: the session FAILED with code and remedy, one
ERROR line, /health degraded, and no tick after tick of billed refusals (issue 12, item 3)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from simulator.harness import System
from simulator.tesla_sim import SimConfig
from tests.integration.test_special_night import plan_night, session

NIGHT = datetime(2026, 11, 23, 20, 0)
NO_LOCATION = ("openid", "offline_access", "vehicle_device_data", "vehicle_cmds", "vehicle_charging_cmds")


def errors_logged(caplog: pytest.LogCaptureFixture, code: str) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and (getattr(r, "fields", None) or {}).get("error") == code
    ]


def test_an_unpaired_key_fails_the_night_once_with_the_pairing_link_and_wakes_nothing(
    make_system: Callable[..., System], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    system = plan_night(make_system, preset="unpaired")
    system.sim.force_sleep(system.vin)
    wakes_before = system.sim.counters()["wakes"]
    system.advance(timedelta(hours=7))  # the send job fires during the night
    failed = session(system)
    assert failed["status"] == "FAILED" and failed["error_code"] == "key_not_paired"
    assert "https://tesla.com/_ak/" in failed["remedy"]
    assert [(f.name.split("-")[1], f.status) for f in system.fired if "send" in f.name] == [("send", 200)]
    assert system.sim.counters()["wakes"] == wakes_before  # checked before waking the car
    assert sum(1 for r in system.sim.requests() if r.path.endswith("/signed_command")) == 0
    health = system.call_worker("GET", "/health")[1]
    assert health["status"] == "degraded" and "key_not_paired" in health["reason"]
    assert health["vehicles"][system.vin]["key_paired"] is False
    assert len(errors_logged(caplog, "key_not_paired")) == 1


def test_a_cycle_that_needs_the_owner_answers_200_so_the_scout_does_not_trigger_again(
    make_system: Callable[..., System], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    system = make_system(NIGHT, vehicle={"preset": "old_firmware", "battery_level": 40, "asleep": False})
    first = system.scout_tick()
    assert first["worker_triggered"] is True and first["worker"]["reason"] == "firmware_too_old"
    system.advance(timedelta(hours=2), scout_every=15)  # eight more ticks
    triggered = [r for r in system.sim.requests() if r.path.endswith("/fleet_status")]
    assert len(triggered) == 1  # fleet_status asked once; nothing retried tick after tick
    assert sum(1 for r in system.sim.requests() if r.command is not None) == 0
    assert len(errors_logged(caplog, "firmware_too_old")) == 1
    health = system.call_worker("GET", "/health")[1]
    assert health["status"] == "degraded" and "firmware_too_old" in health["reason"]


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_without_the_location_scope_a_plugged_in_car_is_still_planned_and_403s_stay_rare(
    make_system: Callable[..., System], token_format: str
) -> None:
    config = SimConfig(scopes=NO_LOCATION, access_token_format=token_format)
    system = make_system(NIGHT, vehicle={"battery_level": 40, "asleep": False}, sim_config=config)
    tick = system.scout_tick()
    assert tick["at_home"] is None and tick["worker"]["skipped"] is False
    schedules = system.sim.snapshot(system.vin)["schedules"]
    assert schedules, "the plugged-in car got its schedule without a position"
    assert (round(schedules[0]["latitude"], 3), round(schedules[0]["longitude"], 3)) == (52.23, 21.012)  # home-bound
    system.advance(timedelta(hours=24), scout_every=15)
    forbidden = [r for r in system.sim.requests() if r.status == 403]
    assert len(forbidden) == (0 if token_format == "jwt" else 1)  # then it is known for a day
    health = system.call_worker("GET", "/health")[1]
    assert health["status"] == "degraded" and "missing_scope" in health["reason"]


def test_every_answer_states_the_remedy(make_system: Callable[..., System]) -> None:
    system = make_system(NIGHT, vehicle={"preset": "old_firmware", "battery_level": 40, "asleep": False})
    status, body = system.call_worker("POST", "/run-cycle")
    assert status == 200, body
    answer: dict[str, Any] = body
    assert answer["error"] == "firmware_too_old" and "update" in answer["remedy"]
