"""Failures only the owner can fix (signing, pairing, firmware, scope): recorded once, shown until fixed.

Tesla bills every answer below 500 (FACTS), so such a failure must not be retried as if it were
transient: the cycle answers 200 with the code (the scout then keeps its new state and does not
trigger again each tick), a session goes FAILED with the code and the remedy, one ERROR line is
logged when the problem first appears (INFO after that), and `/health` says `degraded` with the
reason. /health makes no cloud calls, so it shows what this instance knows: the board is loaded
from the store whenever a service runs, and updated as failures appear and clear.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from shared.clock import Clock
from shared.log import get_logger
from shared.ports import DocumentStore
from shared.tesla.errors import OwnerActionRequired
from shared.tesla.fleet_status import COLLECTION as FLEET_STATUS

log = get_logger("WORKER")
COLLECTION = "owner_actions"
# Told about each owner action the first time it is recorded: (vin, error, during, session_id).
NewActionHook = Callable[[str, OwnerActionRequired, str, str | None], None]


class OwnerActionBoard:
    """The open owner actions per VIN and code, in the store and mirrored in memory for /health."""

    def __init__(self, store: DocumentStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._open: dict[str, dict[str, Any]] = {}
        self._vehicles: dict[str, dict[str, Any]] = {}
        # Wired by the container to raise the owner_action_required event (services/night_alerts.py).
        self.on_new: NewActionHook | None = None

    def record(
        self, vin: str, error: OwnerActionRequired, *, during: str, session_id: str | None = None
    ) -> dict[str, Any]:
        """Keep the failure; log it at ERROR and tell the owner only the first time it is seen."""
        now = self._clock.now().isoformat()
        doc_id = f"{vin}-{error.code}"
        new: list[bool] = []

        def write(current: dict[str, Any] | None) -> dict[str, Any]:
            new[:] = [current is None]
            first = (current or {}).get("first_seen", now)
            count = int((current or {}).get("count", 0)) + 1
            return {
                "vin": vin,
                "code": error.code,
                "message": error.message,
                "remedy": error.remedy,
                "during": during,
                "first_seen": first,
                "last_seen": now,
                "count": count,
            }

        doc = self._store.update(COLLECTION, doc_id, write) or {}
        with self._lock:
            self._open[doc_id] = doc
        fields = {"vin": vin, "error": error.code, "during": during, "remedy": error.remedy}
        if new and new[0]:
            log.error(f"{error.message} — the owner must act: {error.remedy}", fields=fields)
            if self.on_new is not None:
                self.on_new(vin, error, during, session_id)
        else:
            log.info(f"still waiting for the owner: {error.code}", fields=fields)
        return doc

    def clear(self, vin: str, *codes: str) -> None:
        """The problem is gone (a command or read worked again): forget it."""
        for code in codes:
            doc_id = f"{vin}-{code}"
            with self._lock:
                known = doc_id in self._open
                self._open.pop(doc_id, None)
            if known and self._store.delete(COLLECTION, doc_id):
                log.info(f"resolved: {code}", fields={"vin": vin, "error": code})

    def sync(self) -> None:
        """Reload the open actions from the store (another instance may have seen or cleared them)."""
        docs = self._store.list(COLLECTION)
        profiles = self._store.list(FLEET_STATUS)
        with self._lock:
            self._open = {f"{d.get('vin')}-{d.get('code')}": d for d in docs if d.get("code")}
            self._vehicles = {str(p["vin"]): p for p in profiles if p.get("vin")}

    def open_actions(self) -> list[dict[str, Any]]:
        """What this instance knows is waiting for the owner (no store call), oldest first."""
        with self._lock:
            return sorted(self._open.values(), key=lambda d: str(d.get("first_seen", "")))

    def vehicles(self) -> dict[str, dict[str, Any]]:
        """fleet_status per VIN as last synced: paired, signing needed, firmware (no store call)."""
        with self._lock:
            return {
                vin: {
                    "key_paired": p.get("key_paired"),
                    "command_signing": p.get("protocol_required"),
                    "firmware_version": p.get("firmware_version"),
                    "checked_at": p.get("checked_at"),
                }
                for vin, p in self._vehicles.items()
            }
