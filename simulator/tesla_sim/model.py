"""The simulated Tesla account: vehicles, tokens, billing counters and faults, behind one lock.

The Fleet API semantics live here (the Flask app only maps HTTP to these methods), so tests and
the month simulation can drive the same object in-process. Time comes from the injected Clock;
every method first brings the touched car up to `clock.now()`.
"""

from __future__ import annotations

import threading
import zlib
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from shared.clock import Clock
from simulator.tesla_sim import shapes
from simulator.tesla_sim.account import Account, TokenRefused
from simulator.tesla_sim.commands import COMMANDS
from simulator.tesla_sim.faults import FaultBook
from simulator.tesla_sim.schedules import ScheduleError
from simulator.tesla_sim.vehicle import SimVehicle, Timing, VehicleSpec

# Tesla pay-per-use prices since 2025-02-01 (FACTS): data $1/500, commands $1/1,000, wakes $1/50.
PRICE_USD = {"data": 1 / 500, "commands": 1 / 1000, "wakes": 1 / 50}
BILLED_CATEGORIES = ("data", "commands", "wakes")
ASLEEP_ERROR = "vehicle unavailable: vehicle is offline or asleep"
SIGNED_COMMAND_ERROR = (
    "Tesla Vehicle Command Protocol required, please refer to the documentation here: "
    "https://developer.tesla.com/docs/fleet-api#2023-10-09-rest-api-vehicle-commands-endpoint-deprecation-warning"
)


