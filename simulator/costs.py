"""Counters → dollars: Google Cloud per service (list price and after the free tiers) and the Tesla Fleet API.

Pure: the usage comes in as numbers (from simulator/metering.py), the prices from the table in
simulator/data/gcp_prices.yaml. GCP figures are per month: counters of an N-day run are scaled to
the table's `month_days` first, because free tiers are monthly (Firestore's are daily and are
applied day by day before scaling). Artifact Registry, Cloud Build and Cloud Monitoring alerting
are not counted from the run: they are fixed per month, from the table's stated assumptions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simulator.metering import Invocation

PRICE_TABLE = Path(__file__).resolve().parent / "data" / "gcp_prices.yaml"
GIB = 1024**3
# Services whose month comes from the table's assumptions, not from the simulated requests.
FIXED_SERVICES = ("artifact_registry", "cloud_build", "cloud_monitoring")
SERVICE_LABELS = {
    "cloud_run": "Cloud Run",
    "cloud_scheduler": "Cloud Scheduler",
    "secret_manager": "Secret Manager",
    "firestore": "Firestore",
    "cloud_logging": "Cloud Logging",
    "artifact_registry": "Artifact Registry",
    "cloud_build": "Cloud Build",
    "cloud_monitoring": "Monitoring alerting",
}


def load_price_table(path: Path = PRICE_TABLE) -> dict[str, Any]:
    """The price table (YAML) as a dict."""
    table: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return table


@dataclass
class ServiceUsage:
    """One Cloud Run service's requests and billed resources over the run."""

    requests: int = 0
    cold_starts: int = 0
    cpu_seconds_measured: float = 0.0  # wall time in-process, children excluded
    waiting_seconds: float = 0.0  # virtual waits (a car waking) and modelled remote-call latency
    billed_seconds: float = 0.0
    vcpu_seconds: float = 0.0
    gib_seconds: float = 0.0


def cloud_run_usage(invocations: Sequence[Invocation], table: Mapping[str, Any]) -> dict[str, ServiceUsage]:
    """Billed time per request: CPU time / vCPU share + waiting + a cold start after an idle spell, rounded up to 100 ms."""
    run = table["cloud_run"]
    step = float(run["billing_granularity_s"])
    idle = float(run["cold_start"]["idle_minutes"]) * 60
    latency = run.get("remote_latency_s", {})
    usage: dict[str, ServiceUsage] = {name: ServiceUsage() for name in run["services"]}
    durations: list[float] = []
    last_end: dict[str, Any] = {}
    # Invocations are in completion order, so a child's duration is known before its parent's.
    for call in invocations:
        spec = run["services"][call.service]
        children = [invocations[i] for i in call.children]
        own_wall = max(0.0, call.wall_s - sum(c.wall_s for c in children))
        own_wait = max(0.0, call.virtual_s - sum(c.virtual_s for c in children))
        own_wait += sum(n * float(latency.get(kind, 0.0)) for kind, n in call.remote_calls.items())
        previous = last_end.get(call.service)
        cold = previous is None or (call.started - previous).total_seconds() >= idle
        cpu = own_wall + (float(run["cold_start"]["cpu_seconds"][call.service]) if cold else 0.0)
        duration = cpu / float(spec["vcpu"]) + own_wait + sum(durations[i] for i in call.children)
        billed = math.ceil(duration / step - 1e-9) * step
        durations.append(duration)
        last_end[call.service] = call.ended
        service = usage[call.service]
        service.requests += 1
        service.cold_starts += cold
        service.cpu_seconds_measured += own_wall
        service.waiting_seconds += own_wait
        service.billed_seconds += billed
        service.vcpu_seconds += billed * float(spec["vcpu"])
        service.gib_seconds += billed * float(spec["memory_gib"])
    return usage


@dataclass
class GcpUsage:
    """What the run used, before scaling to a month."""

    days: float
    cloud_run: dict[str, ServiceUsage]
    scheduler_job_days: int
    secret_accesses: int
    secret_average_enabled_versions: float
    firestore_daily: Mapping[Any, Mapping[str, int]]
    log_bytes: int


@dataclass
class ServiceCost:
    """One service's month: list price, after the free tier, and the usage behind them."""

    list_price: float
    after_free_tier: float
    usage: dict[str, float] = field(default_factory=dict)
    basis: str = "simulated"  # or "assumed": from the table's assumptions, not the simulated requests

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, rounded."""
        return {
            "list_price": round(self.list_price, 4),
            "after_free_tier": round(self.after_free_tier, 4),
            "usage_per_month": {k: round(v, 3) for k, v in self.usage.items()},
            "basis": self.basis,
        }


def gcp_costs(
    usage: GcpUsage, table: Mapping[str, Any], *, alert_conditions: int | None = None
) -> dict[str, ServiceCost]:
    """Per service, the month's cost at list price and after the free tiers; `alert_conditions` overrides the table's."""
    scale = float(table["month_days"]) / usage.days
    return {
        "cloud_run": _cloud_run(usage, table["cloud_run"], scale),
        "cloud_scheduler": _scheduler(usage, table["cloud_scheduler"], scale),
        "secret_manager": _secrets(usage, table["secret_manager"], scale),
        "firestore": _firestore(usage, table["firestore"], scale),
        "cloud_logging": _logging(usage, table["cloud_logging"], scale),
        "artifact_registry": artifact_registry_cost(table["artifact_registry"]),
        "cloud_build": cloud_build_cost(table["cloud_build"]),
        "cloud_monitoring": alerting_cost(table["cloud_monitoring"], alert_conditions),
    }


def artifact_registry_cost(prices: Mapping[str, Any]) -> ServiceCost:
    """Image storage: each image's size times the versions kept, beyond the free 0.5 GB."""
    mib = sum(float(i["size_mib"]) * int(i["versions_kept"]) for i in prices["images"].values())
    gib = mib / 1024
    per_gib = float(prices["per_gib_month"])
    after = max(0.0, gib - float(prices["free_gib_per_month"])) * per_gib
    return ServiceCost(gib * per_gib, after, {"stored_gib": gib}, basis="assumed")


