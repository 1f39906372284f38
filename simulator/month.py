"""The month simulation: the real system (simulator.harness) driven by a household and Cloud Scheduler's jobs.

Discrete events on the virtual clock: the clock jumps straight to the next thing that happens —
a household event (leave, park, plug in, ask for an early departure) or a scheduler job falling
due. The three static jobs the deploy creates are registered in the embedded scheduler with the
production crons (scout every 15 minutes, the daily check at 23:00 and the failsafe cycle at
00:00 local time), so they, the worker's one-shot jobs and their retries all fire at their
minute through in-process HTTP. Every call is metered (simulator/metering.py).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from shared.adapters import factory
from shared.adapters.local.embedded_scheduler import EmbeddedScheduler, FireResult
from shared.clock import ManualClock
from shared.domain.prices import PriceInterval
from shared.log import configure_logging
from shared.ports import HttpJob
from shared.prices.factory import build_price_source, owner_price
from shared.scout import runtime as scout_runtime
from shared.settings import load_settings
from simulator import price_data
from simulator.energy import PlugSession
from simulator.harness import API_TOKEN, TESLA_HOST, WORKER_HOST, System, build_system, simulation_env
from simulator.household import HouseholdEvent, halfway, household_events, places
from simulator.metering import LogMeter, MeteredScheduler, MeteredSecrets, MeteredStore, RequestMeter
from simulator.scenario import Scenario

if TYPE_CHECKING:
    from simulator.soak import Soak

SCOUT_HOST = "scout.local"
SESSIONS = "special_charging_sessions"
FINISHED = ("COMPLETED", "FAILED", "CANCELLED")
MIN_SOC = 3.0  # a trip never drains the simulated battery below this
PLUGGED_IN = "plugged in at home"  # the timeline recognises plug events by this sentence


class Observer(Protocol):
    """Watches a run (the demo's timeline); the loop calls every method."""

    def next_sample(self, now: datetime) -> datetime | None:
        """An extra instant the loop should stop at (e.g. to sample the battery), or None."""
        ...

    def household(self, run: SimulationRun, event: HouseholdEvent, note: str) -> None:
        """The household just did `event` (note: a sentence for the timeline)."""
        ...

    def after_step(self, run: SimulationRun, fired: list[FireResult]) -> None:
        """One step of the loop ran; `fired` are the scheduler jobs it fired."""
        ...


@dataclass
class NeedOutcome:
    """A special need and whether the car had the charge it asked for when it left."""

    need_id: str
    day: int
    departure: datetime
    target_soc: int
    soc_at_departure: float | None = None
    met: bool | None = None
    session_id: str | None = None
    session_status: str | None = None
    explanation: str = ""


@dataclass
class LimitOutcome:
    """A session that changed the charge limit, and the limit the car had once the session closed."""

    session_id: str
    status: str
    original_charge_limit: int | None
    owner_limit: int
    limit_after_close: int
    restored: bool | None  # None: still open when the simulation ended, its cleanup due later


@dataclass
class SimulationRun:
    """Everything a report needs, gathered while the system ran."""

    scenario: Scenario
    seed: int
    days: int
    start: datetime
    end: datetime
    system: System
    meter: RequestMeter
    store: MeteredStore
    secrets: MeteredSecrets
    jobs: MeteredScheduler
    log_meter: LogMeter | None
    prices: list[PriceInterval]  # what the owner pays per kWh: the prices the planner optimises, and costs are in
    plug_sessions: list[PlugSession] = field(default_factory=list)
    home_stays: list[PlugSession] = field(default_factory=list)  # parked at home, plugged in or not
    first_home_arrival: datetime | None = None
    needs: list[NeedOutcome] = field(default_factory=list)
    limits: dict[str, LimitOutcome] = field(default_factory=dict)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    events_applied: int = 0
    steps: int = 0
    wall_seconds: float = 0.0
    plugged_since: datetime | None = None
    home_since: datetime | None = None
    departures: list[tuple[datetime, str, float]] = field(default_factory=list)  # (when, where to, battery %)
    price_model: str = "as the source gives it"  # how `prices` were made from the energy price (reports)
    soak: dict[str, Any] | None = None  # the soak's figures and rules, when it was a soak (simulator/soak.py)

    def call_worker(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """A user's call to the worker (curl), through the metered in-process HTTP."""
        answer = self.system.http.request(
            method, f"http://{WORKER_HOST}{path}", json=body, headers={"Authorization": f"Bearer {API_TOKEN}"}
        )
        return answer.status_code, answer.json() if answer.content else {}

    def raw_sessions(self) -> list[dict[str, Any]]:
        """The session records, read past the meter (looking is not billed)."""
        return self.store.inner.list(SESSIONS)


def simulation_start(scenario: Scenario) -> datetime:
    """Local midnight of the scenario's first day."""
    return datetime.combine(scenario.start, datetime.min.time(), tzinfo=scenario.timezone)


def simulation_end(scenario: Scenario, days: int) -> datetime:
    """Local midnight after the last simulated day (a daylight-saving day is 23 or 25 hours)."""
    return datetime.combine(scenario.start + timedelta(days=days), datetime.min.time(), tzinfo=scenario.timezone)


def system_env(scenario: Scenario, state_dir: Path) -> dict[str, str]:
    """The worker's and scout's environment for this household (contract section 4)."""
    car = scenario.car
    env = simulation_env(
        state_dir,
        TIMEZONE=scenario.timezone.key,
        HOME_LATITUDE=str(scenario.home.latitude),
        HOME_LONGITUDE=str(scenario.home.longitude),
        BATTERY_CAPACITY_KWH=str(car.capacity_kwh),
        CHARGER_POWER_KW=str(car.charger_power_kw),
        CHARGING_EFFICIENCY=str(car.efficiency),
        OFFPEAK_OPERATOR="tauron",
        OFFPEAK_TARIFF="G12w",
    )
    prices = price_data.price_set(scenario.prices)
    if prices.feed:
        env.update(OFFPEAK_SOURCE="feed", OFFPEAK_API_URL=price_data.FEED_URL)
    if prices.distribution is not None:
        env.update(OFFPEAK_DISTRIBUTION=prices.distribution)
    env.update(scenario.env)
    return env


def static_jobs(scenario: Scenario) -> list[HttpJob]:
    """The three jobs deploy/scheduler.sh creates, pointed at the in-process hosts."""
    zone = scenario.timezone.key
    worker = f"http://{WORKER_HOST}"
    return [
        HttpJob("tesla-scout-every-15-min", "*/15 * * * *", "Etc/UTC", f"http://{SCOUT_HOST}/", {}),
        HttpJob("tesla-daily-special-charging-check", "0 23 * * *", zone, f"{worker}/daily-special-charging-check", {}),
        HttpJob("tesla-run-cycle-failsafe", "0 0 * * *", zone, f"{worker}/run-cycle", {}),
    ]


@contextmanager
def quiet_logs(meter: LogMeter | None) -> Iterator[None]:
    """Console JSON logs at WARNING; INFO lines still reach the byte counter when there is one."""
    configure_logging()
    root = logging.getLogger()
    saved_level = root.level
    ours = [h for h in root.handlers if getattr(h, "_tesla_offpeak", False)]
    saved = [(h, h.level) for h in ours]
    for handler in ours:
        handler.setLevel(logging.WARNING)
    root.setLevel(logging.INFO if meter else logging.WARNING)
    if meter:
        root.addHandler(meter)
    try:
        yield
    finally:
        if meter:
            root.removeHandler(meter)
        for handler, level in saved:
            handler.setLevel(level)
        root.setLevel(saved_level)


def run_simulation(
    scenario: Scenario,
    *,
    days: int,
    seed: int = 1,
    state_dir: Path | None = None,
    observer: Observer | None = None,
    meter_logs: bool = True,
    soak: Soak | None = None,
) -> SimulationRun:
    """Simulate `days` days of the household from local midnight of its start day; deterministic for a seed.

    With `soak`, random Tesla faults and weekly worker crashes shake the run, the scheduler runs on
    past the last cleanup, and `run.soak` holds the figures (simulator/soak.py).
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if soak is not None and observer is not None:
        raise ValueError("a soak is its own observer")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tesla-offpeak-sim-", dir=_scratch_root()) as scratch:
        folder = state_dir or Path(scratch) / "state"
        log_meter = LogMeter() if meter_logs else None
        with quiet_logs(log_meter):
            try:
                run = _build(scenario, days, seed, folder, log_meter)
                if soak is not None:
                    soak.install(run)
                _loop(run, household_events(scenario, days, seed), observer or soak)
                if soak is not None:
                    soak.drain(run, _observe_sessions)
                    run.soak = soak.figures(run)
                run.sessions = sorted(run.raw_sessions(), key=lambda s: s["session_id"])
            finally:
                scout_runtime.use_deps(None)
    run.wall_seconds = time.perf_counter() - began
    return run


def _scratch_root() -> str | None:
    """A RAM disk for the run's SQLite files when there is one: scratch state needs no fsync, and it is 2x faster."""
    shm = Path("/dev/shm")  # noqa: S108 -- TemporaryDirectory makes a private (0700), randomly named folder in it
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _build(scenario: Scenario, days: int, seed: int, folder: Path, log_meter: LogMeter | None) -> SimulationRun:
    start, end = simulation_start(scenario), simulation_end(scenario, days)
    # Energy prices for the feed (and costs): checked first, so a bad date fails fast.
    energy = price_data.prices_for(scenario.prices, start, end + timedelta(days=2), scenario.timezone)
    env = system_env(scenario, folder)
    settings = load_settings(env, component="worker")
    # Costs are counted in the price the worker's planner optimises, or the comparison would compare nothing.
    prices = price_data.owner_prices(energy, settings)
    # The meters need a clock before the system exists; they read the system's clock once it does.
    holder = _ClockProxy(ManualClock(start))
    meter = RequestMeter(holder)
    store = MeteredStore(factory.build_document_store(settings), holder, meter.note)
    secrets = MeteredSecrets(factory.build_secret_store(settings), holder, meter.note)
    car = scenario.car
    system = build_system(
        folder,
        start,
        env=env,
        vehicle={
            "latitude": scenario.home.latitude,
            "longitude": scenario.home.longitude,
            "battery_level": car.battery_level,
            "charge_limit": car.charge_limit,
            "plugged_in": car.plugged_in,
            "capacity_kwh": car.capacity_kwh,
            "charger_power_kw": car.charger_power_kw,
            "efficiency": car.efficiency,
            "asleep": True,
        },
        store=store,
        secrets=secrets,
    )
    holder.target = system.clock
    system.http.trust_env = False  # in-process hosts only: skip reading proxy settings on every request
    jobs = MeteredScheduler(system.scheduler, system.clock, meter.note)
    system.services.scheduler = jobs
    system.apps[WORKER_HOST] = meter.wrap("worker", system.apps[WORKER_HOST])
    system.apps[SCOUT_HOST] = meter.wrap("scout", system.scout.application)
    system.apps[TESLA_HOST] = meter.wrap_remote("tesla_api", system.apps[TESLA_HOST])
    if price_data.price_set(scenario.prices).feed:
        feed = price_data.feed_app(energy, system.clock, scenario.timezone)
        system.apps[price_data.FEED_HOST] = meter.wrap_remote("price_feed", feed)
        # The worker's price source must fetch the feed through the in-process HTTP, not the network.
        system.services.price_source_factory = lambda: build_price_source(settings, system.clock, session=system.http)
    for job in static_jobs(scenario):
        jobs.create(job)
    run = SimulationRun(scenario, seed, days, start, end, system, meter, store, secrets, jobs, log_meter, prices)
    run.plugged_since = start if car.plugged_in else None
    run.home_since = start  # the car starts parked at home
    if settings.offpeak_distribution is not None:
        run.price_model = owner_price(settings).describe()
    return run


class _ClockProxy:
    """A clock that reads another one (set once the system's ManualClock exists)."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def now(self) -> datetime:
        now: datetime = self.target.now()
        return now

    def sleep(self, seconds: float) -> None:
        self.target.sleep(seconds)


def _next_due(scheduler: EmbeddedScheduler) -> datetime | None:
    instants = [scheduler.next_run(job.name) for job in scheduler.list()]
    return min((i for i in instants if i is not None), default=None)


def _loop(run: SimulationRun, events: list[HouseholdEvent], observer: Observer | None) -> None:
    system, clock = run.system, run.system.clock
    index = idle = 0
    while True:
        now = clock.now()
        candidates = [run.end, _next_due(system.scheduler)]
        if index < len(events):
            candidates.append(events[index].at)
        if observer is not None:
            candidates.append(observer.next_sample(now))
        target = min(c for c in candidates if c is not None)
        if target >= run.end:
            if run.end > now:
                clock.set(run.end)
            break
        if target > now:
            clock.set(target)
        now = clock.now()
        applied = 0
        while index < len(events) and events[index].at <= now:
            note = _apply(run, events[index])
            if observer is not None:
                observer.household(run, events[index], note)
            index, applied = index + 1, applied + 1
        fired = system.run_scheduler()
        run.steps += 1
        if fired or applied:
            _observe_sessions(run)
        if observer is not None:
            observer.after_step(run, fired)
        idle = idle + 1 if target < now and not fired and not applied else 0
        if idle > 2:
            clock.advance(timedelta(seconds=1))  # something claims to be due but nothing fires: never spin
    _finish(run)


def _apply(run: SimulationRun, event: HouseholdEvent) -> str:
    """Do what the household does; returns a sentence for the timeline."""
    system, scenario = run.system, run.scenario
    sim, vin, now = system.sim, system.vin, system.clock.now()
    where = places(scenario)
    run.events_applied += 1
    if event.kind == "register_need":
        return _register_need(run, event)
    snapshot = sim.snapshot(vin)
    if event.kind == "depart":
        if run.plugged_since is not None:
            run.plug_sessions.append(PlugSession(run.plugged_since, now))
            run.plugged_since = None
        if run.home_since is not None:
            run.home_stays.append(PlugSession(run.home_since, now))
            run.home_since = None
        if event.need is not None:
            _departed(run, event, float(snapshot["battery_level"]))
        run.departures.append((now, event.place, float(snapshot["battery_level"])))
        sim.drive(vin)
        return f"leaves for {event.place} with {snapshot['battery_level']:.1f} %"
    if event.kind == "en_route":
        road = halfway(scenario, event.place)
        sim.move(vin, road.latitude, road.longitude)
        return "on the road"
    if event.kind == "arrive":
        used = event.km * scenario.car.consumption_kwh_per_km / scenario.car.capacity_kwh * 100
        soc = max(MIN_SOC, float(snapshot["battery_level"]) - used)
        place = where[event.place]
        sim.park(vin, place.latitude, place.longitude, soc)
        if event.place == "home":
            run.home_since = now
            run.first_home_arrival = run.first_home_arrival or now
        return f"parks at {event.place} after {event.km:.0f} km, battery {soc:.1f} %"
    if event.kind == "plug":
        sim.plug(vin, True)
        run.plugged_since = now
        return PLUGGED_IN
    raise ValueError(f"unknown household event {event.kind}")


def _register_need(run: SimulationRun, event: HouseholdEvent) -> str:
    need = event.need
    assert need is not None
    scenario = run.scenario
    departure = datetime.combine(scenario.start + timedelta(days=need.day), need.departure, tzinfo=scenario.timezone)
    status, body = run.call_worker(
        "POST", "/special-charging-needs", {"target_soc": need.target_soc, "departure": departure.isoformat()}
    )
    need_id = (body.get("need") or {}).get("need_id") if status == 201 else None
    outcome = NeedOutcome(str(need_id or f"refused_{need.day}"), need.day, departure, need.target_soc)
    if status != 201:
        outcome.met, outcome.explanation = False, f"the worker refused the need: HTTP {status} {body.get('message')}"
    run.needs.append(outcome)
    return f"asks for {need.target_soc} % by {departure.strftime('%a %H:%M')} (POST /special-charging-needs → {status})"


def _departed(run: SimulationRun, event: HouseholdEvent, soc: float) -> None:
    outcome = next((n for n in run.needs if n.day == event.day and n.soc_at_departure is None), None)
    if outcome is None or outcome.explanation.startswith("the worker refused"):
        return
    outcome.soc_at_departure = round(soc, 2)
    outcome.met = soc + 1e-6 >= outcome.target_soc
    session = next((s for s in run.raw_sessions() if s.get("need_id") == outcome.need_id), None)
    if session is not None:
        outcome.session_id, outcome.session_status = session["session_id"], session.get("status")
    if outcome.met:
        return
    outcome.explanation = _why_not_met(run, session, soc)


def _why_not_met(run: SimulationRun, session: dict[str, Any] | None, soc: float) -> str:
    if session is None:
        return "no session was planned for the need"
    plan = session.get("plan") or {}
    if session.get("status") == "FAILED":
        return f"the session failed: {session.get('last_error') or 'see its history'}"
    if plan.get("feasible") is False:
        return f"the plan could not reach the target before the departure margin (planned {plan.get('energy_kwh')} kWh)"
    return f"left with {soc:.1f} %; session {session.get('status')}, plan feasible={plan.get('feasible')}"


def _observe_sessions(run: SimulationRun) -> None:
    """Right after a session closes, compare the car's limit with the one it had before the session."""
    owner_limit = run.scenario.car.charge_limit
    for session in run.raw_sessions():
        session_id = session["session_id"]
        if session_id in run.limits or session.get("status") not in FINISHED or not session.get("limit_changed"):
            continue
        limit = int(run.system.sim.snapshot(run.system.vin)["charge_limit"])
        original = session.get("original_charge_limit")
        run.limits[session_id] = LimitOutcome(
            session_id, session["status"], original, owner_limit, limit, restored=limit == original == owner_limit
        )


def _finish(run: SimulationRun) -> None:
    if run.plugged_since is not None:
        run.plug_sessions.append(PlugSession(run.plugged_since, run.end))
        run.plugged_since = None
    if run.home_since is not None:
        run.home_stays.append(PlugSession(run.home_since, run.end))
        run.home_since = None
    _observe_sessions(run)
    for session in run.raw_sessions():
        # Still open at the end: not restored — unless its cleanup is simply due after the period.
        if session["session_id"] not in run.limits and session.get("limit_changed"):
            limit = int(run.system.sim.snapshot(run.system.vin)["charge_limit"])
            cleanup_at = session.get("cleanup_at")
            later = isinstance(cleanup_at, str) and datetime.fromisoformat(cleanup_at) >= run.end
            run.limits[session["session_id"]] = LimitOutcome(
                session["session_id"],
                session.get("status", "?"),
                session.get("original_charge_limit"),
                run.scenario.car.charge_limit,
                limit,
                restored=None if later else False,
            )
    for need in run.needs:
        if need.met is None:
            need.explanation = "departs after the simulated period"
