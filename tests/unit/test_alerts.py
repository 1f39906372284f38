"""Owner events (issue 14, item 4): logged with jsonPayload.event, stored once, POSTed once with bounded retries.

The webhook receiver is a loopback HTTP server; the worker runs on fakes with a ManualClock, so the
retry waits are virtual and measurable.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.webhook import WEBHOOK_ATTEMPTS
from shared.errors import StoreUnavailable
from shared.tesla.errors import KeyNotPaired
from tests.support.webhook_receiver import closed_port_url, webhook_receiver
from tests.support.worker_app import FakeWorld, fake_world
from worker_service.services import alerts

SESSION = "special_1_20261124_0600"
VIN = "5YJ3E7EB2NF000001"


def event_records(caplog: pytest.LogCaptureFixture, event: str | None = None) -> list[logging.LogRecord]:
    """Log records carrying jsonPayload.event (optionally one event name)."""
    found = []
    for record in caplog.records:
        name = (getattr(record, "fields", None) or {}).get("event")
        if name and (event is None or name == event):
            found.append(record)
    return found


def raise_at_risk(w: FakeWorld, **overrides: Any) -> dict[str, Any] | None:
    options: dict[str, Any] = {
        "session_id": SESSION,
        "vin": VIN,
        "message": f"Special charging at risk for session {SESSION}: the car is not plugged in",
        "remedy": "Plug the car in at home before 01:00.",
        **overrides,
    }
    return alerts.raise_event(w.services, alerts.NEED_AT_RISK, **options)


def stored(w: FakeWorld) -> list[dict[str, Any]]:
    return w.store.list(alerts.COLLECTION)


def test_an_event_is_logged_stored_and_posted_once_per_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with webhook_receiver() as receiver:
        w = fake_world(tmp_path, ALERT_WEBHOOK_URL=receiver.url)
        first = raise_at_risk(w)
        again = raise_at_risk(w, message="the same problem, seen by a second delivery of the job")
        other_session = raise_at_risk(w, session_id="special_2_20261125_0700")
    assert first is not None and again is None and other_session is not None
    records = event_records(caplog, alerts.NEED_AT_RISK)
    assert len(records) == 2 and records[0].levelno == logging.WARNING
    assert records[0].fields["session_id"] == SESSION  # type: ignore[attr-defined]
    assert records[0].fields["remedy"] == "Plug the car in at home before 01:00."  # type: ignore[attr-defined]
    docs = {d["session_id"]: d for d in stored(w)}
    doc = docs[SESSION]
    assert doc["event"] == "need_at_risk" and doc["vin"] == VIN and doc["severity"] == "WARNING"
    assert doc["delivered"] is True and doc["attempts"] == 1 and doc["at"] == w.clock.now().isoformat()
    assert "not plugged in" in doc["message"] and doc["remedy"].startswith("Plug the car in")
    posts = receiver.of("need_at_risk")
    assert [p["session_id"] for p in posts] == [SESSION, "special_2_20261125_0700"]
    assert posts[0]["remedy"] == doc["remedy"] and posts[0]["message"] == doc["message"]
    assert posts[0]["text"] == f"{doc['message']} — {doc['remedy']}" and posts[0]["severity"] == "WARNING"
    assert receiver.paths == ["/tesla-offpeak-alerts"] * 2


def test_a_failing_webhook_is_retried_a_bounded_number_of_times_on_the_injected_clock(tmp_path: Path) -> None:
    with webhook_receiver(statuses=(503,)) as receiver:
        w = fake_world(tmp_path, ALERT_WEBHOOK_URL=receiver.url)
        before = w.clock.now()
        raised = raise_at_risk(w)
    assert raised is not None  # the failure stays inside raise_event
    assert len(receiver.posts) == WEBHOOK_ATTEMPTS == 3
    assert w.clock.now() - before == timedelta(seconds=3)  # waits of 1 s and 2 s, on the injected clock
    (doc,) = stored(w)
    assert doc["delivered"] is False and doc["attempts"] == 3 and doc["delivery_error"] == "HTTP 503"


def test_a_webhook_that_recovers_gets_the_event_once(tmp_path: Path) -> None:
    with webhook_receiver(statuses=(500, 204)) as receiver:
        w = fake_world(tmp_path, ALERT_WEBHOOK_URL=receiver.url)
        raise_at_risk(w)
        raise_at_risk(w)
    assert len(receiver.posts) == 2  # one failure, one success, nothing for the duplicate
    (doc,) = stored(w)
    assert doc["delivered"] is True and doc["attempts"] == 2 and doc["delivery_error"] is None


def test_a_refusal_is_not_retried(tmp_path: Path) -> None:
    with webhook_receiver(statuses=(404,)) as receiver:
        w = fake_world(tmp_path, ALERT_WEBHOOK_URL=receiver.url)
        raise_at_risk(w)
    assert len(receiver.posts) == 1
    (doc,) = stored(w)
    assert doc["delivered"] is False and doc["delivery_error"] == "HTTP 404"


def test_an_unreachable_webhook_is_recorded_without_its_url(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    url = closed_port_url()
    w = fake_world(tmp_path, ALERT_WEBHOOK_URL=url)
    raise_at_risk(w)
    (doc,) = stored(w)
    assert doc["delivered"] is False and doc["attempts"] == 3 and doc["delivery_error"] == "ConnectionError"
    port = url.split(":")[2].split("/")[0]
    assert port not in str(doc)
    assert all(url not in r.getMessage() for r in caplog.records)


def test_without_a_webhook_the_event_is_logged_and_stored_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    w = fake_world(tmp_path)
    assert raise_at_risk(w) is not None
    (doc,) = stored(w)
    assert doc["delivered"] is False and doc["attempts"] == 0 and doc["webhook"] is False
    assert len(event_records(caplog)) == 1


def test_a_store_outage_still_logs_the_event_and_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with webhook_receiver() as receiver:
        w = fake_world(tmp_path, ALERT_WEBHOOK_URL=receiver.url)
        w.store.fail_next("update", StoreUnavailable("Firestore is down"))
        raise_at_risk(w)
    assert len(event_records(caplog, alerts.NEED_AT_RISK)) == 1  # the log line is what Cloud Monitoring reads
    assert receiver.posts == []  # without the record there is no at-most-once: nothing is sent
    assert stored(w) == []


def test_recent_events_newest_first_and_old_ones_pruned(tmp_path: Path) -> None:
    w = fake_world(tmp_path)
    for n in range(1, 5):
        raise_at_risk(w, session_id=f"special_{n}_20261124_0600")
        w.clock.advance(timedelta(hours=1))
    newest = alerts.recent_events(w.store, limit=3)
    assert [e["session_id"] for e in newest] == [f"special_{n}_20261124_0600" for n in (4, 3, 2)]
    w.clock.advance(alerts.KEEP_EVENTS - timedelta(hours=2, minutes=30))  # the first two are now too old
    assert alerts.prune(w.store, w.clock.now()) == 2
    assert [e["session_id"] for e in alerts.recent_events(w.store)] == [
        "special_4_20261124_0600",
        "special_3_20261124_0600",
    ]


def test_a_new_owner_action_raises_one_event_with_its_remedy(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    w = fake_world(tmp_path)
    error = KeyNotPaired("the car does not know our key", remedy="Pair the key: open https://tesla.com/_ak/example.com")
    w.services.owner_actions.record(VIN, error, during=f"send {SESSION}", session_id=SESSION)
    w.services.owner_actions.record(VIN, error, during="cycle")  # still open: no second event
    (record,) = event_records(caplog)
    assert record.fields["event"] == "owner_action_required" and record.levelno == logging.ERROR  # type: ignore[attr-defined]
    (doc,) = stored(w)
    assert (
        doc["session_id"] == SESSION and doc["remedy"].startswith(error.remedy) and "key_not_paired" in doc["message"]
    )
    # Fixed, then broken again later: a new open action, a new event.
    w.services.owner_actions.clear(VIN, "key_not_paired")
    w.clock.advance(timedelta(days=2))
    w.services.owner_actions.record(VIN, error, during="cycle")
    assert len(event_records(caplog, "owner_action_required")) == 2


def test_a_rejected_refresh_token_raises_reauthorisation_required_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    w = fake_world(tmp_path)
    w.tesla_tokens.valid.clear()  # Tesla no longer knows the stored refresh token
    client = w.app.test_client()
    for _ in range(3):
        answer = client.get("/get-token", headers=w.headers())
        assert answer.status_code == 503 and answer.get_json()["error"] == "reauthorisation_required"
        w.clock.advance(timedelta(minutes=2))
    assert w.tesla_tokens.rejected == 1
    (record,) = event_records(caplog)
    assert record.fields["event"] == "reauthorisation_required"  # type: ignore[attr-defined]
    (doc,) = stored(w)
    assert "TESLA_REAUTHORISE=1" in doc["remedy"] and doc["severity"] == "ERROR"


def test_a_failing_failsafe_raises_one_event_a_night_and_answers_as_before(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    w = fake_world(tmp_path)
    car = w.car.cars[VIN]
    car.state, car.wakes = "asleep", False
    client = w.app.test_client()
    for _ in range(2):  # Cloud Scheduler's retry of the same night
        answer = client.post("/run-cycle", headers=w.headers())
        assert answer.status_code == 502 and answer.get_json()["error"] == "vehicle_unavailable"
    (record,) = event_records(caplog)
    assert record.fields["event"] == "failsafe_failed"  # type: ignore[attr-defined]
    (doc,) = stored(w)
    assert "vehicle_unavailable" in doc["message"] and "plugged in" in doc["remedy"]


def test_a_failing_daily_check_raises_daily_check_failed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    w = fake_world(tmp_path)
    client = w.app.test_client()
    departure = (w.clock.now() + timedelta(hours=9)).isoformat()
    created = client.post(
        "/special-charging-needs", json={"target_soc": 90, "departure": departure}, headers=w.headers()
    )
    assert created.status_code == 201
    car = w.car.cars[VIN]
    car.state, car.wakes = "asleep", False  # no reading stored and the car will not wake to give one
    answer = client.post("/daily-special-charging-check", headers=w.headers())
    assert answer.status_code == 502
    (record,) = event_records(caplog)
    assert record.fields["event"] == "daily_check_failed" and record.levelno == logging.ERROR  # type: ignore[attr-defined]
    (doc,) = stored(w)
    assert "POST /daily-special-charging-check" in doc["remedy"]
