"""One simulated car: battery, charging by schedule, sleep and wake, integrated lazily in real time.

`advance(now)` replays what happened since the last call: charging inside the allowed intervals
(exactly, not per tick: power is constant, so the moment the limit is reached is computed), waking
when a pending wake_up completes, falling asleep after the idle period. Intervals are instants in
UTC, so a daylight-saving night lasts as long as it really does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from simulator.tesla_sim.schedules import ChargeSchedule, first_window_end, windows

EARTH_RADIUS_M = 6_371_008.8
TINY = timedelta(microseconds=1)


@dataclass
class VehicleSpec:
    """How a car starts and what it is; every field can be given to TeslaSim.add_vehicle."""

    vin: str
    latitude: float = 52.2297
    longitude: float = 21.0122
    battery_level: float = 50.0
    charge_limit: int = 80
    capacity_kwh: float = 75.0
    charger_power_kw: float = 11.0
    efficiency: float = 0.9
    plugged_in: bool = False
    asleep: bool = True
    time_zone: str = "Europe/Warsaw"
    display_name: str = "Simulated Tesla"
    # What kind of car it is (presets.py names the usual kinds); the defaults are today's car:
    # unsigned REST commands refused, the app's key paired, firmware new enough for charge schedules.
    preset: str = "modern"
    requires_signed_commands: bool = True
    key_paired: bool = True
    firmware_version: str = "2024.44.25"
    unsigned_command_reply: str = "forbidden"  # or "hardlocked": 200 with reason unsigned_cmds_hardlocked


# Tesla does not document whether a car with schedules for some days charges at once on the days
# they do not cover (FACTS: Tessie says "on days without a schedule, the vehicle is free to charge
# anytime"). The simulator plays both readings, so the system is tested right under either:
EVERY_DAY = "every_day"  # any schedule at this place restricts charging to schedule windows, every day
COVERED_DAYS = "covered_days"  # a local day no schedule here covers is free: charging starts on plug-in
SCHEDULE_READINGS = (EVERY_DAY, COVERED_DAYS)


@dataclass(frozen=True)
class Timing:
    """The car's clocks: idle time before sleep, wake_up delay, how near a schedule's place it must be,
    and which reading of schedules it follows (EVERY_DAY or COVERED_DAYS)."""

    idle_sleep_s: float = 900.0
    wake_delay_s: float = 20.0
    schedule_radius_m: float = 250.0
    schedule_reading: str = EVERY_DAY


@dataclass
class ChargeSegment:
    """A stretch of charging at constant power; grid_kwh is what the wall delivered."""

    start: datetime
    end: datetime
    grid_kwh: float
    # False: charging nobody planned (no schedule at this place, a day none covers, charge_start).
    scheduled: bool = True


@dataclass
class SimVehicle:
    """Mutable state of one car; call advance(now) before reading or changing it."""

    spec: VehicleSpec
    vehicle_id: int
    timing: Timing
    updated_at: datetime
    soc: float = 0.0
    charge_limit: int = 80
    plugged_in: bool = False
    latitude: float = 0.0
    longitude: float = 0.0
    asleep: bool = True
    driving: bool = False
    offline: bool = False
    stay_asleep: bool = False
    requires_signed_commands: bool = False
    wake_at: datetime | None = None
    last_activity: datetime = field(default_factory=lambda: datetime.min)
    manual_charge: bool = False
    blocked_until: datetime | None = None
    schedules: dict[int, ChargeSchedule] = field(default_factory=dict)
    charge_log: list[ChargeSegment] = field(default_factory=list)
    grid_kwh: float = 0.0
    battery_kwh_added: float = 0.0

    @classmethod
    def create(cls, spec: VehicleSpec, vehicle_id: int, timing: Timing, now: datetime) -> SimVehicle:
        """A car as the spec describes it, at `now`."""
        return cls(
            spec=spec,
            vehicle_id=vehicle_id,
            timing=timing,
            updated_at=now,
            soc=float(spec.battery_level),
            charge_limit=spec.charge_limit,
            plugged_in=spec.plugged_in,
            latitude=spec.latitude,
            longitude=spec.longitude,
            asleep=spec.asleep,
            requires_signed_commands=spec.requires_signed_commands,
            last_activity=now,
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.spec.time_zone)

    @property
    def state(self) -> str:
        """What GET /api/1/vehicles/{vin} reports."""
        if self.offline:
            return "offline"
        return "asleep" if self.asleep else "online"

    @property
    def reachable(self) -> bool:
        """Online and connected: data calls and commands reach it (else Tesla answers 408)."""
        return not self.offline and not self.asleep

    def advance(self, now: datetime) -> None:
        """Replay charging, waking and sleeping from updated_at up to now."""
        while self.updated_at < now:
            expiry = self._next_one_time_expiry(self.updated_at, now)
            until = expiry or now
            for opens, closes in self.charge_intervals(self.updated_at, until):
                self._idle_until(opens)
                for a, b, scheduled in self._tagged(opens, closes):
                    self._charge(a, b, scheduled)
            self._idle_until(until)
            self.updated_at = until
            self.schedules = {k: s for k, s in self.schedules.items() if s.expires_at is None or s.expires_at > until}

    def charging_at(self, now: datetime) -> bool:
        """True when the car is drawing power at this instant (call after advance(now))."""
        return self.soc < self.charge_limit and bool(self.charge_intervals(now, now + TINY))

    def charging_state(self, now: datetime) -> str:
        """Tesla's charging_state: Disconnected, Stopped, Charging or Complete."""
        if not self.plugged_in:
            return "Disconnected"
        if self.charging_at(now):
            return "Charging"
        return "Complete" if self.soc >= self.charge_limit else "Stopped"

    def charge_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Sorted, disjoint stretches of [start, end) in which the car would charge if below its limit.

        With no enabled schedule for this place the car charges as soon as it is plugged in (Tesla's
        default); otherwise only inside a schedule's window; charge_start overrides, charge_stop
        pauses until the current window ends.
        """
        if not self.plugged_in or self.driving or start >= end:
            return []
        if self.manual_charge:
            return [(start, end)]
        here = self.schedules_here()
        if not here:
            spans = [(start, end)]
        else:
            spans = [(max(a, start), min(b, end)) for s in here for a, b in windows(s, start, end, self.tz)]
            if self.timing.schedule_reading == COVERED_DAYS:
                spans += self._uncovered_days(here, start, end)
            spans = _merge(spans)
        if self.blocked_until is not None:
            spans = [(max(a, self.blocked_until), b) for a, b in spans if b > self.blocked_until]
        return spans

    def _tagged(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime, bool]]:
        """[start, end) cut into pieces inside a schedule window here (True) and outside any (False)."""
        here = [] if self.manual_charge else self.schedules_here()
        inside = _merge([(max(a, start), min(b, end)) for s in here for a, b in windows(s, start, end, self.tz)])
        pieces, cursor = [], start
        for a, b in inside:
            if a > cursor:
                pieces.append((cursor, a, False))
            pieces.append((a, b, True))
            cursor = b
        if cursor < end:
            pieces.append((cursor, end, False))
        return pieces

    def _uncovered_days(
        self, here: list[ChargeSchedule], start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        """Whole local days in [start, end) that no schedule here covers (free charging, COVERED_DAYS)."""
        free = []
        day = start.astimezone(self.tz).date()
        while (opens := _midnight(day, self.tz)) < end:
            closes = _midnight(day + timedelta(days=1), self.tz)
            if not any(s.applies_on(day) for s in here) and closes > start:
                free.append((max(opens, start), min(closes, end)))
            day += timedelta(days=1)
        return free

    def schedules_here(self) -> list[ChargeSchedule]:
        """Enabled schedules set for (near) the car's current position: Tesla schedules are per place."""
        return [
            s
            for s in self.schedules.values()
            if s.enabled
            and _distance_m(self.latitude, self.longitude, s.latitude, s.longitude) <= self.timing.schedule_radius_m
        ]

    def add_schedule(self, schedule: ChargeSchedule, now: datetime) -> None:
        """Store (or replace by id) a schedule; a one-time schedule lives until its first window ends."""
        if schedule.one_time:
            expires = first_window_end(schedule, now, self.tz) or now
            schedule = replace(schedule, expires_at=expires)
        self.schedules[schedule.id] = schedule

    def touch(self, now: datetime) -> None:
        """A data call or command reached the car: restart its idle timer."""
        self.last_activity = max(self.last_activity, now)

    def request_wake(self, now: datetime) -> None:
        """wake_up: a sleeping car comes online after the wake delay, unless it ignores wakes."""
        if self.offline or self.stay_asleep:
            return
        if not self.asleep:
            self.touch(now)
        elif self.wake_at is None:
            self.wake_at = now + timedelta(seconds=self.timing.wake_delay_s)

    def wake_now(self, now: datetime) -> None:
        """Something physical woke the car (plugging in, opening a door, driving)."""
        self.asleep = False
        self.wake_at = None
        self.touch(now)

    def _idle_until(self, until: datetime) -> None:
        if self.wake_at is not None and self.wake_at <= until:
            self.asleep = False
            self.touch(self.wake_at)
            self.wake_at = None
        if not self.asleep and not self.driving:
            sleep_at = self.last_activity + timedelta(seconds=self.timing.idle_sleep_s)
            if sleep_at <= until:
                self.asleep = True

    def _charge(self, opens: datetime, closes: datetime, scheduled: bool = True) -> None:
        if self.soc >= self.charge_limit:
            self.manual_charge = False
            return
        self.wake_now(opens)  # a car starting to charge wakes itself; no wake_up is billed
        battery_kw = self.spec.charger_power_kw * self.spec.efficiency
        hours_to_full = (self.charge_limit - self.soc) / 100 * self.spec.capacity_kwh / battery_kw
        full_at = opens + timedelta(hours=hours_to_full)
        end = min(closes, full_at)
        hours = (end - opens).total_seconds() / 3600
        if full_at <= closes:
            self.soc = float(self.charge_limit)
            self.manual_charge = False
        else:
            self.soc += battery_kw * hours / self.spec.capacity_kwh * 100
        self._log_segment(opens, end, self.spec.charger_power_kw * hours, scheduled)
        self.battery_kwh_added += battery_kw * hours
        self.touch(end)  # charging keeps the car awake

    def _log_segment(self, start: datetime, end: datetime, grid_kwh: float, scheduled: bool) -> None:
        self.grid_kwh += grid_kwh
        last = self.charge_log[-1] if self.charge_log else None
        if last is not None and last.end == start and last.scheduled == scheduled:
            last.end, last.grid_kwh = end, last.grid_kwh + grid_kwh
        elif end > start:
            self.charge_log.append(ChargeSegment(start, end, grid_kwh, scheduled))

    def _next_one_time_expiry(self, start: datetime, end: datetime) -> datetime | None:
        ends = [
            s.expires_at for s in self.schedules.values() if s.expires_at is not None and start < s.expires_at < end
        ]
        return min(ends) if ends else None


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def _merge(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance; the simulator keeps its own so it never shares a bug with the code it tests."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
