"""The soak (issue 9, item 6): the month simulation with random Tesla faults and a worker crash a week.

Random faults: every Fleet API call (`*/api/1/*`, never the token endpoint or /sim) fails with
probability `fault_rate`, drawn from a seeded RNG, as one of three kinds — 503 before acting, a
lost answer after acting (502), or a timeout after acting (the client's read raises). A crash
throws the worker process away at a random instant once a week: a new app and new services are
built over the same STATE_DIR, so only persisted state survives (caches, tokens in memory, open
clients are gone). After the last day the clock runs on, scheduler jobs only, past the last
session's cleanup time and the next daily sweep; then the rules are checked and the figures kept.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from werkzeug.test import Client

from shared.adapters import factory
from shared.adapters.local.embedded_scheduler import FireResult
from shared.prices.factory import build_price_source
from simulator import price_data
from simulator.harness import TESLA_HOST, WORKER_HOST, build_worker
from simulator.household import HouseholdEvent

FAULT_RATE = 0.05
WEEK = timedelta(days=7)
SWEEP_HOUR = 23  # tesla-daily-special-charging-check; the 00:00 failsafe cycle follows it
SWEEP_MARGIN = timedelta(hours=2)  # past the sweep: the 00:00 failsafe and any scheduler retries
SPECIAL_JOBS = "special-"
RULES = ("needs_met_or_explained", "limits_restored", "no_job_left", "no_session_active")


@dataclass
class SoakConfig:
    """How hard the soak shakes the system; deterministic for a seed."""

    fault_rate: float = FAULT_RATE
    crashes_per_week: int = 1
    seed: int = 1


class _RetryCounter(logging.Handler):
    """Counts the Fleet client's retried attempts (its request log lines with attempt > 1)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.retried = 0

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and "] tesla request" in record.getMessage():
            attempt = fields.get("attempt")
            if isinstance(attempt, int) and attempt > 1:
                self.retried += 1


