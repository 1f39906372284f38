"""The owner events of a night, worded: which session, what went wrong, what the owner can do.

`alerts.py` stores, logs and delivers an event; this module decides when one is due and writes
its sentence and remedy, so every event names its session and the owner's next step.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.domain import session as S
from shared.log import get_logger
from shared.tesla.errors import OwnerActionRequired
from worker_service.services import alerts
from worker_service.services.session_store import SESSIONS
from worker_service.services.vehicle_readings import READINGS

if TYPE_CHECKING:
    from worker_service.container import Services

log = get_logger("SPECIAL")
SCOUT_STATE = "scout_state"  # written by the scout (shared/scout/tick.py): at_home as last seen
UNPLUGGED = "Disconnected"
REAUTH_REMEDY = (
    "Authorise the app again in Tesla's login flow and store the new refresh token: on GCP "
    "`TESLA_REAUTHORISE=1 ./deploy_scout_worker.sh` (README, 'Re-authorising Tesla access')."
)
DAILY_CHECK_REMEDY = (
    "run the check again (POST /daily-special-charging-check) once the cause is fixed; until then tonight's "
    "needs are not planned: charge by hand if one departs early. The worker's log has the details "
    '(jsonPayload.component="SPECIAL")'
)
FAILSAFE_REMEDY = (
    "tonight's everyday schedule may be missing: check in the Tesla app that the car is plugged in at home and "
    'charging is scheduled. The worker\'s log has the details (jsonPayload.component="WORKER")'
)


def _when(s: Services, value: Any) -> str:
    """A stored ISO time as the household reads it, e.g. `06:00 on Tue 24 Nov`."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return "an unknown time"
    return moment.astimezone(s.settings.timezone).strftime("%H:%M on %a %d %b")


def describe(s: Services, session: S.Session) -> str:
    """`session special_1_20261124_0600 (90 % by 06:00 on Tue 24 Nov)`."""
    return f"session {session['session_id']} ({session.get('target_soc')} % by {_when(s, session.get('departure'))})"


def sentence(text: str) -> str:
    """Text as a sentence (capital first, full stop last), so remedies read well when joined."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _cancel_hint(session: S.Session) -> str:
    need_id = session.get("need_id")
    return f" If the trip is off, cancel the need: DELETE /special-charging-needs/{need_id}." if need_id else ""


def need_at_risk(s: Services, session: S.Session, why: str, remedy: str) -> None:
    """The need will be missed unless the owner acts (raised once per session)."""
    alerts.raise_event(
        s,
        alerts.NEED_AT_RISK,
        session_id=session["session_id"],
        vin=session.get("vin"),
        message=f"Special charging at risk for {describe(s, session)}: {why}",
        remedy=sentence(remedy) + _cancel_hint(session),
    )


def not_plugged_in(s: Services, session: S.Session) -> None:
    """The send job found the car unplugged: limit and schedule are set, charging waits for the cable."""
    start = _when(s, session.get("charging_start"))
    need_at_risk(
        s,
        session,
        "the car is not plugged in at send time",
        f"Plug the car in at home before {start}: the charge limit and schedule are set, so it charges by itself.",
    )


def away_from_home(s: Services, session: S.Session, distance_m: float) -> None:
    """The send job found the car away from home, where the schedule does not apply."""
    start = _when(s, session.get("charging_start"))
    need_at_risk(
        s,
        session,
        f"the car is {distance_m / 1000:.1f} km from home at send time",
        f"Bring the car home and plug it in before {start}: the schedule applies only at home.",
    )


def send_attempt_failed(s: Services, session: S.Session, code: str, message: str, attempt: int, of: int) -> None:
    """The car did not wake or refused a command; the job is retried, but the owner may want to look now."""
    if code == "vehicle_unavailable":
        why = f"the car did not wake up at send time (attempt {attempt} of {of})"
        remedy = "Check that the car has mobile signal and open the Tesla app to wake it; the worker retries by itself."
    else:
        why = f"the car refused a command at send time (attempt {attempt} of {of}): {message}"
        target = session.get("target_soc")
        remedy = (
            "Check the car's charging settings in the Tesla app; the worker retries by itself. If it keeps "
            f"failing, set the charge limit to {target} % and plug in by hand."
        )
    need_at_risk(s, session, why, remedy)


def session_failed(s: Services, session: S.Session, reason: str, remedy: str | None = None) -> None:
    """The session ended FAILED: the need will not be met by this system (raised once per session)."""
    target = session.get("target_soc")
    alerts.raise_event(
        s,
        alerts.SESSION_FAILED,
        session_id=session["session_id"],
        vin=session.get("vin"),
        message=f"Special charging failed for {describe(s, session)}: {reason}",
        remedy=sentence(remedy or f"Charge by hand: set the charge limit to {target} % in the Tesla app and plug in")
        + f" The session's history: GET /special-charging-sessions/{session['session_id']}.",
        severity="ERROR",
    )


def owner_action(s: Services, vin: str, error: OwnerActionRequired, during: str, session_id: str | None) -> None:
    """A failure only the owner can fix appeared (signing, pairing, firmware, scope)."""
    where = f" during {during}" if during else ""
    # The board calls this once per newly open action; the time tells a later recurrence apart.
    key = f"{vin}-{error.code}-{s.clock.now().isoformat()}"
    alerts.raise_event(
        s,
        alerts.OWNER_ACTION_REQUIRED,
        session_id=session_id,
        vin=vin,
        message=f"{error.code}: {error.message} (car {vin}{where}"
        + (f", session {session_id})" if session_id else ")"),
        remedy=sentence(error.remedy),
        severity="ERROR",
        key=key,
    )


def reauthorisation(s: Services, refresh_token_id: str) -> None:
    """Tesla rejected the stored refresh token: nothing reaches the car until the owner re-authorises."""
    open_sessions = [
        str(doc.get("session_id")) for status in (S.SCHEDULED, S.ACTIVE) for doc in _quietly_list(s, {"status": status})
    ]
    at_risk = f"; sessions at risk: {', '.join(open_sessions)}" if open_sessions else ""
    alerts.raise_event(
        s,
        alerts.REAUTHORISATION_REQUIRED,
        session_id=open_sessions[0] if len(open_sessions) == 1 else None,
        vin=None,
        message=f"Tesla rejected the stored refresh token: the worker cannot reach the car{at_risk}",
        remedy=REAUTH_REMEDY,
        severity="ERROR",
        key=refresh_token_id,
    )


def _quietly_list(s: Services, where: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        return s.store.list(SESSIONS, where)
    except Exception:  # the event matters more than the list of sessions it names
        return []


def plug_in_reminders(s: Services) -> int:
    """At the daily check: remind once per session when the last reading says home but unplugged (no wake)."""
    reminded = 0
    for session in s.store.list(SESSIONS, {"status": S.SCHEDULED}):
        vin = session.get("vin")
        if not isinstance(vin, str):
            continue
        reading = s.store.get(READINGS, vin) or {}
        seen = s.store.get(SCOUT_STATE, vin) or {}
        if seen.get("at_home") is not True or reading.get("charging_state") != UNPLUGGED:
            continue
        start = _when(s, session.get("charging_start"))
        raised = alerts.raise_event(
            s,
            alerts.PLUG_IN_REMINDER,
            session_id=session["session_id"],
            vin=vin,
            message=f"The car is at home but not plugged in, and {describe(s, session)} starts charging at {start}",
            remedy=f"Plug the car in before {start}." + _cancel_hint(session),
        )
        reminded += raised is not None
    return reminded
