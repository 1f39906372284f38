"""The month simulation end to end, on a few days: deterministic, the contract's report, the price sets, the demo."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from simulator.__main__ import main as simulator_main
from simulator.demo import main as demo_main
from simulator.month import run_simulation
from simulator.report import build_report, without_timing
from simulator.scenario import PRICE_SOURCES, load_scenario

CONTRACT_KEYS: dict[str, Any] = {
    "days": int,
    "scout_invocations": int,
    "worker_invocations": int,
    "tesla_billable": {"data": int, "commands": int, "wakes": int},
    "tesla_cost_usd": float,
    "gcp_cost_usd": {"list_price": float, "after_free_tier": float},
    "energy_kwh": float,
    "energy_cost": {"planned": float, "charge_on_arrival": float},
    "special_sessions": {"completed": int, "failed": int},
    "charge_limit_restored": {"count": int, "of": int},
}


def two_days(seed: int, prices: str | None = None) -> dict[str, Any]:
    return build_report(run_simulation(load_scenario().with_prices(prices), days=2, seed=seed))


def check_shape(report: dict[str, Any], shape: dict[str, Any], path: str = "") -> None:
    for key, expected in shape.items():
        assert key in report, f"{path}{key} missing"
        if isinstance(expected, dict):
            check_shape(report[key], expected, f"{path}{key}.")
        elif expected is float:
            assert isinstance(report[key], int | float) and not isinstance(report[key], bool), f"{path}{key}"
        else:
            assert isinstance(report[key], expected) and not isinstance(report[key], bool), f"{path}{key}"


def test_the_same_seed_gives_the_same_report_except_timing() -> None:
    first, second = two_days(seed=3), two_days(seed=3)
    assert without_timing(first) == without_timing(second)
    assert first["timing"]["wall_seconds"] > 0  # timing is there, just not compared
    assert without_timing(two_days(seed=4)) != without_timing(first)


def test_the_report_has_the_contracts_keys_and_a_goal_section() -> None:
    report = two_days(seed=1)
    check_shape(report, CONTRACT_KEYS)
    assert report["days"] == 2 and report["scout_invocations"] == 2 * 96
    assert report["gcp_cost_usd"]["list_price"] >= report["gcp_cost_usd"]["after_free_tier"] >= 0
    assert set(report["gcp_cost_usd"]["breakdown"]) == {
        "cloud_run",
        "cloud_scheduler",
        "secret_manager",
        "firestore",
        "cloud_logging",
        "artifact_registry",
        "cloud_build",
        "cloud_monitoring",
    }
    gcp = report["gcp_cost_usd"]
    # The totals hold both what the month measured and the assumed image, build and alerting lines.
    for field in ("list_price", "after_free_tier"):
        parts = gcp["simulated"][field] + gcp["assumed"][field]
        assert gcp[field] == pytest.approx(parts, abs=2e-4)
    for name in (
        "tesla_fleet_api",
        "gcp_after_free_tier",
        "gcp_list_price",
        "energy_saving_vs_arrival",
        "month_runtime",
    ):
        assert isinstance(report["goals"][name]["met"], bool), name
    # Issue 15: this set's line of the comparison, and its goals, each with target, value and met.
    assert [row["price_set"] for row in report["comparison"]["price_sets"]] == ["g12w"]
    goals = report["goals_issue_15"]["price_sets"]["g12w"]
    assert {"outside_window_kwh", "planned_within_cheapest", "fleet_api", "needs_met"} <= set(goals)
    assert all({"target", "value", "met"} <= set(goal) for goal in goals.values())
    json.dumps(report)  # plain JSON types only


def test_the_first_nights_early_departure_is_met_and_its_limit_restored() -> None:
    report = two_days(seed=1)
    need = report["special_sessions"]["needs"][0]
    assert need["met"] is True and need["soc_at_departure"] >= need["target_soc"] == 90
    assert report["special_sessions"]["completed"] == 1 and report["special_sessions"]["failed"] == 0
    assert report["charge_limit_restored"] == {**report["charge_limit_restored"], "count": 1, "of": 1}
    # its two one-shot jobs were created and deleted again
    assert report["cloud_scheduler"]["one_shot_jobs_created"] == 2 and report["cloud_scheduler"]["jobs_alive_end"] == 3
    assert report["worker_invocations_by_path"]["/send-special-schedule"] == 1
    assert report["worker_invocations_by_path"]["/cleanup-single-session"] == 1


def test_jumping_the_clock_never_delays_a_job() -> None:
    run = run_simulation(load_scenario(), days=2, seed=1)
    fired = run.system.fired
    assert {f.name.split("-special-")[0] for f in fired if f.name.startswith("special-")} == {
        "special-send",
        "special-cleanup",
    }
    late = [f for f in fired if f.fired_at != f.scheduled_time]
    assert late == []  # every job, static or one-shot, fired at the very instant it was due
    ticks = sorted(f.fired_at for f in fired if f.name == "tesla-scout-every-15-min")
    assert all(b - a == timedelta(minutes=15) for a, b in zip(ticks, ticks[1:], strict=False))


def test_planning_on_the_tge_series_goes_through_the_price_feed() -> None:
    run = run_simulation(load_scenario().with_prices("tge"), days=2, seed=1)
    report = build_report(run)
    feed_calls = sum(call.remote_calls["price_feed"] for call in run.meter.invocations)
    assert feed_calls > 0  # the worker's planning fetched OFFPEAK_API_URL
    assert report["prices"]["source"] == "tge" and report["energy_cost"]["currency"] == "PLN"
    assert report["special_sessions"]["needs"][0]["met"] is True
    assert report["goals"]["energy_saving_vs_arrival"]["applies"] is False


def test_a_distribution_set_is_costed_at_the_price_the_worker_plans_on() -> None:
    run = run_simulation(load_scenario().with_prices("tge+tauron:G12w"), days=1, seed=1)
    assert run.system.settings.offpeak_distribution == "tauron:G12w"
    # What the worker's price source gives now (the feed through OFFPEAK_DISTRIBUTION) is what the month costs with.
    now = run.system.clock.now()
    planner = run.system.services.price_source_factory().prices(now - timedelta(hours=12), now + timedelta(hours=12))
    costed = [i for i in run.prices if i.start < planner[-1].end and i.end > planner[0].start]
    assert len(planner) > 12 and [(i.start, i.end) for i in planner] == [(i.start, i.end) for i in costed]
    assert [i.price_per_kwh for i in planner] == pytest.approx([i.price_per_kwh for i in costed])
    assert "tauron G12w network rate" in build_report(run)["prices"]["priced_as"]


def test_compare_runs_every_price_set_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "compare.json"
    assert simulator_main(["--days", "1", "--compare", "--report", str(out)]) == 0
    report = json.loads(out.read_text())
    rows = report["comparison"]["price_sets"]
    assert [row["price_set"] for row in rows] == list(PRICE_SOURCES)
    for row in rows:
        for key in ("planned", "charge_on_arrival", "fixed_window", "cheapest_possible", "outside_window_kwh"):
            assert isinstance(row[key], float) and row[key] >= 0, (row["price_set"], key)
        assert row["needs_due"] == 0 and isinstance(row["fleet_api_usd_per_car_month"], float)
    assert set(report["goals_issue_15"]["price_sets"]) == set(PRICE_SOURCES)
    assert set(report["price_set_reports"]) == set(PRICE_SOURCES[1:])
    # the same household from the same start on every set
    assert len({report["price_set_reports"][name]["start"] for name in PRICE_SOURCES[1:]} | {report["start"]}) == 1
    printed = capsys.readouterr().out
    assert all(f"\n  {name} " in printed for name in PRICE_SOURCES) and "Issue 15 goals" in printed


def test_the_command_line_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    assert simulator_main(["--days", "1", "--report", str(out), "--seed", "2"]) == 0
    report = json.loads(out.read_text())
    assert report["days"] == 1 and report["seed"] == 2
    assert "scout invocations" in capsys.readouterr().out


def test_a_bad_scenario_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("prices: spot\n")
    assert simulator_main(["--days", "1", "--scenario", str(bad)]) == 2
    assert "prices must be one of" in capsys.readouterr().err


def test_a_start_outside_the_price_series_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    late = tmp_path / "late.yaml"
    late.write_text("start: 2026-06-01\nprices: tge\n")
    assert simulator_main(["--days", "1", "--scenario", str(late)]) == 2
    assert "pick a start date inside it" in capsys.readouterr().err


def test_the_demo_tells_the_night_and_writes_report_and_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo_main(["--days", "2", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    for step in (
        "arrived_home",
        "/daily-special-charging-check: session special_1_20260203_0600 planned",
        "job created: special-send-special-1-20260203-0600",
        "job special-send-special-1-20260203-0600 fires at its minute",
        "starts charging",
        "job special-cleanup-special-1-20260203-0600 fires at its minute",
        "charge limit restored to 80 %",
        "job deleted: special-cleanup-special-1-20260203-0600",
        "The month (2 days)",
        "The same month on every price set",
        "Issue 15 goals (2 days of 'commuter'",
    ):
        assert step in printed, step
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["days"] == 2 and [row["price_set"] for row in report["comparison"]["price_sets"]] == list(
        PRICE_SOURCES
    )
    assert (tmp_path / "night.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
