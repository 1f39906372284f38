"""The simulated Tesla account: vehicles, tokens, billing counters and faults, behind one lock.

The Fleet API semantics live here (the Flask app only maps HTTP to these methods), so tests and
the month simulation can drive the same object in-process. Time comes from the injected Clock;
every method first brings the touched car up to `clock.now()`.

Cars are today's by default (presets.py): unsigned REST commands answer 403; commands go through
`signed_command` (the car's protocol side, car_protocol.py) or Tesla's proxy path (command_routes.py).
The app's public key is enrolled with `register_app_key` on every car whose spec says paired.
"""

from __future__ import annotations

import threading
import zlib
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from shared.clock import Clock
from simulator.tesla_sim import command_routes, regions, shapes
from simulator.tesla_sim.access_tokens import jwt_claims
from simulator.tesla_sim.account import Account, TokenRefused
from simulator.tesla_sim.car_protocol import CarProtocol, encode_public, is_handshake
from simulator.tesla_sim.errors import (
    ASLEEP_ERROR,
    PROXY_MALFORMED_TOKEN,
    PROXY_NO_TOKEN,
    SIGNED_COMMAND_ERROR,
    SimError,
)
from simulator.tesla_sim.faults import FaultBook
from simulator.tesla_sim.fleet_status import CarKeyStatus, fleet_status
from simulator.tesla_sim.presets import encrypts_responses, vehicle_spec
from simulator.tesla_sim.scopes import DEFAULT_SCOPES, missing_scope_error
from simulator.tesla_sim.vehicle import SCHEDULE_READINGS, SimVehicle, Timing

__all__ = ["ASLEEP_ERROR", "PRICE_USD", "SIGNED_COMMAND_ERROR", "RequestRecord", "SimConfig", "SimError", "TeslaSim"]

# Tesla pay-per-use prices since 2025-02-01 (FACTS): data $1/500, commands $1/1,000, wakes $1/50.
PRICE_USD = {"data": 1 / 500, "commands": 1 / 1000, "wakes": 1 / 50}
BILLED_CATEGORIES = ("data", "commands", "wakes")
# Counted but not billed: free state calls, users/region calls, 401s, handshakes (also in "commands").
FREE_COUNTS = ("state_calls", "region_calls", "unauthorized", "handshakes")


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
    # "jwt" (Tesla's: claims carry scp, exp, sub, aud, iss) or "opaque" strings.
    access_token_format: str = "jwt"
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    # Tesla's 2024-02-01 notice (unconfirmed, FACTS): a refresh also kills every older access token.
    refresh_invalidates_access_tokens: bool = False
    # The account's region and the region this server is; when they differ, /api/1 answers 421.
    account_region: str = "eu"
    served_region: str = "eu"
    # Which undocumented reading of charge schedules the cars follow (vehicle.py): "every_day" or
    # "covered_days" (a day no schedule covers charges at once on plug-in).
    schedule_reading: str = "every_day"


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
    # The command a signed_command carried (None for handshakes, REST commands and other calls).
    signed_command: str | None = None

    @property
    def command(self) -> str | None:
        """The command this request sent, however it was sent (REST path or signed action)."""
        if "/command/" in self.path:
            return self.path.rsplit("/", 1)[-1]
        return self.signed_command


