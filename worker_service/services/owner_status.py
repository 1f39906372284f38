"""The owner's view of everything: `build_status` is the one source of `GET /status` (JSON) and the status page.

No Tesla call and no wake: the cars as the scout and the last readings left them, tonight's plan
with its price curve, needs, sessions, jobs, token and signing health, owner actions, recent events
and this month's usage — all from the store, the scheduler's list, the price source, the token
record and the token service's cached status.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from shared.domain import cron
from shared.domain import session as S
from shared.domain.token_record import NEVER, TokenRecord
from shared.errors import AppError, StoreUnavailable
from shared.log import get_logger
from shared.ports import DocumentStore, HttpJob, PriceSource
from shared.tesla.fleet_status import COLLECTION as FLEET_STATUS
from worker_service.services import usage
from worker_service.services.needs import PENDING, PLANNED
from worker_service.services.owner_actions import COLLECTION as OWNER_ACTIONS
from worker_service.services.session_store import NEEDS, SESSIONS
from worker_service.services.token_service import STATUS_COLLECTION, STATUS_ID
from worker_service.services.tonight import tonight_for
from worker_service.services.vehicle_readings import READINGS

if TYPE_CHECKING:
    from worker_service.container import Services

log = get_logger("WORKER")
SCOUT_STATE = "scout_state"
RECENT_SESSIONS = 10
EVENT_FIELDS = ("event", "session_id", "vin", "message", "remedy", "severity", "at")
PLUGGED_OUT = (None, "Disconnected")
TOKEN_TROUBLE = ("degraded", "reauth_required", "missing", "unreadable")
# A one-shot job's minute is found by looking forward from a little before now: a job whose minute
# just passed (Cloud Scheduler retrying it) still shows that minute, not next year's.
JOB_LOOKBACK = timedelta(days=2)


def build_status(s: Services) -> dict[str, Any]:
    """Everything the owner's page and command line show, as JSON types (datetimes ISO with the local offset)."""
    now = s.clock.now()
    tz = s.settings.timezone
    sessions = s.store.list(SESSIONS)
    problems: list[str] = []
    prices = _price_source(s, problems)
    vehicles = [_vehicle(s, vin, sessions, now, prices) for vin in s.settings.vins]
    tokens = _tokens(s)
    owner_actions = [_owner_action(a) for a in s.store.list(OWNER_ACTIONS)]
    jobs = _jobs(s, now, problems)
    degraded = tokens["state"] in TOKEN_TROUBLE or bool(owner_actions)
    month = usage.month_usage(s.store, now)
    month["gcp"]["dynamic_jobs_now"] = len(jobs)
    return {
        "status": "degraded" if degraded else "ok",
        "now": now.astimezone(tz).isoformat(),
        "timezone": tz.key,
        "vehicles": vehicles,
        "needs": _open_needs(s.store),
        "sessions": _sessions(sessions),
        "jobs": jobs,
        "tokens": tokens,
        "owner_actions": sorted(owner_actions, key=lambda a: str(a.get("first_seen") or "")),
        "events": recent_events(s.store),
        "usage": month,
        "problems": problems,
    }


def recent_events(store: DocumentStore, limit: int = 20) -> list[dict[str, Any]]:
    """The newest alert events, newest first, with only what the owner needs to see (no delivery details)."""
    from worker_service.services import alerts

    return [{k: e.get(k) for k in EVENT_FIELDS} for e in alerts.recent_events(store, limit)]


def _price_source(s: Services, problems: list[str]) -> PriceSource | None:
    """The configured price source, or None (said in `problems`) when it cannot be built."""
    try:
        return s.price_source()
    except AppError as error:
        log.warning(f"no price source for the status page: {error.code}")
        problems.append(f"prices unavailable: {error.message}")
        return None


