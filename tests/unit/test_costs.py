"""Counters to dollars (simulator/costs.py), the meters behind them, the energy alternatives and the price feed."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from werkzeug.test import Client

from shared.clock import ManualClock
from shared.domain.prices import PriceInterval
from shared.ports import HttpJob
from simulator.costs import (
    FIXED_SERVICES,
    GcpUsage,
    ServiceUsage,
    alerting_cost,
    artifact_registry_cost,
    cloud_build_cost,
    cloud_run_usage,
    gcp_costs,
    load_price_table,
    tesla_cost,
)
from simulator.energy import PlugSession, PriceCurve, energy_figures, fixed_window_start
from simulator.metering import Invocation, MeteredScheduler, MeteredSecrets, MeteredStore
from simulator.price_data import PriceDataError, feed_app, prices_for, published_until
from simulator.report import gcp_goal
from tests.fakes.scheduler import InMemoryJobScheduler
from tests.fakes.stores import InMemoryDocumentStore, InMemorySecretStore

T0 = datetime(2026, 2, 2, 12, 0, tzinfo=UTC)
WARSAW = ZoneInfo("Europe/Warsaw")


def table(**cloud_run: Any) -> dict[str, Any]:
    """The real price table with simple Cloud Run numbers, so the arithmetic below is checkable by hand."""
    prices = load_price_table()
    prices["cloud_run"]["services"] = {
        "scout": {"vcpu": 0.5, "memory_gib": 1.0},
        "worker": {"vcpu": 1.0, "memory_gib": 0.5},
    }
    prices["cloud_run"]["cold_start"] = {"idle_minutes": 15, "cpu_seconds": {"scout": 1.0, "worker": 0.5}}
    prices["cloud_run"]["remote_latency_s"] = {"tesla_api": 0.5}
    prices["cloud_run"].update(cloud_run)
    return prices


def call(service: str, at: datetime, wall: float, **extra: Any) -> Invocation:
    return Invocation(service, "POST", "/", at, 200, wall, extra.pop("virtual", 0.0), **extra)


def test_a_cold_request_pays_its_start_and_is_rounded_up_to_100_ms() -> None:
    usage = cloud_run_usage([call("scout", T0, 0.04)], table())
    scout = usage["scout"]
    # (1.0 s cold start + 0.04 s) of CPU at 0.5 vCPU = 2.08 s -> 2.1 s billed
    assert scout.cold_starts == 1 and scout.billed_seconds == pytest.approx(2.1)
    assert scout.vcpu_seconds == pytest.approx(1.05) and scout.gib_seconds == pytest.approx(2.1)


def test_a_request_soon_after_the_last_one_is_warm() -> None:
    calls = [call("worker", T0, 0.2), call("worker", T0 + timedelta(minutes=14), 0.2)]
    assert cloud_run_usage(calls, table())["worker"].cold_starts == 1
    calls = [call("worker", T0, 0.2), call("worker", T0 + timedelta(minutes=15), 0.2)]
    assert cloud_run_usage(calls, table())["worker"].cold_starts == 2  # idle 15 min: gone


def test_a_caller_is_billed_while_it_waits_for_the_worker_and_for_tesla() -> None:
    child = call("worker", T0, 0.3, virtual=20.0)  # the worker waited 20 s for a car to wake
    parent = call("scout", T0, 0.5, virtual=20.0, children=[0], remote_calls=Counter(tesla_api=2))
    usage = cloud_run_usage([child, parent], table())
    worker_seconds = 0.5 + 0.3 + 20.0  # cold start + its own CPU at 1 vCPU + the wake
    assert usage["worker"].billed_seconds == pytest.approx(20.8)
    # scout: (1.0 cold + 0.2 own CPU) / 0.5 vCPU + 2 Tesla calls x 0.5 s + the worker's 20.8 s
    assert usage["scout"].billed_seconds == pytest.approx(2.4 + 1.0 + worker_seconds)
    assert usage["scout"].cpu_seconds_measured == pytest.approx(0.2)


def usage(days: float = 30, **overrides: Any) -> GcpUsage:
    base: dict[str, Any] = {
        "days": days,
        "cloud_run": {"scout": ServiceUsage(), "worker": ServiceUsage()},
        "scheduler_job_days": 90,
        "secret_accesses": 0,
        "secret_average_enabled_versions": 2.0,
        "firestore_daily": {},
        "log_bytes": 0,
    }
    base.update(overrides)
    return GcpUsage(**base)


def test_three_static_scheduler_jobs_are_free_and_a_fourth_is_not() -> None:
    prices = load_price_table()
    three = gcp_costs(usage(scheduler_job_days=90), prices)["cloud_scheduler"]
    assert three.list_price == pytest.approx(90 / 31 * 0.10) and three.after_free_tier == 0
    four = gcp_costs(usage(scheduler_job_days=124), prices)["cloud_scheduler"]
    assert four.after_free_tier == pytest.approx((124 / 31 - 3) * 0.10)


def test_secret_versions_and_accesses_beyond_the_free_tier() -> None:
    prices = load_price_table()
    # 2 token versions + the client secret the deploy stores = 3 active versions
    cost = gcp_costs(usage(secret_accesses=20_000, secret_average_enabled_versions=2.0), prices)["secret_manager"]
    assert cost.list_price == pytest.approx(3 * 0.06 + 2 * 0.03)
    assert cost.after_free_tier == pytest.approx(0.03)  # 10,000 accesses over the free 10,000
    many = gcp_costs(usage(secret_average_enabled_versions=9.0), prices)["secret_manager"]
    assert many.after_free_tier == pytest.approx((10 - 6) * 0.06)


def test_firestore_free_quota_is_daily() -> None:
    prices = load_price_table()
    days = {1: {"reads": 60_000, "writes": 100}, 2: {"reads": 10_000}}
    cost = gcp_costs(usage(firestore_daily=days), prices)["firestore"]
    assert cost.after_free_tier == pytest.approx(10_000 / 1e5 * 0.06)  # only day 1 went over
    assert cost.list_price == pytest.approx(70_000 / 1e5 * 0.06 + 100 / 1e5 * 0.18)


def test_a_shorter_run_is_scaled_to_a_month() -> None:
    prices = load_price_table()
    half = gcp_costs(usage(days=15, scheduler_job_days=45), prices)["cloud_scheduler"]
    assert half.list_price == pytest.approx(90 / 31 * 0.10)


def test_cloud_run_free_tier_covers_a_small_project() -> None:
    prices = load_price_table()
    run = {"scout": ServiceUsage(requests=2880, vcpu_seconds=2000, gib_seconds=3000), "worker": ServiceUsage()}
    cost = gcp_costs(usage(cloud_run=run), prices)["cloud_run"]
    assert cost.list_price == pytest.approx(2000 * 0.000024 + 3000 * 0.0000025 + 2880 / 1e6 * 0.40)
    assert cost.after_free_tier == 0


def test_image_storage_is_priced_from_the_table_beyond_the_free_half_gigabyte() -> None:
    prices = load_price_table()["artifact_registry"]
    prices["images"] = {"worker": {"size_mib": 128, "versions_kept": 2}, "scout": {"size_mib": 64, "versions_kept": 1}}
    small = artifact_registry_cost(prices)  # 320 MiB: inside the free 0.5 GiB
    assert small.usage["stored_gib"] == pytest.approx(320 / 1024)
    assert small.list_price == pytest.approx(320 / 1024 * 0.10) and small.after_free_tier == 0
    prices["images"]["worker"]["versions_kept"] = 6  # 832 MiB
    big = artifact_registry_cost(prices)
    assert big.after_free_tier == pytest.approx((832 / 1024 - 0.5) * 0.10)
    prices["per_gib_month"] = 0.20  # a new price in the table is the new line
    assert artifact_registry_cost(prices).list_price == pytest.approx(832 / 1024 * 0.20)
    prices["free_gib_per_month"] = 0
    assert artifact_registry_cost(prices).after_free_tier == pytest.approx(832 / 1024 * 0.20)


def test_build_minutes_are_priced_from_the_table_beyond_the_free_minutes() -> None:
    prices = load_price_table()["cloud_build"]
    prices["builds_per_month"] = {"worker": 2, "scout": 1}
    prices["minutes_per_build"] = {"worker": 4.0, "scout": 3.0}
    month = cloud_build_cost(prices)
    assert month.usage["build_minutes"] == 11
    assert month.list_price == pytest.approx(11 * 0.006) and month.after_free_tier == 0  # 2,500 free minutes
    prices["free_build_minutes_per_month"] = 5
    prices["per_build_minute"] = 0.01
    again = cloud_build_cost(prices)
    assert again.list_price == pytest.approx(0.11) and again.after_free_tier == pytest.approx(6 * 0.01)


def test_alert_conditions_cost_a_dollar_fifty_each_with_no_free_tier() -> None:
    prices = load_price_table()["cloud_monitoring"]
    assert prices["alert_conditions"] == 0  # nothing deployed until the owner's alerting lands
    none = alerting_cost(prices)
    assert none.list_price == 0 and none.after_free_tier == 0
    one = alerting_cost(prices, 1)
    assert one.list_price == pytest.approx(1.50) and one.after_free_tier == pytest.approx(1.50)
    prices["alert_conditions"] = 2
    prices["per_condition_month"] = 2.0
    assert alerting_cost(prices).after_free_tier == pytest.approx(4.0)
    with pytest.raises(ValueError):
        alerting_cost(prices, -1)


def test_the_assumed_lines_are_in_the_month_and_in_its_totals() -> None:
    prices = load_price_table()
    costs = gcp_costs(usage(), prices)
    assert set(FIXED_SERVICES) <= set(costs)
    assert {name for name, cost in costs.items() if cost.basis == "assumed"} == set(FIXED_SERVICES)
    assert costs["artifact_registry"].list_price > 0 and costs["cloud_build"].list_price > 0
    with_alert = gcp_costs(usage(), prices, alert_conditions=1)
    total = sum(c.after_free_tier for c in with_alert.values()) - sum(c.after_free_tier for c in costs.values())
    assert total == pytest.approx(1.50)  # only the condition changed
    assert with_alert["cloud_monitoring"].to_dict()["basis"] == "assumed"
    # A shorter run is not a shorter month for images and builds: they are per month, not scaled.
    short = gcp_costs(usage(days=3, scheduler_job_days=9), prices)
    for name in FIXED_SERVICES:
        assert short[name].list_price == pytest.approx(costs[name].list_price)


def test_a_missed_gcp_goal_says_which_items_make_the_total() -> None:
    costs = gcp_costs(usage(), load_price_table(), alert_conditions=1)
    total = sum(c.after_free_tier for c in costs.values())
    gcp = {"after_free_tier": total, "breakdown": {name: cost.to_dict() for name, cost in costs.items()}}
    goal = gcp_goal(gcp, "after_free_tier", 0.05)
    assert goal["met"] is False
    assert "Monitoring alerting $1.500 (assumed, not simulated)" in goal["why"] and "over $0.05" in goal["why"]
    met = gcp_goal({**gcp, "after_free_tier": 0.01}, "after_free_tier", 0.05)
    assert met["met"] is True and "why" not in met


def test_tesla_prices_per_category() -> None:
    prices = load_price_table()
    assert tesla_cost({"data": 500, "commands": 1000, "wakes": 50}, prices) == pytest.approx(3.0)


def test_job_days_count_every_billing_day_a_job_touched() -> None:
    clock = ManualClock(datetime(2026, 2, 1, 23, 0, tzinfo=UTC))  # 00:00 in Warsaw, 15:00 the day before in LA
    jobs = MeteredScheduler(InMemoryJobScheduler(), clock)
    start = clock.now()
    jobs.create(HttpJob("static", "*/15 * * * *", "Etc/UTC", "http://x/"))
    clock.advance(timedelta(hours=7))  # 06:00 UTC = 22:00 LA
    jobs.create(HttpJob("one-shot", "0 9 2 2 *", "Etc/UTC", "http://x/"))
    clock.advance(timedelta(hours=3))  # 01:00 LA next day
    assert jobs.delete("one-shot")
    end = start + timedelta(days=2)
    # static: alive the whole run of 2 days -> 2; one-shot: spans LA midnight -> 2
    assert jobs.job_days(start, end) == 4
    assert jobs.alive_max() == 2


def test_enabled_secret_versions_are_integrated_over_time() -> None:
    clock = ManualClock(T0)
    secrets = MeteredSecrets(InMemorySecretStore(), clock)
    secrets.add_version("tokens", b"1")
    clock.advance(timedelta(hours=12))
    secrets.add_version("tokens", b"2")
    clock.advance(timedelta(hours=12))
    assert secrets.enabled_version_seconds(T0, clock.now()) == pytest.approx(12 * 3600 * 1 + 12 * 3600 * 2)
    assert secrets.counts["versions_added"] == 2 and secrets.enabled_max() == 2


def test_the_store_meter_counts_firestore_units_as_the_shared_fake_does() -> None:
    clock = ManualClock(T0)
    fake = InMemoryDocumentStore()
    store = MeteredStore(fake, clock)
    store.get("a", "missing")  # a miss is still a read
    store.set("a", "1", {"x": 1})
    store.set("a", "2", {"x": 2})
    store.list("a")  # 2 documents
    store.list("b")  # none: still 1 read
    store.update("a", "1", lambda cur: {**(cur or {}), "x": 3})
    store.update("a", "1", lambda cur: None)  # read, no write
    store.delete("a", "2")
    assert store.totals() == {"reads": 1 + 2 + 1 + 1 + 1, "writes": 3, "deletes": 1}
    assert store.totals() == {"reads": fake.reads, "writes": fake.writes, "deletes": fake.deletes}


def test_planned_charging_is_priced_and_compared_with_charging_on_arrival() -> None:
    # Peak 1.00 until 22:00 local, then 0.50: 11 kWh at 11 kW is one hour either way.
    evening = datetime(2026, 2, 2, 18, 0, tzinfo=WARSAW)
    ten = datetime(2026, 2, 2, 22, 0, tzinfo=WARSAW)
    prices = PriceCurve([PriceInterval(evening, ten, 1.0), PriceInterval(ten, ten + timedelta(hours=10), 0.5)])
    session = PlugSession(evening, ten + timedelta(hours=9))
    night = (ten + timedelta(hours=3), ten + timedelta(hours=4), 11.0)
    figures = energy_figures([night], [session], prices, 11.0, WARSAW)
    assert figures.planned_kwh == pytest.approx(11.0) and figures.planned_cost == pytest.approx(5.5)
    assert figures.arrival_cost == pytest.approx(11.0)  # 18:00-19:00 at 1.00
    assert figures.fixed_window_cost == pytest.approx(5.5)  # 22:00-23:00 at 0.50
    assert figures.fixed_window_shortfall_kwh == 0


def test_the_fixed_window_starts_at_22_or_at_once_at_night() -> None:
    assert fixed_window_start(datetime(2026, 2, 2, 17, 30, tzinfo=WARSAW), WARSAW).hour == 22
    late = datetime(2026, 2, 2, 23, 10, tzinfo=WARSAW)
    assert fixed_window_start(late, WARSAW) == late
    early = datetime(2026, 2, 3, 5, 0, tzinfo=WARSAW)
    assert fixed_window_start(early, WARSAW) == early


def test_day_ahead_prices_are_shown_only_once_published() -> None:
    morning = datetime(2026, 2, 2, 9, 0, tzinfo=WARSAW)
    assert published_until(morning, WARSAW) == datetime(2026, 2, 3, 0, 0, tzinfo=WARSAW)
    afternoon = datetime(2026, 2, 2, 14, 0, tzinfo=WARSAW)
    assert published_until(afternoon, WARSAW) == datetime(2026, 2, 4, 0, 0, tzinfo=WARSAW)
    series = prices_for("tge", datetime(2026, 2, 1, tzinfo=WARSAW), datetime(2026, 2, 6, tzinfo=WARSAW), WARSAW)
    clock = ManualClock(morning)
    app = feed_app(series, clock, WARSAW)

    def feed() -> dict[str, Any]:
        answer = Client(app).get("/prices")
        return json.loads(answer.get_data())

    body = feed()
    assert body["currency"] == "PLN"
    assert body["prices"][-1]["end"] == "2026-02-02T23:00:00+00:00"  # today's prices only
    clock.set(afternoon)
    assert feed()["prices"][-1]["end"] == "2026-02-03T23:00:00+00:00"  # tomorrow's are out


def test_the_bundled_series_are_contiguous_and_in_pln_per_kwh() -> None:
    for name in ("tge", "rce"):
        start, end = datetime(2026, 1, 1, tzinfo=WARSAW), datetime(2026, 3, 8, tzinfo=WARSAW)
        series = prices_for(name, start, end, WARSAW)
        assert series[0].start <= start and series[-1].end >= end
        assert all(-1 < i.price_per_kwh < 5 for i in series)  # PLN/kWh, not PLN/MWh
    with pytest.raises(PriceDataError, match="pick a start date inside it"):
        prices_for("tge", datetime(2026, 6, 1, tzinfo=WARSAW), datetime(2026, 6, 2, tzinfo=WARSAW), WARSAW)