def cloud_build_cost(prices: Mapping[str, Any]) -> ServiceCost:
    """Build-minutes of the month's deploys, beyond the free build-minutes."""
    builds, minutes = prices["builds_per_month"], prices["minutes_per_build"]
    total = sum(float(builds[name]) * float(minutes[name]) for name in builds)
    per_minute = float(prices["per_build_minute"])
    after = max(0.0, total - float(prices["free_build_minutes_per_month"])) * per_minute
    return ServiceCost(total * per_minute, after, {"build_minutes": total}, basis="assumed")


def alerting_cost(prices: Mapping[str, Any], conditions: int | None = None) -> ServiceCost:
    """Alert conditions at their monthly price (the table's count unless one is given)."""
    count = int(prices["alert_conditions"] if conditions is None else conditions)
    if count < 0:
        raise ValueError("alert conditions cannot be negative")
    per_condition = float(prices["per_condition_month"])
    after = max(0, count - int(prices["free_conditions"])) * per_condition
    return ServiceCost(count * per_condition, after, {"alert_conditions": float(count)}, basis="assumed")


def _cloud_run(usage: GcpUsage, run: Mapping[str, Any], scale: float) -> ServiceCost:
    vcpu = sum(s.vcpu_seconds for s in usage.cloud_run.values()) * scale
    gib = sum(s.gib_seconds for s in usage.cloud_run.values()) * scale
    requests = sum(s.requests for s in usage.cloud_run.values()) * scale
    free = run["free_per_month"]

    def price(v: float, g: float, r: float) -> float:
        return v * run["vcpu_second"] + g * run["gib_second"] + r / 1e6 * run["per_million_requests"]

    after = price(
        max(0.0, vcpu - free["vcpu_seconds"]),
        max(0.0, gib - free["gib_seconds"]),
        max(0.0, requests - free["requests"]),
    )
    return ServiceCost(
        price(vcpu, gib, requests), after, {"vcpu_seconds": vcpu, "gib_seconds": gib, "requests": requests}
    )


def _scheduler(usage: GcpUsage, prices: Mapping[str, Any], scale: float) -> ServiceCost:
    job_months = usage.scheduler_job_days * scale / 31
    per_job = float(prices["per_job_per_31_days"])
    after = max(0.0, job_months - float(prices["free_jobs"])) * per_job
    return ServiceCost(job_months * per_job, after, {"job_days": usage.scheduler_job_days * scale, "jobs": job_months})


def _secrets(usage: GcpUsage, prices: Mapping[str, Any], scale: float) -> ServiceCost:
    versions = usage.secret_average_enabled_versions + float(prices.get("static_enabled_versions", 0))
    accesses = usage.secret_accesses * scale
    per_version, per_10k = float(prices["per_active_version_month"]), float(prices["per_10k_accesses"])
    listed = versions * per_version + accesses / 10_000 * per_10k
    after = (
        max(0.0, versions - float(prices["free_versions"])) * per_version
        + max(0.0, accesses - float(prices["free_accesses"])) / 10_000 * per_10k
    )
    return ServiceCost(listed, after, {"active_versions": versions, "accesses": accesses})


def _firestore(usage: GcpUsage, prices: Mapping[str, Any], scale: float) -> ServiceCost:
    unit = {"reads": "per_100k_reads", "writes": "per_100k_writes", "deletes": "per_100k_deletes"}
    free = prices["free_per_day"]
    totals = {kind: sum(day.get(kind, 0) for day in usage.firestore_daily.values()) * scale for kind in unit}
    over = {
        kind: sum(max(0, day.get(kind, 0) - free[kind]) for day in usage.firestore_daily.values()) * scale
        for kind in unit
    }
    listed = sum(totals[k] / 1e5 * prices[unit[k]] for k in unit)
    after = sum(over[k] / 1e5 * prices[unit[k]] for k in unit)
    return ServiceCost(listed, after, dict(totals))


def _logging(usage: GcpUsage, prices: Mapping[str, Any], scale: float) -> ServiceCost:
    gib = usage.log_bytes * scale / GIB
    per_gib = float(prices["per_gib"])
    return ServiceCost(
        gib * per_gib, max(0.0, gib - float(prices["free_gib_per_month"])) * per_gib, {"gib": gib, "mib": gib * 1024}
    )


def tesla_cost(billable: Mapping[str, int], table: Mapping[str, Any]) -> float:
    """What Tesla bills for the counted requests, before the monthly discount."""
    prices = table["tesla_fleet_api"]
    return sum(billable.get(kind, 0) * float(prices[kind]) for kind in ("data", "commands", "wakes"))