class SimError(Exception):
    """An error answer of the simulated API; `body()` is Tesla's JSON for it."""

    def __init__(self, status: int, error: str, description: str = "", *, oauth: bool = False) -> None:
        super().__init__(error)
        self.status, self.error, self.description, self.oauth = status, error, description, oauth

    def body(self) -> dict[str, Any]:
        if self.oauth:
            return {"error": self.error, "error_description": self.description}
        return {"response": None, "error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class SimConfig:
    """Account-wide behaviour; defaults follow FACTS (8 h access tokens, ~15 min to sleep)."""

    access_token_ttl_s: int = 28800
    idle_sleep_s: float = 900.0
    wake_delay_s: float = 20.0
    schedule_radius_m: float = 250.0
    request_log_size: int = 10_000
    # The old refresh token works until the new pair is first used (design assumption, unconfirmed:
    # SECURITY.md); False kills it at the refresh itself.
    refresh_grace: bool = True


@dataclass(frozen=True)
class RequestRecord:
    """One answered request, as tests inspect it (`query` is the raw query string)."""

    at: datetime
    method: str
    path: str
    query: str
    status: int
    category: str | None
    via_proxy: bool


class TeslaSim:
    """A Tesla account with its cars, as the Fleet API, the token endpoint and the billing see it."""

    def __init__(
        self, clock: Clock, *, refresh_token: str, client_id: str | None = None, config: SimConfig | None = None
    ) -> None:
        self.clock = clock
        self.config = config or SimConfig()
        self.account = Account(
            refresh_token,
            client_id=client_id,
            access_ttl_s=self.config.access_token_ttl_s,
            grace=self.config.refresh_grace,
        )
        self.faults = FaultBook()
        self._timing = Timing(self.config.idle_sleep_s, self.config.wake_delay_s, self.config.schedule_radius_m)
        self._vehicles: dict[str, SimVehicle] = {}
        self._counters: Counter[str] = Counter()
        self._requests: deque[RequestRecord] = deque(maxlen=self.config.request_log_size)
        self._lock = threading.RLock()

    # ---- setup -------------------------------------------------------------------------------

    def add_vehicle(self, vin: str, **options: Any) -> None:
        """Add a car; options are VehicleSpec fields (battery_level, plugged_in, asleep, ...)."""
        spec = VehicleSpec(vin=vin, **options)
        with self._lock:
            if vin in self._vehicles:
                raise ValueError(f"vehicle {vin} already exists")
            vehicle_id = 1_000_000_000_000 + zlib.crc32(vin.encode())
            self._vehicles[vin] = SimVehicle.create(spec, vehicle_id, self._timing, self.clock.now())

    @property
    def vins(self) -> list[str]:
        with self._lock:
            return list(self._vehicles)

    # ---- the token endpoint and the Fleet API --------------------------------------------------

    def token(self, form: Mapping[str, str]) -> dict[str, Any]:
        """POST /oauth2/v3/token; SimError with the OAuth error body on failure."""
        with self._lock:
            try:
                return self.account.refresh(
                    form.get("grant_type", ""),
                    form.get("client_id", ""),
                    form.get("refresh_token", ""),
                    self.clock.now(),
                )
            except TokenRefused as refused:
                raise SimError(refused.status, refused.error, refused.description, oauth=True) from None

    def authenticate(self, bearer: str | None) -> None:
        """Every /api/1 call needs a valid, unexpired access token, else 401."""
        with self._lock:
            problem = self.account.access_problem(bearer, self.clock.now())
        if problem:
            raise SimError(401, problem)

    def list_vehicles(self) -> list[dict[str, Any]]:
        """GET /api/1/vehicles (does not wake the cars)."""
        with self._lock:
            return [shapes.vehicle_summary(self._advanced(vin)) for vin in self._vehicles]

    def vehicle(self, vin: str) -> dict[str, Any]:
        """GET /api/1/vehicles/{vin}: state without waking the car or touching its idle timer."""
        with self._lock:
            return shapes.vehicle_summary(self._advanced(vin))

    def vehicle_data(self, vin: str, endpoints: str | None) -> dict[str, Any]:
        """GET .../vehicle_data; 408 while the car sleeps; resets the idle timer (keeps the car awake)."""
        with self._lock:
            v = self._advanced(vin)
            if not v.reachable:
                raise SimError(408, ASLEEP_ERROR)
            now = self.clock.now()
            v.touch(now)
            wanted = frozenset(e for e in (endpoints or "").split(";") if e) or shapes.DEFAULT_ENDPOINTS
            return shapes.vehicle_data(v, now, wanted & shapes.KNOWN_ENDPOINTS)

    def wake_up(self, vin: str) -> dict[str, Any]:
        """POST .../wake_up: answers at once with the current state; the car comes online later."""
        with self._lock:
            v = self._advanced(vin)
            v.request_wake(self.clock.now())
            return shapes.vehicle_summary(v)

    def command(self, vin: str, name: str, body: Mapping[str, Any], *, via_proxy: bool) -> dict[str, Any]:
        """POST .../command/{name}: 403 unsigned on cars that need signing, 400 bad body, 408 asleep."""
        handler = COMMANDS.get(name)
        with self._lock:
            v = self._advanced(vin)
            if v.requires_signed_commands and not via_proxy:
                raise SimError(403, SIGNED_COMMAND_ERROR)
            if handler is None:
                raise SimError(400, "invalid_command")
            if not v.reachable:
                raise SimError(408, ASLEEP_ERROR)
            now = self.clock.now()
            v.touch(now)
            try:
                reason = handler(v, body, now)
            except ScheduleError as bad:
                raise SimError(400, str(bad)) from None
            return {"result": reason == "", "reason": reason}

    def record(self, method: str, path: str, query: str, status: int, category: str | None, via_proxy: bool) -> None:
        """Log an answered request and bill it: every answer below 500 counts (FACTS), 401s excepted."""
        with self._lock:
            self._requests.append(RequestRecord(self.clock.now(), method, path, query, status, category, via_proxy))
            if category is None:
                return
            if status == 401:
                self._counters["unauthorized"] += 1  # no valid token: nothing to bill it to
            elif status < 500:
                self._counters[category] += 1

    # ---- control (tests, the month simulation, /sim/... over HTTP) ----------------------------

    def move(self, vin: str, latitude: float, longitude: float) -> None:
        """Put the car somewhere (parked)."""
        with self._lock:
            v = self._advanced(vin)
            v.latitude, v.longitude = float(latitude), float(longitude)

    def drive(self, vin: str) -> None:
        """Start driving: unplugged, awake, not charging."""
        with self._lock:
            v = self._advanced(vin)
            v.driving, v.plugged_in, v.manual_charge, v.blocked_until = True, False, False, None
            v.wake_now(self.clock.now())

    def park(
        self,
        vin: str,
        latitude: float | None = None,
        longitude: float | None = None,
        battery_level: float | None = None,
    ) -> None:
        """Stop driving, optionally at a new place and with the battery the trip left."""
        with self._lock:
            v = self._advanced(vin)
            v.driving = False
            if latitude is not None and longitude is not None:
                v.latitude, v.longitude = float(latitude), float(longitude)
            if battery_level is not None:
                v.soc = float(battery_level)
            v.wake_now(self.clock.now())

    def plug(self, vin: str, plugged: bool = True) -> None:
        """Plug the cable in (or out); both wake the car, as a real one wakes."""
        with self._lock:
            v = self._advanced(vin)
            v.plugged_in = bool(plugged)
            if not plugged:
                v.manual_charge, v.blocked_until = False, None
            v.wake_now(self.clock.now())

    def set_soc(self, vin: str, percent: float) -> None:
        """Set the battery level (%)."""
        with self._lock:
            self._advanced(vin).soc = float(percent)

    def set_limit(self, vin: str, percent: int) -> None:
        """Set the charge limit as the owner would in the car (no command, not billed)."""
        with self._lock:
            self._advanced(vin).charge_limit = int(percent)

    def force_sleep(self, vin: str) -> None:
        """Send the car to sleep now (it wakes by itself if a schedule makes it charge)."""
        with self._lock:
            v = self._advanced(vin)
            v.asleep, v.wake_at, v.driving = True, None, False

    def set_offline(self, vin: str, offline: bool = True) -> None:
        """No connectivity: state `offline`, 408 for data and commands, wake_up does nothing."""
        with self._lock:
            self._advanced(vin).offline = bool(offline)

    def set_stay_asleep(self, vin: str, stay: bool = True) -> None:
        """The car ignores wake_up (fault: it stays asleep)."""
        with self._lock:
            self._advanced(vin).stay_asleep = bool(stay)

    def set_requires_signed_commands(self, vin: str, required: bool = True) -> None:
        """Direct commands answer 403; only the proxy path (/proxy) works."""
        with self._lock:
            self._advanced(vin).requires_signed_commands = bool(required)

    def snapshot(self, vin: str) -> dict[str, Any]:
        """The car's full state as JSON-ready data (times ISO 8601)."""
        with self._lock:
            v = self._advanced(vin)
            now = self.clock.now()
            return {
                "vin": vin,
                "now": now.isoformat(),
                "state": v.state,
                "battery_level": round(v.soc, 4),
                "charge_limit": v.charge_limit,
                "plugged_in": v.plugged_in,
                "charging_state": v.charging_state(now),
                "latitude": v.latitude,
                "longitude": v.longitude,
                "driving": v.driving,
                "offline": v.offline,
                "stay_asleep": v.stay_asleep,
                "wake_pending": v.wake_at is not None,
                "requires_signed_commands": v.requires_signed_commands,
                "last_activity": v.last_activity.isoformat(),
                "schedules": [
                    {**s.to_tesla(), "expires_at": s.expires_at.isoformat() if s.expires_at else None}
                    for s in sorted(v.schedules.values(), key=lambda s: s.id)
                ],
                "grid_kwh": round(v.grid_kwh, 4),
                "battery_kwh_added": round(v.battery_kwh_added, 4),
                "charge_log": [
                    {"start": c.start.isoformat(), "end": c.end.isoformat(), "grid_kwh": round(c.grid_kwh, 4)}
                    for c in v.charge_log
                ],
            }

    def charge_log(self, vin: str) -> list[tuple[datetime, datetime, float]]:
        """(start, end, grid kWh) of every charging stretch so far, constant power within each."""
        with self._lock:
            return [(c.start, c.end, c.grid_kwh) for c in self._advanced(vin).charge_log]

    def counters(self) -> dict[str, int]:
        """Billing categories (data, commands, wakes), free state calls, token refreshes, 401s."""
        with self._lock:
            counts = {k: self._counters[k] for k in (*BILLED_CATEGORIES, "state_calls", "unauthorized")}
            counts["token_refreshes"] = self.account.refreshes
            counts["rejected_refreshes"] = self.account.rejected_refreshes
            counts["superseded_refreshes"] = self.account.superseded_pairs
            return counts

    def cost_usd(self) -> float:
        """What Tesla would bill for the counted calls, before the monthly $10 discount."""
        counts = self.counters()
        return sum(counts[k] * PRICE_USD[k] for k in BILLED_CATEGORIES)

    def requests(self) -> list[RequestRecord]:
        """The answered requests, oldest first (bounded by config.request_log_size)."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Zero the counters, forget the request log and disarm every fault (the cars stay as they are)."""
        with self._lock:
            self._counters.clear()
            self._requests.clear()
            self.account.refreshes = self.account.rejected_refreshes = self.account.superseded_pairs = 0
            self.faults.clear()

    def expire_access_tokens(self) -> None:
        with self._lock:
            self.account.expire_access_tokens()

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            self.account.revoke_refresh_tokens()

    def issue_refresh_token(self) -> str:
        """A fresh refresh token, as if the owner authorised the app again."""
        with self._lock:
            return self.account.issue_refresh_token()

    def _advanced(self, vin: str) -> SimVehicle:
        v = self._vehicles.get(vin)
        if v is None:
            raise SimError(404, "not_found", f"no vehicle {vin} on this account")
        v.advance(self.clock.now())
        return v

    def to_json(self) -> dict[str, Any]:
        """Everything the control API shows: config, counters and every car."""
        with self._lock:
            return {
                "now": self.clock.now().isoformat(),
                "config": asdict(self.config),
                "counters": self.counters(),
                "cost_usd": round(self.cost_usd(), 4),
                "vehicles": {vin: self.snapshot(vin) for vin in self._vehicles},
            }
