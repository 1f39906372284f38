"""Telling the owner when a night goes wrong (issue 14, item 4): one event per problem and session.

An event is one JSON log line carrying `jsonPayload.event` (the deploy's log-based alert policy
mails ALERT_EMAIL on it), one document in `owner_events` (the status page reads it), and, when
ALERT_WEBHOOK_URL is set, one JSON POST. The document id is the de-duplication key, so a job
delivered twice, a retry or a second instance raises nothing twice. Raising never fails the job
that raised: a broken store or webhook is logged and recorded, never propagated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.adapters.webhook import deliver
from shared.log import get_logger
from shared.ports import DocumentStore

if TYPE_CHECKING:
    from worker_service.container import Services

log = get_logger("WORKER")
COLLECTION = "owner_events"

NEED_AT_RISK = "need_at_risk"
OWNER_ACTION_REQUIRED = "owner_action_required"
SESSION_FAILED = "session_failed"
REAUTHORISATION_REQUIRED = "reauthorisation_required"
DAILY_CHECK_FAILED = "daily_check_failed"
FAILSAFE_FAILED = "failsafe_failed"
PLUG_IN_REMINDER = "plug_in_reminder"
EVENTS = (
    NEED_AT_RISK,
    OWNER_ACTION_REQUIRED,
    SESSION_FAILED,
    REAUTHORISATION_REQUIRED,
    DAILY_CHECK_FAILED,
    FAILSAFE_FAILED,
    PLUG_IN_REMINDER,
)
SEVERITIES = ("INFO", "WARNING", "ERROR")

KEEP_EVENTS = timedelta(days=60)
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_.-]")


def event_id(event: str, subject: str) -> str:
    """The document id and de-duplication key of one event about one subject (a session, a day, a token)."""
    return f"{event}--{_UNSAFE_ID.sub('-', subject)}"[:300]


def raise_event(
    s: Services,
    event: str,
    *,
    session_id: str | None,
    vin: str | None,
    message: str,
    remedy: str,
    severity: str = "WARNING",
    key: str | None = None,
) -> dict[str, Any] | None:
    """Log, store and deliver one event, at most once per (event, session or key); never raises.

    Returns the stored event when this call raised it, None when it had been raised before.
    """
    assert event in EVENTS and severity in SEVERITIES, (event, severity)
    subject = "-".join(part for part in (session_id, key) if part) or vin or "worker"
    doc_id = event_id(event, subject)
    now = s.clock.now()
    doc: dict[str, Any] = {
        "id": doc_id,
        "event": event,
        "session_id": session_id,
        "vin": vin,
        "message": message,
        "remedy": remedy,
        "severity": severity,
        "at": now.isoformat(),
        "delivered": False,
        "attempts": 0,
        "webhook": bool(s.settings.alert_webhook_url),
    }
    created: list[bool] = []

    def create(current: dict[str, Any] | None) -> dict[str, Any] | None:
        created[:] = [current is None]
        return doc if current is None else None

    stored = True
    try:
        s.store.update(COLLECTION, doc_id, create)
    except Exception as error:  # the log line below is the event; the store is the extra
        stored = False
        created[:] = [True]
        log.warning(f"event {doc_id} could not be stored ({type(error).__name__}); the webhook is skipped")
    if not created or not created[0]:
        return None
    fields = {"event": event, "session_id": session_id, "vin": vin, "remedy": remedy, "event_id": doc_id}
    (log.error if severity == "ERROR" else log.warning)(f"{message} — {remedy}", fields=fields)
    if stored and s.settings.alert_webhook_url:
        doc.update(_deliver_and_record(s, doc_id, doc, s.settings.alert_webhook_url))
    return doc


def _deliver_and_record(s: Services, doc_id: str, doc: Mapping[str, Any], url: str) -> dict[str, Any]:
    delivered, attempts, problem = deliver(url, webhook_payload(doc), s.clock)
    outcome: dict[str, Any] = {"delivered": delivered, "attempts": attempts, "delivery_error": problem}
    if delivered:
        outcome["delivered_at"] = s.clock.now().isoformat()
        log.info(f"event {doc_id} sent to the webhook", fields={"alert": doc["event"], "attempts": attempts})
    else:
        log.warning(
            f"event {doc_id} not delivered to the webhook after {attempts} attempt(s): {problem}",
            fields={"alert": doc["event"], "attempts": attempts},
        )
    try:
        s.store.update(COLLECTION, doc_id, lambda cur: {**cur, **outcome} if cur else None)
    except Exception as error:  # the delivery itself happened (or not) either way
        log.warning(f"event {doc_id}: the delivery outcome could not be stored ({type(error).__name__})")
    return outcome


def webhook_payload(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON the webhook receives: the event's fields, and `text` for receivers that show one line."""
    keys = ("event", "severity", "session_id", "vin", "message", "remedy", "at", "id")
    payload: dict[str, Any] = {k: doc.get(k) for k in keys}
    payload["text"] = f"{doc.get('message')} — {doc.get('remedy')}"
    payload["source"] = "tesla-offpeak-worker"
    return payload


@contextmanager
def on_failure(s: Services, event: str, *, key: str, message: str, remedy: str) -> Iterator[None]:
    """Raise `event` (keyed by `key`) when the block fails, then let the failure through unchanged."""
    try:
        yield
    except Exception as error:
        code = getattr(error, "code", type(error).__name__)
        raise_event(
            s, event, session_id=None, vin=None, message=f"{message} ({code})", remedy=remedy, severity="ERROR", key=key
        )
        raise


def local_day(s: Services, now: datetime | None = None) -> str:
    """The household's date, as the key of once-a-night events."""
    return (now or s.clock.now()).astimezone(s.settings.timezone).date().isoformat()


def recent_events(store: DocumentStore, limit: int = 20) -> list[dict[str, Any]]:
    """The newest events first, for the status page and `GET /status`."""
    events = store.list(COLLECTION)
    events.sort(key=lambda e: str(e.get("at", "")), reverse=True)
    return events[: max(0, limit)]


def prune(store: DocumentStore, now: datetime, keep: timedelta = KEEP_EVENTS) -> int:
    """Delete events older than `keep` (the daily check calls it), so listing them stays cheap."""
    deleted = 0
    for doc in store.list(COLLECTION):
        try:
            at = datetime.fromisoformat(str(doc.get("at")))
        except ValueError:
            continue
        if at.tzinfo is not None and now - at > keep and doc.get("id"):
            deleted += bool(store.delete(COLLECTION, str(doc["id"])))
    return deleted
