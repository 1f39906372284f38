"""The soak (issue 9, item 6) on a few days with a high fault rate: faults and crashes surely happen, every rule holds."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta
from typing import Any

import pytest

from simulator.month import SimulationRun, run_simulation
from simulator.scenario import load_scenario
from simulator.soak import Soak, SoakConfig
from simulator.tesla_sim.faults import FaultBook

DAYS, SEED, RATE = 4, 2, 0.25


@pytest.fixture(scope="module")
def soaked() -> SimulationRun:
    return run_simulation(load_scenario(), days=DAYS, seed=SEED, soak=Soak(SoakConfig(fault_rate=RATE, seed=SEED)))


def figures(run: SimulationRun) -> dict[str, Any]:
    assert run.soak is not None
    return run.soak


def test_faults_of_every_kind_and_a_crash_really_happened(soaked: SimulationRun) -> None:
    soak = figures(soaked)
    assert {k: v > 0 for k, v in soak["faults_injected"].items()} == {
        "lost_answer": True,
        "timeout": True,
        "unavailable": True,
        "total": True,
    }
    assert soak["tesla_attempts_retried"] > 0  # the client's bounded retries absorbed some of them
    assert soak["worker_crashes"] == {"planned": 1, "done": 1}
    assert soak["needs"]["due"] >= 1 and soak["limits"]["changed"] >= 1  # the rules below are not vacuous


def test_every_need_is_met_or_explained_in_its_session(soaked: SimulationRun) -> None:
    for case in figures(soaked)["needs"]["cases"]:
        if case["verdict"] == "met":
            assert case["soc_at_departure"] >= case["target_soc"], case
        else:
            assert case["verdict"] == "explained" and case["why"], case


def test_every_changed_limit_is_restored_and_the_car_is_back_at_the_owners_limit(soaked: SimulationRun) -> None:
    soak = figures(soaked)
    assert [c for c in soak["limits"]["cases"] if not c["restored"]] == []
    assert soak["limits"]["restored"] == soak["limits"]["changed"]
    owner = soaked.scenario.car.charge_limit
    assert soaked.system.sim.snapshot(soaked.system.vin)["charge_limit"] == owner


def test_no_special_job_left_and_no_session_active_after_the_last_cleanup_and_sweep(soaked: SimulationRun) -> None:
    soak = figures(soaked)
    assert soak["special_jobs_left"] == []
    assert "ACTIVE" not in soak["sessions_by_status"] and "SCHEDULED" not in soak["sessions_by_status"]
    assert soak["drained_until"] is not None and soak["drained_until"] > soaked.end.isoformat()
    assert all(rule["ok"] for rule in soak["rules"].values()) and soak["passed"] is True


def test_the_soak_is_deterministic_for_a_seed(soaked: SimulationRun) -> None:
    again = run_simulation(load_scenario(), days=DAYS, seed=SEED, soak=Soak(SoakConfig(fault_rate=RATE, seed=SEED)))
    first, second = figures(soaked), figures(again)
    assert first["faults_injected"] == second["faults_injected"]
    assert first["crash_times"] == second["crash_times"]
    assert first["needs"] == second["needs"]


def test_after_a_crash_the_new_worker_still_reads_the_price_feed_of_a_set_with_a_distribution_tariff() -> None:
    scenario = dataclasses.replace(load_scenario(), prices="rce+tauron:G12w")
    run = run_simulation(scenario, days=2, seed=SEED, soak=Soak(SoakConfig(fault_rate=0.0, seed=SEED)))
    assert figures(run)["worker_crashes"]["done"] >= 1
    now = run.system.clock.now()
    prices = run.system.services.price_source().prices(now - timedelta(hours=6), now)
    assert prices and all(p.price_per_kwh > 0 for p in prices)  # the owner's price: energy plus distribution


def test_random_faults_spare_the_token_endpoint_and_count_by_kind() -> None:
    book = FaultBook()
    chance = book.random_faults(1.0, random.Random(0))
    assert book.take("POST", "/oauth2/v3/token") is None
    fault = book.take("GET", "/api/1/vehicles/X/vehicle_data")
    assert fault is not None and fault.status in (502, 503, 504)
    assert sum(chance.injected.values()) == 1
    with pytest.raises(ValueError):
        book.random_faults(1.5, random.Random(0))
