"""The special-charging session: its record, its states and the rules between them (pure).

SCHEDULED ─send─▶ ACTIVE ─cleanup─▶ COMPLETED
    │                │
    ├─fails──▶ FAILED (keeps its cleanup job while the limit may have changed)
    └─cancel─▶ CANCELLED (an ACTIVE one only after its limit is back)

The promise that matters most: a session is never COMPLETED (or CANCELLED) while the charge
limit it changed is unrestored.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SCHEDULED, ACTIVE, COMPLETED, FAILED, CANCELLED = "SCHEDULED", "ACTIVE", "COMPLETED", "FAILED", "CANCELLED"
STATUSES = (SCHEDULED, ACTIVE, COMPLETED, FAILED, CANCELLED)
HISTORY_LIMIT = 60
# A run renews its claim at every step, so this only has to outlast the longest single step
# (a bounded wake-up, or one command with its retries). It is shorter than the jobs' first retry
# backoff (MIN_BACKOFF_SECONDS in cron.py), so a delivery that found the claim of a run that
# died is retried after the claim has lapsed.
CLAIM_SECONDS = 180

Session = dict[str, Any]


def session_id_for(sequence: int, departure: datetime, tz: ZoneInfo) -> str:
    """`special_<n>_<YYYYMMDD>_<HHMM>` of the departure in local time (contract section 6)."""
    local = departure.astimezone(tz)
    return f"special_{sequence}_{local:%Y%m%d}_{local:%H%M}"


def new_session(
    *,
    session_id: str,
    need: dict[str, Any],
    plan: dict[str, Any],
    cleanup_at: datetime | None,
    send_job_name: str,
    cleanup_job_name: str,
    now: datetime,
    tz: ZoneInfo,
) -> Session:
    """A SCHEDULED session for a need and its plan."""
    stamp = now.astimezone(tz).isoformat()
    return {
        "session_id": session_id,
        "need_id": need["need_id"],
        "vin": need["vin"],
        "status": SCHEDULED,
        "target_soc": need["target_soc"],
        "original_charge_limit": None,
        "departure": need["departure"],
        "charging_start": plan.get("charging_start"),
        "charging_end": plan.get("charging_end"),
        "send_schedule_at": plan.get("send_schedule_at"),
        "cleanup_at": cleanup_at.astimezone(tz).isoformat() if cleanup_at else None,
        "send_job_name": send_job_name,
        "cleanup_job_name": cleanup_job_name,
        "estimated_cost": plan.get("estimated_cost"),
        "feasible": plan.get("feasible"),
        "plan": plan,
        "schedule_id": None,
        "limit_changed": False,
        "limit_restored": False,
        "schedule_added": False,
        "schedule_removed": False,
        "send_attempts": 0,
        "cleanup_attempts": 0,
        "last_error": None,
        "claim": None,
        "created_at": stamp,
        "updated_at": stamp,
        "history": [{"at": stamp, "status": SCHEDULED, "event": "session created"}],
    }


def record(
    session: Session,
    event: str,
    now: datetime,
    tz: ZoneInfo,
    *,
    status: str | None = None,
    error: str | None = None,
    **fields: Any,
) -> Session:
    """A copy with one history entry added (and the status, error and fields it brings)."""
    updated = copy.deepcopy(session)
    stamp = now.astimezone(tz).isoformat()
    entry: dict[str, Any] = {"at": stamp, "event": event}
    if status is not None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status}")
        if status in (COMPLETED, CANCELLED) and limit_unrestored(updated | fields):
            raise ValueError("a session cannot finish while its charge limit is unrestored")
        updated["status"] = status
        entry["status"] = status
    if error is not None:
        updated["last_error"] = error
        entry["error"] = error
    updated.update(fields)
    updated["updated_at"] = stamp
    updated["history"] = (updated.get("history") or [])[-(HISTORY_LIMIT - 1) :] + [entry]
    return updated


def limit_unrestored(session: Session) -> bool:
    """True while the limit this session changed has not been put back."""
    return bool(session.get("limit_changed")) and not session.get("limit_restored")


def is_finished(session: Session) -> bool:
    """Nothing more will happen to this session (its jobs can go)."""
    status = session.get("status")
    if status in (COMPLETED, CANCELLED):
        return True
    return status == FAILED and not limit_unrestored(session)


def claim(session: Session, owner: str, step: str, now: datetime) -> Session | None:
    """Take the session for one handler run, or None when another run holds a live claim."""
    current = session.get("claim")
    if current and current.get("owner") != owner:
        until = datetime.fromisoformat(current["until"])
        if until > now:
            return None
    updated = copy.deepcopy(session)
    updated["claim"] = {"owner": owner, "step": step, "until": (now + timedelta(seconds=CLAIM_SECONDS)).isoformat()}
    return updated


def release(session: Session, owner: str) -> Session | None:
    """Drop our claim (None when it is no longer ours: nothing to write)."""
    current = session.get("claim")
    if not current or current.get("owner") != owner:
        return None
    updated = copy.deepcopy(session)
    updated["claim"] = None
    return updated


def overdue(session: Session, now: datetime, grace: timedelta = timedelta(hours=1)) -> bool:
    """An unfinished session whose cleanup time is past by more than the grace period."""
    if is_finished(session):
        return False
    moment = session.get("cleanup_at") or session.get("departure")
    if not moment:
        return False
    return datetime.fromisoformat(moment) + grace < now