@dataclass
class Soak:
    """Installs the faults, crashes the worker on time (as the loop's observer), drains and judges."""

    config: SoakConfig = field(default_factory=SoakConfig)
    planned_crashes: list[datetime] = field(default_factory=list)
    crashes: list[datetime] = field(default_factory=list)
    drained_until: datetime | None = None
    _retries: _RetryCounter = field(default_factory=_RetryCounter)

    # ---- set-up, called by run_simulation right after the system is built ---------------------

    def install(self, run: Any) -> None:
        """Arm the random faults and plan the crashes for `run` (a SimulationRun)."""
        seed = self.config.seed
        sim = run.system.sim
        sim.faults.random_faults(self.config.fault_rate, random.Random(f"soak-faults-{seed}"))
        crash_rng = random.Random(f"soak-crashes-{seed}")
        week = run.start
        while week < run.end:
            span = min(WEEK, run.end - week).total_seconds()
            for _ in range(self.config.crashes_per_week):
                self.planned_crashes.append(week + timedelta(seconds=int(crash_rng.uniform(0, span))))
            week += WEEK
        self.planned_crashes.sort()
        run.system.apps[TESLA_HOST] = _timing_out(run.system.apps[TESLA_HOST], sim.faults.random)
        logging.getLogger().addHandler(self._retries)

    # ---- the Observer protocol of simulator.month -------------------------------------------

    def next_sample(self, now: datetime) -> datetime | None:
        """The next crash still to come."""
        return next((c for c in self.planned_crashes[len(self.crashes) :] if c >= now), None)

    def household(self, run: Any, event: HouseholdEvent, note: str) -> None:
        """Nothing: the household does not know about the soak."""

    def after_step(self, run: Any, fired: list[FireResult]) -> None:
        """Crash the worker once its instant has come."""
        now = run.system.clock.now()
        while len(self.crashes) < len(self.planned_crashes) and self.planned_crashes[len(self.crashes)] <= now:
            crash_worker(run)
            self.crashes.append(now)

    # ---- after the last day ----------------------------------------------------------------

    def drain(self, run: Any, observe: Callable[[Any], None]) -> None:
        """Run the scheduler alone past the last cleanup and the next daily sweep; re-check open limits."""
        system, clock = run.system, run.system.clock
        until = drain_end(run)
        # Limits still open at the end of the month are judged again once their cleanup has run.
        for session_id in [s for s, limit in run.limits.items() if limit.restored is None]:
            del run.limits[session_id]
        idle = 0
        while True:
            due = min(
                (d for d in (system.scheduler.next_run(j.name) for j in system.scheduler.list()) if d), default=None
            )
            if due is None or due > until:
                clock.set(max(until, clock.now()))
                break
            if due > clock.now():
                clock.set(due)
            fired = system.run_scheduler()
            observe(run)
            idle = 0 if fired else idle + 1
            if idle > 2:
                clock.advance(timedelta(seconds=1))  # never spin on a job that claims to be due
        observe(run)
        self.drained_until = clock.now()
        logging.getLogger().removeHandler(self._retries)

    def figures(self, run: Any) -> dict[str, Any]:
        """The soak's figures and its rules, each with the cases that break it."""
        sessions = {s["session_id"]: s for s in run.raw_sessions()}
        random_faults = run.system.sim.faults.random
        injected = dict(random_faults.injected) if random_faults is not None else {}
        tesla_calls = sum(call.remote_calls["tesla_api"] for call in run.meter.invocations)
        needs = [_judge_need(n, sessions) for n in run.needs if n.met is not None]
        limits = [
            {
                "session_id": session_id,
                "status": sessions.get(session_id, {}).get("status", limit.status),
                "original_charge_limit": limit.original_charge_limit,
                "limit_after_close": limit.limit_after_close,
                "restored": bool(limit.restored),
            }
            for session_id, limit in sorted(run.limits.items())
        ]
        jobs_left = sorted(job.name for job in run.jobs.list(SPECIAL_JOBS))
        by_status = Counter(str(s.get("status")) for s in sessions.values())
        active = sorted(sid for sid, s in sessions.items() if s.get("status") == "ACTIVE")
        unexplained = [n for n in needs if n["verdict"] == "unexplained"]
        unrestored = [limit for limit in limits if not limit["restored"]]
        rules = {
            "needs_met_or_explained": {"ok": not unexplained, "broken_by": unexplained},
            "limits_restored": {"ok": not unrestored, "broken_by": unrestored},
            "no_job_left": {"ok": not jobs_left, "broken_by": jobs_left},
            "no_session_active": {"ok": not active, "broken_by": active},
        }
        return {
            "fault_rate": self.config.fault_rate,
            "tesla_calls": tesla_calls,
            "faults_injected": {**{k: injected.get(k, 0) for k in sorted(injected)}, "total": sum(injected.values())},
            "tesla_attempts_retried": self._retries.retried,
            "worker_crashes": {"planned": len(self.planned_crashes), "done": len(self.crashes)},
            "crash_times": [c.isoformat() for c in self.crashes],
            "drained_until": self.drained_until.isoformat() if self.drained_until else None,
            "needs": {
                "due": len(needs),
                "met": sum(1 for n in needs if n["verdict"] == "met"),
                "explained": sum(1 for n in needs if n["verdict"] == "explained"),
                "unexplained": len(unexplained),
                "cases": needs,
            },
            "limits": {"changed": len(limits), "restored": len(limits) - len(unrestored), "cases": limits},
            "special_jobs_left": jobs_left,
            "sessions_by_status": dict(sorted(by_status.items())),
            "rules": rules,
            "passed": all(rule["ok"] for rule in rules.values()),
        }


