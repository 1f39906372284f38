"""One night told as a timeline a person can follow: what the household did, what each service did, what Tesla saw.

`NightTimeline` is a month-simulation Observer: inside its window it records the household's
events, every scout tick that mattered, every worker request with what it answered, the jobs
created, fired and deleted, the Fleet API calls each step made, and the battery every few minutes
(for the chart). Quiet scout ticks are counted, not listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.adapters.local.embedded_scheduler import FireResult
from simulator.household import HouseholdEvent
from simulator.month import PLUGGED_IN, SimulationRun

SAMPLE_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Line:
    """One timeline entry: when, who (car, owner, scout, worker, scheduler), what."""

    at: datetime
    who: str
    text: str


@dataclass
class NightTimeline:
    """Records [start, end) of a run; `lines()` and the samples feed the demo's output and chart."""

    start: datetime
    end: datetime
    entries: list[Line] = field(default_factory=list)
    samples: list[tuple[datetime, float, int, str]] = field(default_factory=list)  # at, SoC, limit, charging_state
    plans: list[tuple[str, list[tuple[datetime, datetime]]]] = field(default_factory=list)
    job_fires: list[tuple[datetime, str]] = field(default_factory=list)
    quiet_ticks: int = 0
    _seen_invocations: int = 0
    _seen_changes: int = 0

    def inside(self, at: datetime) -> bool:
        """True inside the recorded window."""
        return self.start <= at < self.end

    # ---- Observer --------------------------------------------------------------------------

    def next_sample(self, now: datetime) -> datetime | None:
        """The next 5-minute sample instant (the window's start before it opens)."""
        if now < self.start:
            return self.start
        if now >= self.end:
            return None
        offset = (now - self.start) // SAMPLE_EVERY + 1
        return self.start + offset * SAMPLE_EVERY

    def household(self, run: SimulationRun, event: HouseholdEvent, note: str) -> None:
        """Note what the household did."""
        if self.inside(event.at) and event.kind != "en_route":
            self.entries.append(Line(event.at, "car" if event.kind != "register_need" else "owner", note))

    def after_step(self, run: SimulationRun, fired: list[FireResult]) -> None:
        """Note what the step's requests, jobs and the car did."""
        now = run.system.clock.now()
        run.meter.capture = True  # answers are kept for describing them (cheap: small JSON bodies)
        if not self.inside(now):
            self._seen_invocations = len(run.meter.invocations)
            self._seen_changes = len(run.jobs.changes)
            return
        snapshot = run.system.sim.snapshot(run.system.vin)
        self.samples.append(
            (now, float(snapshot["battery_level"]), int(snapshot["charge_limit"]), snapshot["charging_state"])
        )
        for result in fired:
            if result.name.startswith("special-"):
                self.job_fires.append((result.fired_at, result.name))
                self.entries.append(
                    Line(
                        result.fired_at,
                        "scheduler",
                        f"job {result.name} fires at its minute (scheduled {_hm(result.scheduled_time, run)}) "
                        f"→ HTTP {result.status}",
                    )
                )
        for call in run.meter.invocations[self._seen_invocations :]:
            self._describe(run, call)
        self._seen_invocations = len(run.meter.invocations)
        for at, kind, name in run.jobs.changes[self._seen_changes :]:
            if name.startswith("special-"):
                when = run.system.scheduler.next_run(name) if kind == "created" else None
                fires = f", fires {_hm(when, run)} ({_utc_cron(run, name)})" if when else ""
                self.entries.append(Line(at, "scheduler", f"job {kind}: {name}{fires}"))
        self._seen_changes = len(run.jobs.changes)

    # ---- describing ------------------------------------------------------------------------

    def _describe(self, run: SimulationRun, call: Any) -> None:
        before = len(self.entries)
        self._describe_call(run, call)
        if call.service != "scout" and call.tesla_billable and len(self.entries) > before:
            last = self.entries[-1]
            self.entries[-1] = Line(last.at, last.who, f"{last.text}  [Fleet API: {', '.join(call.tesla_billable)}]")

    def _describe_call(self, run: SimulationRun, call: Any) -> None:
        body = call.body if isinstance(call.body, dict) else {}
        at = call.started
        billed = f"  [Fleet API: {', '.join(call.tesla_billable)}]" if call.tesla_billable else ""
        if call.service == "scout":
            if body.get("worker_triggered") or body.get("reason") not in (None, "no_change") or billed:
                where = (
                    "at home"
                    if body.get("at_home")
                    else "away"
                    if body.get("at_home") is False
                    else "position not read"
                )
                distance = (
                    f", {body['distance_m']:.0f} m from home" if isinstance(body.get("distance_m"), int | float) else ""
                )
                trigger = " → calls the worker" if body.get("worker_triggered") else ""
                self.entries.append(
                    Line(
                        at,
                        "scout",
                        f"tick: car {body.get('vehicle_state')}, {where}{distance}: {body.get('reason')}{trigger}{billed}",
                    )
                )
            else:
                self.quiet_ticks += 1
            return
        path = call.path
        if path in ("/scout-trigger", "/run-cycle"):
            self.entries.append(Line(at, "worker", f"{path}: {self._cycle_text(body)}"))
            plan = body.get("plan") or {}
            if plan.get("windows") and not body.get("unchanged"):
                self.plans.append(("OFF PEAK cycle", _windows(plan)))
        elif path == "/daily-special-charging-check":
            created = body.get("sessions") or []
            if not created:
                self.entries.append(Line(at, "worker", f"{path}: nothing to plan"))
            for session in created:
                self.entries.append(
                    Line(
                        at,
                        "worker",
                        f"{path}: session {session['session_id']} planned: charge {_hm_text(session['charging_start'])}"
                        f"–{_hm_text(session['charging_end'])} to {session['target_soc']} %, send at "
                        f"{_hm_text(session['send_schedule_at'])}, clean up at {_hm_text(session['cleanup_at'])}, "
                        f"est. {session['estimated_cost']} PLN",
                    )
                )
                stored = next((s for s in run.raw_sessions() if s["session_id"] == session["session_id"]), {})
                self.plans.append((f"special {session['target_soc']} %", _windows(stored.get("plan") or {})))
        elif path == "/send-special-schedule":
            self.entries.append(
                Line(
                    at,
                    "worker",
                    f"{path}: charge limit {body.get('original_charge_limit')} → {body.get('target_soc')} %, "
                    f"schedule sent; session {body.get('session_status')}",
                )
            )
        elif path == "/cleanup-single-session":
            self.entries.append(
                Line(
                    at,
                    "worker",
                    f"{path}: charge limit restored to {body.get('restored_charge_limit')} %, our schedule removed; "
                    f"session {body.get('session_status')}",
                )
            )
        elif path == "/refresh-tokens":
            self.entries.append(Line(at, "worker", f"{path}: Tesla tokens refreshed (asked by the scout)"))
        elif path == "/special-charging-needs":
            need = body.get("need") or {}
            self.entries.append(Line(at, "worker", f"{path}: {need.get('need_id')} stored, waits for the daily check"))

    @staticmethod
    def _cycle_text(body: dict[str, Any]) -> str:
        plan = body.get("plan") or {}
        if body.get("skipped"):
            return f"skipped ({body.get('reason')})"
        if body.get("unchanged"):
            return "plan unchanged, nothing sent"
        if plan.get("windows"):
            spans = ", ".join(f"{_hm_text(w['start'])}–{_hm_text(w['end'])}" for w in plan["windows"])
            return (
                f"plans {spans} ({plan.get('energy_kwh')} kWh, est. {plan.get('estimated_cost')} "
                f"{plan.get('currency')}) and sends the schedule"
            )
        return str(body.get("reason") or body.get("status"))

    # ---- after the run ---------------------------------------------------------------------

    def finish(self, run: SimulationRun) -> None:
        """Add the charging stretches (from the car's log) to the timeline."""
        plugged = [e.at for e in self.entries if e.text == PLUGGED_IN]
        for start, end, kwh in run.system.sim.charge_log(run.system.vin):
            if self.inside(start):
                at_once = any(timedelta(0) <= start - at < timedelta(minutes=1) for at in plugged)
                why = " at once: no schedule of ours at home yet, so the car charges when plugged in" if at_once else ""
                self.entries.append(Line(start, "car", f"starts charging{why}"))
            if self.inside(end):
                soc = next((s[1] for s in self.samples if s[0] >= end), None)
                at_soc = f" at {soc:.1f} %" if soc is not None else ""
                self.entries.append(Line(end, "car", f"stops charging{at_soc} ({kwh:.1f} kWh from the grid)"))

    def lines(self, run: SimulationRun) -> list[str]:
        """The timeline as text, in time order, local times."""
        zone = run.scenario.timezone
        order = {"owner": 0, "car": 1, "scheduler": 2, "scout": 3, "worker": 4}
        out = []
        for line in sorted(self.entries, key=lambda e: (e.at, order.get(e.who, 9))):
            out.append(f"  {line.at.astimezone(zone).strftime('%a %H:%M:%S')}  {line.who:<9} {line.text}")
        out.append(f"  ({self.quiet_ticks} other scout ticks this night found nothing to do)")
        return out


def _windows(plan: dict[str, Any]) -> list[tuple[datetime, datetime]]:
    return [(datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"])) for w in plan.get("windows") or []]


def _hm(at: datetime | None, run: SimulationRun) -> str:
    return at.astimezone(run.scenario.timezone).strftime("%H:%M") if at else "?"


def _hm_text(iso: str | None) -> str:
    return datetime.fromisoformat(iso).strftime("%H:%M") if iso else "?"


def _utc_cron(run: SimulationRun, name: str) -> str:
    job = run.system.scheduler.get(name)
    return f"cron '{job.schedule}' {job.time_zone}" if job else "gone"