class TeslaSim:
    """A Tesla account with its cars, as the Fleet API, the token endpoint and the billing see it."""

    def __init__(
        self, clock: Clock, *, refresh_token: str, client_id: str | None = None, config: SimConfig | None = None
    ) -> None:
        self.clock = clock
        self.config = config or SimConfig()
        self.account_region = regions.checked(self.config.account_region)
        self.served_region = regions.checked(self.config.served_region)
        self.account = Account(
            refresh_token,
            client_id=client_id,
            access_ttl_s=self.config.access_token_ttl_s,
            grace=self.config.refresh_grace,
            access_format=self.config.access_token_format,
            scopes=self.config.scopes,
            refresh_kills_access_tokens=self.config.refresh_invalidates_access_tokens,
            region=self.account_region,
        )
        self.faults = FaultBook()
        if self.config.schedule_reading not in SCHEDULE_READINGS:
            raise ValueError(f"schedule_reading must be one of {', '.join(SCHEDULE_READINGS)}")
        self._timing = Timing(
            self.config.idle_sleep_s,
            self.config.wake_delay_s,
            self.config.schedule_radius_m,
            self.config.schedule_reading,
        )
        self._vehicles: dict[str, SimVehicle] = {}
        self._protocols: dict[str, CarProtocol] = {}
        self._app_key: bytes | None = None  # the app's public key, uncompressed point
        self._paired: set[str] = set()  # VINs where the owner paired the app's key
        self._counters: Counter[str] = Counter()
        self._requests: deque[RequestRecord] = deque(maxlen=self.config.request_log_size)
        self._lock = threading.RLock()

    # ---- setup -------------------------------------------------------------------------------

    def add_vehicle(self, vin: str, **options: Any) -> None:
        """Add a car; options are VehicleSpec fields (preset, battery_level, plugged_in, asleep, ...)."""
        spec = vehicle_spec(vin, **options)
        with self._lock:
            if vin in self._vehicles:
                raise ValueError(f"vehicle {vin} already exists")
            now = self.clock.now()
            vehicle_id = 1_000_000_000_000 + zlib.crc32(vin.encode())
            self._vehicles[vin] = SimVehicle.create(spec, vehicle_id, self._timing, now)
            protocol = CarProtocol(vin, now, encrypts_responses=encrypts_responses(spec.firmware_version))
            self._protocols[vin] = protocol
            if spec.key_paired:
                self._paired.add(vin)
                if self._app_key is not None:
                    protocol.enrolled.add(self._app_key)

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

    def authorize(
        self,
        bearer: str | None,
        endpoint: str,
        *,
        data_endpoints: str | None = None,
        command: str | None = None,
        via_proxy: bool = False,
    ) -> None:
        """The gate of every /api/1 call: proxy token shape (403), token (401), region (421), scopes (403)."""
        if via_proxy and jwt_claims(bearer) is None:
            # Tesla's proxy reads the region from the JWT before anything else (pkg/account/account.go).
            raise SimError(403, PROXY_NO_TOKEN if bearer is None else PROXY_MALFORMED_TOKEN, billed=False)
        self.authenticate(bearer)
        with self._lock:
            # The proxy finds the account's region in the token, so only direct calls can be misdirected.
            if not via_proxy and endpoint != "user_region" and self.account_region != self.served_region:
                raise SimError(
                    421,
                    regions.out_of_region_error(self.account_region),
                    headers={"Alt-Svc": regions.alt_svc(self.account_region)},
                )
            granted = self.account.scopes_of(bearer)
        missing = missing_scope_error(endpoint, granted, data_endpoints=data_endpoints, command=command)
        if missing:
            raise SimError(403, missing)

    def user_region(self) -> dict[str, Any]:
        """GET /api/1/users/region: the account's region and base URL, from any region's server."""
        with self._lock:
            return regions.region_answer(self.account_region)

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
        """POST .../command/{name}, unsigned (REST) or through Tesla's proxy (signed for the owner)."""
        with self._lock:
            v = self._advanced(vin)
            now = self.clock.now()
            if via_proxy:
                return command_routes.proxy_command(v, name, body, now, key_paired=vin in self._paired)
            return command_routes.rest_command(v, name, body, now)

    def signed_command(self, vin: str, routable_message: Any) -> str:
        """POST .../signed_command: the car's base64 RoutableMessage answer; 400 bad message, 408 asleep."""
        request = command_routes.decode_signed(routable_message)
        with self._lock:
            v = self._advanced(vin)
            if is_handshake(request):
                self._counters["handshakes"] += 1
            return command_routes.signed_command(v, self._protocols[vin], request, self.clock.now())

    def fleet_status(self, vins: Iterable[str]) -> dict[str, Any]:
        """POST /api/1/vehicles/fleet_status: key pairing and firmware of the account's cars asked for."""
        with self._lock:
            cars = [
                CarKeyStatus(
                    vin=vin,
                    key_paired=vin in self._paired,
                    firmware_version=self._vehicles[vin].spec.firmware_version,
                    command_protocol_required=self._vehicles[vin].requires_signed_commands,
                    enrolled_keys=len(self._protocols[vin].enrolled),
                    legacy_model_s=self._vehicles[vin].spec.preset == "legacy_model_s",
                )
                for vin in dict.fromkeys(vins)
                if vin in self._vehicles
            ]
            return fleet_status(cars)

    def record(
        self,
        method: str,
        path: str,
        query: str,
        status: int,
        category: str | None,
        via_proxy: bool,
        billed: bool | None = None,
        signed_command: str | None = None,
    ) -> None:
        """Log an answered request and bill it: every answer below 500 counts (FACTS), 401s and 403s too."""
        # `billed` overrides the status rule: proxy answers that never reached Tesla, or hid a billed 408.
        with self._lock:
            self._requests.append(
                RequestRecord(self.clock.now(), method, path, query, status, category, via_proxy, signed_command)
            )
            if category is None:
                return
            if status == 401:
                self._counters["unauthorized"] += 1
            if (status < 500) if billed is None else billed:
                self._counters[category] += 1

    # ---- keys, regions and scopes ----------------------------------------------------------------

    def register_app_key(self, public_key_pem: bytes) -> None:
        """The app's public key (as hosted at /.well-known/appspecific/com.tesla.3p.public-key.pem): enrolled on paired cars."""
        key = load_pem_public_key(public_key_pem)
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("the app key must be an EC key on P-256 (prime256v1)")
        with self._lock:
            old, self._app_key = self._app_key, encode_public(key)
            for vin, protocol in self._protocols.items():
                protocol.enrolled.discard(old or b"")
                if vin in self._paired:
                    protocol.enrolled.add(self._app_key)

    def pair_key(self, vin: str) -> None:
        """The owner paired the app's key (tesla.com/_ak/<domain> in the Tesla app)."""
        with self._lock:
            self._advanced(vin)
            self._paired.add(vin)
            if self._app_key is not None:
                self._protocols[vin].enrolled.add(self._app_key)

    def unpair_key(self, vin: str) -> None:
        """The owner removed the app's key from the car."""
        with self._lock:
            self._advanced(vin)
            self._paired.discard(vin)
            if self._app_key is not None:
                self._protocols[vin].enrolled.discard(self._app_key)

    def restart_car(self, vin: str) -> None:
        """The car's computer rebooted: new epochs, so clients' cached sessions fail until they resync."""
        with self._lock:
            self._advanced(vin)
            self._protocols[vin].restart(self.clock.now())

    def set_regions(self, account_region: str | None = None, served_region: str | None = None) -> None:
        """Move the account, or pretend to be another region's server (421 while they differ)."""
        with self._lock:
            if account_region is not None:
                self.account_region = self.account.region = regions.checked(account_region)
            if served_region is not None:
                self.served_region = regions.checked(served_region)

    def set_scopes(self, scopes: Iterable[str]) -> None:
        """The scopes the owner grants from now on; tokens already issued keep theirs."""
        with self._lock:
            self.account.scopes = tuple(scopes)

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
                "preset": v.spec.preset,
                "firmware_version": v.spec.firmware_version,
                "key_paired": vin in self._paired,
                "unsigned_command_reply": v.spec.unsigned_command_reply,
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

    def unscheduled_charging(self, vin: str) -> list[tuple[datetime, datetime, float]]:
        """(start, end, grid kWh) of charging outside every schedule window (plug-in charging, charge_start)."""
        with self._lock:
            return [(c.start, c.end, c.grid_kwh) for c in self._advanced(vin).charge_log if not c.scheduled]

    def charge_log(self, vin: str) -> list[tuple[datetime, datetime, float]]:
        """(start, end, grid kWh) of every charging stretch so far, constant power within each."""
        with self._lock:
            return [(c.start, c.end, c.grid_kwh) for c in self._advanced(vin).charge_log]

    def protocol_faults(self, vin: str) -> dict[str, int]:
        """How often the car refused a signed message, by MessageFault name (replays, bad tags, expiry)."""
        with self._lock:
            return dict(self._protocols[vin].faults)

    def counters(self) -> dict[str, int]:
        """Billing categories (data, commands, wakes), free counts (state, region, 401s, handshakes), refreshes."""
        with self._lock:
            counts = {k: self._counters[k] for k in (*BILLED_CATEGORIES, *FREE_COUNTS)}
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