def crash_worker(run: Any) -> None:
    """Throw the worker process away and start a new one over the same STATE_DIR (only persisted state survives)."""
    system = run.system
    settings, clock, http = system.settings, system.clock, system.http
    # New backend handles read the files again; the meters around them stay (they are not the worker).
    run.store.inner = factory.build_document_store(settings)
    run.secrets.inner = factory.build_secret_store(settings)
    services, app = build_worker(settings, clock, http, store=run.store, secrets=run.secrets, scheduler=run.jobs)
    if price_data.price_set(run.scenario.prices).feed:  # tge, rce and both with a distribution tariff
        services.price_source_factory = lambda: build_price_source(settings, clock, session=http)
    system.services = services
    system.apps[WORKER_HOST] = run.meter.wrap("worker", app)
    system.worker = Client(app)


def drain_end(run: Any) -> datetime:
    """After the last session's cleanup time (or the end) comes the next 23:00 sweep; then a margin."""
    cleanups = [
        datetime.fromisoformat(s["cleanup_at"]) for s in run.raw_sessions() if isinstance(s.get("cleanup_at"), str)
    ]
    last = max([run.end, *cleanups])
    local = last.astimezone(run.scenario.timezone)
    sweep = local.replace(hour=SWEEP_HOUR, minute=0, second=0, microsecond=0)
    if sweep <= local:
        sweep = (local + timedelta(days=1)).replace(hour=SWEEP_HOUR, minute=0, second=0, microsecond=0)
    return sweep + SWEEP_MARGIN


def _judge_need(need: Any, sessions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """met; explained (refused at registration, or the session carries an error); else unexplained."""
    case = {
        "need_id": need.need_id,
        "target_soc": need.target_soc,
        "soc_at_departure": need.soc_at_departure,
        "session_id": need.session_id,
    }
    if need.met:
        return {**case, "verdict": "met"}
    session = sessions.get(need.session_id or "") or next(
        (s for s in sessions.values() if s.get("need_id") == need.need_id), None
    )
    errors = [e["error"] for e in (session or {}).get("history", []) if e.get("error")]
    if need.explanation.startswith("the worker refused"):
        return {**case, "verdict": "explained", "why": need.explanation}
    if session is not None and (session.get("last_error") or errors):
        return {**case, "verdict": "explained", "why": str(session.get("last_error") or errors[-1])}
    return {**case, "verdict": "unexplained", "why": need.explanation or "no error recorded in the session"}


def _timing_out(app: Callable[..., Any], faults: Any) -> Callable[..., Any]:
    """The Tesla host as the client's transport sees it: a drawn timeout raises after the request acted."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = list(app(environ, start_response))
        if faults is not None and faults.take_timeout():
            raise requests.ReadTimeout("injected random fault: the answer never came")
        return body

    return wrapped


def summary_lines(figures: dict[str, Any]) -> list[str]:
    """The soak's figures as printed lines, each rule marked PASS or FAIL."""
    injected = figures["faults_injected"]
    kinds = ", ".join(f"{k} {v}" for k, v in injected.items() if k != "total")
    needs, limits = figures["needs"], figures["limits"]
    lines = [
        f"Soak: random Tesla faults at {figures['fault_rate']:.0%} of Fleet API calls, a worker crash a week",
        f"  Tesla calls                {figures['tesla_calls']}",
        f"  faults injected            {injected['total']} ({kinds or 'none'})",
        f"  Tesla attempts retried     {figures['tesla_attempts_retried']}",
        f"  worker crashes             {figures['worker_crashes']['done']} of {figures['worker_crashes']['planned']}",
        f"  special needs              {needs['met']} met, {needs['explained']} explained, "
        f"{needs['unexplained']} unexplained (of {needs['due']})",
        f"  charge limits restored     {limits['restored']} of {limits['changed']}",
        f"  special jobs left          {len(figures['special_jobs_left'])}",
        f"  sessions by status         {', '.join(f'{k} {v}' for k, v in figures['sessions_by_status'].items())}",
    ]
    for name in RULES:
        rule = figures["rules"][name]
        lines.append(f"  [{'PASS' if rule['ok'] else 'FAIL'}] {name}")
        lines.extend(f"         broken by: {case}" for case in rule["broken_by"])
    lines.append(f"  soak {'PASSED' if figures['passed'] else 'FAILED'}")
    return lines
