"""The README and deploy cost tables are rendered from the report: figures, assumed lines and missed goals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simulator.cost_table import comparison_table, deploy_table, main, readme_table, update_block
from simulator.costs import FIXED_SERVICES, GcpUsage, ServiceUsage, gcp_costs, load_price_table
from simulator.report import gcp_goal


def report(alert_conditions: int = 0) -> dict[str, Any]:
    """The parts of a month's report the tables read, with GCP figures from the real price table."""
    usage = GcpUsage(
        days=30,
        cloud_run={"scout": ServiceUsage(requests=2880, vcpu_seconds=2000, gib_seconds=3000), "worker": ServiceUsage()},
        scheduler_job_days=100,
        secret_accesses=3000,
        secret_average_enabled_versions=2.0,
        firestore_daily={},
        log_bytes=0,
    )
    costs = gcp_costs(usage, load_price_table(), alert_conditions=alert_conditions)
    gcp: dict[str, Any] = {
        "list_price": sum(c.list_price for c in costs.values()),
        "after_free_tier": sum(c.after_free_tier for c in costs.values()),
        "breakdown": {name: cost.to_dict() for name, cost in costs.items()},
        "assumed": {"services": list(FIXED_SERVICES)},
    }
    return {
        "days": 30,
        "seed": 1,
        "prices": {"source": "g12w"},
        "tesla_billable": {"data": 198, "commands": 47, "wakes": 14},
        "gcp_cost_usd": gcp,
        "energy_cost": {
            "planned": 297.2,
            "charge_on_arrival": 408.4,
            "saving_vs_arrival": 0.272,
            "best_possible_saving_vs_arrival": 0.281,
        },
        "goals": {
            "tesla_fleet_api": {"value": 0.7234, "target": "<= 1", "met": True},
            "gcp_after_free_tier": gcp_goal(gcp, "after_free_tier", 0.05),
            "gcp_list_price": gcp_goal(gcp, "list_price", 0.75),
            "energy_saving_vs_arrival": {"value": 0.272, "target": ">= 0.3", "met": False, "applies": True},
        },
    }


def test_the_readme_table_shows_every_line_from_the_report() -> None:
    month = report()
    table = readme_table(month, {"energy_cost": {"saving_vs_arrival": 0.38}})
    gcp = month["gcp_cost_usd"]
    assert "| Tesla Fleet API (198 data, 47 commands, 14 wakes) | $0.72 per car" in table
    assert f"| Google Cloud after the free tiers | ${gcp['after_free_tier']:.3f} (" in table
    assert f"| Google Cloud at list price | ${gcp['list_price']:.2f} (" in table
    assert "Artifact Registry" in table and "Cloud Build" in table and "(assumed)" in table
    assert "0 alert conditions" in table
    assert "**27 % less**" in table and "38 % less than charging on arrival" in table
    assert "≥ 30 % — **missed**" in table  # the energy goal is missed in this report and says so


def test_a_missed_gcp_goal_is_said_plainly_in_both_tables() -> None:
    month = report(alert_conditions=1)
    assert month["goals"]["gcp_after_free_tier"]["met"] is False
    readme = readme_table(month)
    assert "≤ $0.05 — **missed**: $" in readme and "Monitoring alerting $1.500 (assumed, not simulated)" in readme
    assert "(1 alert condition)" in readme
    deploy = deploy_table(month)
    assert "Goals missed: Google Cloud after the free tier (≤ $0.05): $" in deploy
    assert "Monitoring alerting $1.50 (assumed)" in deploy
    assert "with the owner's alert e-mail" not in readme.lower()  # already priced: no what-if line


def test_without_alerting_the_tables_say_what_one_condition_would_do() -> None:
    month = report()
    after = month["gcp_cost_usd"]["after_free_tier"] + 1.50
    line = f"with the owner's alert e-mail (1 alert condition, $1.50 a month, no free tier) | ${after:.3f} after"
    assert line in readme_table(month)
    assert "would miss ≤ $0.05 after the free tier and ≤ $0.75 at list price" in readme_table(month)
    assert "With the owner's alert e-mail" in deploy_table(month)


def test_the_deploy_table_keeps_its_shape() -> None:
    deploy = deploy_table(report())
    lines = deploy.splitlines()
    assert lines[0] == "| item | per month |"
    assert lines[2].startswith("| Google Cloud, list price (no free tier) | $")
    assert "before Tesla's $10 monthly discount | $0.72 per car |" in deploy
    assert "python -m simulator.cost_table" in deploy and "Goals missed" not in deploy


def test_the_block_between_the_markers_is_replaced_and_nothing_else(tmp_path: Path) -> None:
    text = (
        "# Title\n\n<!-- COSTS: BEGIN — generated,\n     do not edit -->\n\nold table\n\n<!-- COSTS: END -->\n\nafter\n"
    )
    updated = update_block(text, "| new |\n")
    assert (
        updated
        == "# Title\n\n<!-- COSTS: BEGIN — generated,\n     do not edit -->\n\n| new |\n\n<!-- COSTS: END -->\n\nafter\n"
    )
    assert update_block(updated, "| new |\n") == updated  # idempotent
    with pytest.raises(ValueError, match="COSTS"):
        update_block("no markers here\n", "| new |\n")


def test_the_command_line_renders_and_updates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report()))
    assert main([str(path), "--format", "deploy"]) == 0
    assert capsys.readouterr().out == deploy_table(report())
    target = tmp_path / "README.md"
    target.write_text("<!-- COSTS: BEGIN -->\nold\n<!-- COSTS: END -->\n")
    assert main([str(path), "--update", str(target)]) == 0
    assert readme_table(report()) in target.read_text()
    (tmp_path / "plain.md").write_text("nothing\n")
    assert main([str(path), "--update", str(tmp_path / "plain.md")]) == 2


def test_the_comparison_table_has_a_row_per_price_set_and_names_the_missed_goals() -> None:
    rows = [
        {
            "price_set": name,
            "planned": 165.94,
            "charge_on_arrival": 266.38,
            "fixed_window": 181.38,
            "cheapest_possible": 149.44,
            "saving_captured": 0.8589,
            "planned_over_cheapest": 0.1104,
            "beats_fixed_window": True,
            "outside_window_kwh": 9.92,
            "fleet_api_usd_per_car_month": 0.738,
        }
        for name in ("tge", "rce")
    ]
    side = {"days": 30, "scenario": "commuter", "start": "2026-02-02T00:00:00+01:00", "seed": 1, "price_sets": rows}
    month = {"comparison": side, "goals_issue_15": {"missed": ["tge: saving_captured"]}}
    table = comparison_table(month)
    assert "| `tge` | 165.94 | 266.38 | 181.38 | 149.44 | 85.9 % | +11.04 % | yes | 9.92 | $0.74 |" in table
    assert "| `rce` |" in table and "30 days of the commuter household from 2026-02-02 (seed 1)" in table
    assert "Issue 15 goals: missed 1: tge: saving_captured." in table