def _vehicle(
    s: Services, vin: str, sessions: list[dict[str, Any]], now: datetime, prices: PriceSource | None
) -> dict[str, Any]:
    scout = s.store.get(SCOUT_STATE, vin) or {}
    reading = s.store.get(READINGS, vin)
    profile = s.store.get(FLEET_STATUS, vin) or {}
    charging_state = (reading or {}).get("charging_state")
    return {
        "vin": vin,
        "last_seen": scout.get("updated_at"),
        "vehicle_state": scout.get("vehicle_state"),
        "at_home": scout.get("at_home"),
        "distance_m": scout.get("distance_m"),
        "plugged_in": None if reading is None else charging_state not in PLUGGED_OUT,
        "charging_state": charging_state,
        "battery_level": (reading or {}).get("battery_level"),
        "charge_limit": (reading or {}).get("charge_limit_soc"),
        "reading_at": (reading or {}).get("read_at"),
        "signing": {
            "mode": s.settings.tesla_command_signing,
            "required": profile.get("protocol_required"),
            "key_paired": profile.get("key_paired"),
            "firmware_version": profile.get("firmware_version"),
            "checked_at": profile.get("checked_at"),
        },
        "tonight": tonight_for(s, vin, sessions, reading, now, prices),
    }


def _open_needs(store: DocumentStore) -> list[dict[str, Any]]:
    """Needs still ahead: waiting for the daily check (PENDING) or planned into a session (PLANNED)."""
    needs = [n for n in store.list(NEEDS) if n.get("status") in (PENDING, PLANNED)]
    return sorted(needs, key=lambda n: str(n.get("departure") or ""))


def _session_view(session: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in session.items() if k != "claim"}  # a run's lock is nobody's business


def _sessions(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    active = [_session_view(x) for x in sessions if x.get("status") == S.ACTIVE]
    scheduled = sorted(
        (x for x in sessions if x.get("status") == S.SCHEDULED),
        key=lambda x: str(x.get("charging_start") or x.get("departure") or ""),
    )
    recent = sorted(sessions, key=lambda x: str(x.get("departure") or ""), reverse=True)[:RECENT_SESSIONS]
    return {
        "active": active,
        "next": _session_view(scheduled[0]) if scheduled else None,
        "recent": [_session_view(x) for x in recent],
    }


def _jobs(s: Services, now: datetime, problems: list[str]) -> list[dict[str, Any]]:
    """The dynamic one-shot jobs, each with the moment it fires."""
    try:
        jobs = s.scheduler.list(cron.SPECIAL_JOB_PREFIX)
    except StoreUnavailable as error:
        log.warning("the scheduler's job list is unavailable for the status page")
        problems.append(f"jobs unavailable: {error.message}")
        return []
    return [_job(job, now, s.settings.timezone) for job in jobs]


def _job(job: HttpJob, now: datetime, tz: Any) -> dict[str, Any]:
    view = asdict(job)
    view["body"] = dict(job.body)
    view["path"] = urlsplit(job.uri).path
    try:
        view["at"] = cron.cron_instant(job.schedule, job.time_zone, now - JOB_LOOKBACK).astimezone(tz).isoformat()
    except ValueError:
        view["at"] = None
    return view


def _tokens(s: Services) -> dict[str, Any]:
    """Token health: the service's cached state, the store's rejected-token mark, and the record's expiry."""
    cached = s.tokens.cached_status()
    marked = s.store.get(STATUS_COLLECTION, STATUS_ID) or {}
    state, reason = cached.get("state", "ok"), cached.get("reason")
    if marked.get("state") == "reauth_required":
        state, reason = "reauth_required", marked.get("reason")
    expires_at = refreshed_at = None
    try:
        payload = s.secrets.access_latest(s.settings.tokens_secret_name)  # read only: never bootstraps
        if payload is not None:
            record = TokenRecord.from_json(payload)
            expires_at = record.expires_at.isoformat() if record.access_token and record.expires_at != NEVER else None
            refreshed_at = record.updated_at.isoformat() if record.updated_at != NEVER else None
        elif state == "ok" and s.settings.tesla_refresh_token:
            state, reason = "not_yet_used", "no token record yet: it is made from TESLA_REFRESH_TOKEN on first use"
        elif state == "ok":
            state, reason = "missing", "no token record and no TESLA_REFRESH_TOKEN: authorise the app (README)"
    except StoreUnavailable:
        log.warning("the token record is unavailable for the status page")
    except ValueError:
        state, reason = "unreadable", "the stored token record cannot be read"
    tz = s.settings.timezone
    return {
        "state": state,
        "reason": reason,
        "expires_at": _local(expires_at, tz),
        "refreshed_at": _local(refreshed_at, tz),
    }


def _local(value: str | None, tz: Any) -> str | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(tz).isoformat()


def _owner_action(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc.get(k) for k in ("vin", "code", "message", "remedy", "during", "first_seen", "last_seen", "count")}
