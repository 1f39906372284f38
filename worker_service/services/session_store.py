"""Reading and changing special-charging sessions and needs through store transactions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.domain import session as S
from shared.errors import NotFound
from shared.ports import DocumentStore

SESSIONS = "special_charging_sessions"
NEEDS = "special_charging_needs"


def get_session(store: DocumentStore, session_id: str) -> S.Session:
    """The session, or NotFound (404)."""
    doc = store.get(SESSIONS, session_id)
    if doc is None:
        raise NotFound(f"No special-charging session {session_id}")
    return doc


def change_session(store: DocumentStore, session_id: str, fn: Callable[[S.Session], S.Session | None]) -> S.Session:
    """Apply fn to the session in a transaction; returns the stored session (NotFound when absent)."""

    def apply(current: dict[str, Any] | None) -> dict[str, Any] | None:
        if current is None:
            return None
        return fn(current)

    stored = store.update(SESSIONS, session_id, apply)
    if stored is None:
        raise NotFound(f"No special-charging session {session_id}")
    return stored


def active_sessions(store: DocumentStore, vin: str | None = None) -> list[S.Session]:
    """ACTIVE sessions (for one vehicle when vin is given)."""
    sessions = store.list(SESSIONS, {"status": S.ACTIVE})
    return [s for s in sessions if vin is None or s.get("vin") == vin]
