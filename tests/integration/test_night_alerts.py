"""A night that goes wrong tells the owner once (issue 14, item 4), on the whole system (simulator/harness.py).

Each night runs the real worker, scout, embedded scheduler and simulated car on a virtual clock, with
ALERT_WEBHOOK_URL pointing at a loopback receiver. Events are counted three ways: log records carrying
`fields.event` (what the deploy's log-based alert policy matches), documents in `owner_events` (what
the status page shows), and POSTs the receiver got.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.webhook import WEBHOOK_ATTEMPTS
from simulator.harness import System, simulation_env
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver
from worker_service.services import alerts

NIGHT = datetime(2026, 11, 23, 20, 0)  # a Monday; G12w is cheap 22:00-06:00
DEPARTURE = "2026-11-24T06:00:00+01:00"
SESSION = "special_1_20261124_0600"
KRAKOW = (50.0614, 19.9366)  # about 250 km from the simulated home in Warsaw


def plan_night(make_system: Callable[..., System], tmp_path: Path, receiver: WebhookReceiver, **vehicle: Any) -> System:
    """A need for 90 % by 06:00, registered at 20:00 and planned by the 23:00 check."""
    car = {"battery_level": 40, "charge_limit": 80, "plugged_in": True, **vehicle}
    env = simulation_env(tmp_path / "state", ALERT_WEBHOOK_URL=receiver.url)
    system = make_system(NIGHT, vehicle=car, env=env)
    system.scout_tick()  # the scout's 20:00 look: position and charge state when the car is awake
    status, body = system.call_worker("POST", "/special-charging-needs", {"target_soc": 90, "departure": DEPARTURE})
    assert status == 201, body
    system.advance(timedelta(hours=3))  # to 23:00, with the scout's ticks on the way
    status, body = system.call_worker("POST", "/daily-special-charging-check")
    assert status == 200, body
    return system


def logged(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, Any]]:
    """The jsonPayload fields of every log record raising `event`."""
    return [
        r.fields  # type: ignore[attr-defined]
        for r in caplog.records
        if (getattr(r, "fields", None) or {}).get("event") == event
    ]


def stored(system: System, event: str) -> list[dict[str, Any]]:
    return [e for e in alerts.recent_events(system.services.store, limit=100) if e["event"] == event]


def session(system: System) -> dict[str, Any]:
    status, body = system.call_worker("GET", f"/special-charging-sessions/{SESSION}")
    assert status == 200, body
    return body["session"]


def sends(system: System) -> list[int | None]:
    return [f.status for f in system.fired if "-send-" in f.name]


def test_a_night_with_the_car_left_unplugged_raises_one_need_at_risk_with_session_and_remedy(
    make_system: Callable[..., System], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with webhook_receiver() as receiver:
        # Home and awake at 20:00 (just parked), so the scout has seen where it is and that it is unplugged.
        system = plan_night(make_system, tmp_path, receiver, plugged_in=False, asleep=False)
        system.advance(timedelta(hours=3))  # past the send job (at about 00:00)
        assert sends(system) == [200] and session(system)["status"] == "ACTIVE"
        # The same job delivered again (Cloud Scheduler is at-least-once) and the check run again.
        again = system.call_worker("POST", "/send-special-schedule", {"session_id": SESSION})
        assert again[0] == 200 and again[1]["already_done"] is True
        assert system.call_worker("POST", "/daily-special-charging-check")[0] == 200
        system.advance(timedelta(hours=4))  # through cleanup and departure
    assert session(system)["status"] == "COMPLETED"  # the night ends as it always did

    (fields,) = logged(caplog, "need_at_risk")
    assert fields["session_id"] == SESSION and "Plug the car in" in fields["remedy"]
    (event,) = stored(system, "need_at_risk")
    assert event["session_id"] == SESSION and event["severity"] == "WARNING"
    assert SESSION in event["message"] and "not plugged in" in event["message"]
    assert (
        "Plug the car in at home before" in event["remedy"]
        and "DELETE /special-charging-needs/need_1" in event["remedy"]
    )
    assert event["delivered"] is True and event["attempts"] == 1
    (post,) = receiver.of("need_at_risk")
    assert post["session_id"] == SESSION and post["remedy"] == event["remedy"] and post["message"] == event["message"]
    # The 23:00 check had already seen, from the scout's last look (no wake), a car at home and unplugged.
    (reminder,) = stored(system, "plug_in_reminder")
    assert reminder["session_id"] == SESSION and "Plug the car in before" in reminder["remedy"]
    assert len(receiver.of("plug_in_reminder")) == 1 and len(logged(caplog, "plug_in_reminder")) == 1
    assert {p["event"] for p in receiver.posts} == {"need_at_risk", "plug_in_reminder"}


def test_a_send_retried_after_a_tesla_outage_does_not_raise_the_event_again(
    make_system: Callable[..., System], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with webhook_receiver() as receiver:
        system = plan_night(make_system, tmp_path, receiver, plugged_in=False, asleep=False)
        # The first delivery reads the car (unplugged: event raised), then Tesla fails the limit command;
        # Cloud Scheduler's retry runs the whole send again and sees the same unplugged car.
        system.sim.faults.add("*/command/set_charge_limit", status=503, count=8)
        system.advance(timedelta(hours=3))
    assert sends(system)[0] == 502 and sends(system)[-1] == 200 and len(sends(system)) >= 2
    assert session(system)["status"] == "ACTIVE"
    assert len(logged(caplog, "need_at_risk")) == 1
    assert len(stored(system, "need_at_risk")) == 1
    assert len(receiver.of("need_at_risk")) == 1


def test_a_night_that_goes_right_tells_the_owner_nothing(
    make_system: Callable[..., System], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with webhook_receiver() as receiver:
        system = plan_night(make_system, tmp_path, receiver)
        system.advance(timedelta(hours=7))
    assert session(system)["status"] == "COMPLETED"
    assert alerts.recent_events(system.services.store) == []
    assert receiver.posts == [] and [r for r in caplog.records if (getattr(r, "fields", None) or {}).get("event")] == []


def test_a_failing_webhook_is_retried_a_bounded_number_of_times_and_the_job_answers_as_before(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    with webhook_receiver(statuses=(503,)) as receiver:
        system = plan_night(make_system, tmp_path, receiver, plugged_in=False)
        system.advance(timedelta(hours=3))
        again = system.call_worker("POST", "/send-special-schedule", {"session_id": SESSION})
        system.advance(timedelta(hours=4))
    assert sends(system) == [200] and again[0] == 200
    assert session(system)["status"] == "COMPLETED"
    assert len(receiver.of("need_at_risk")) == WEBHOOK_ATTEMPTS  # bounded, and not again for the duplicate
    (event,) = stored(system, "need_at_risk")
    assert event["delivered"] is False and event["attempts"] == 3 and event["delivery_error"] == "HTTP 503"


def test_a_car_away_from_home_at_send_time_puts_the_need_at_risk(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    with webhook_receiver() as receiver:
        system = plan_night(make_system, tmp_path, receiver)
        system.sim.move(system.vin, *KRAKOW)
        system.advance(timedelta(hours=3))
    (event,) = stored(system, "need_at_risk")
    assert event["session_id"] == SESSION and "km from home" in event["message"]
    assert "Bring the car home" in event["remedy"]
    assert "50.06" not in str(event) and "19.93" not in str(event)  # distance, never coordinates
    assert len(receiver.of("need_at_risk")) == 1


def test_a_car_that_does_not_wake_warns_once_then_fails_the_session_once(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    with webhook_receiver() as receiver:
        system = plan_night(make_system, tmp_path, receiver)
        system.sim.set_stay_asleep(system.vin)
        system.sim.force_sleep(system.vin)
        system.advance(timedelta(hours=3), scout_every=None)  # the send job and Cloud Scheduler's retries
    assert session(system)["status"] == "FAILED"
    (warning,) = stored(system, "need_at_risk")
    assert "did not wake up" in warning["message"] and "attempt 1 of 4" in warning["message"]
    (failed,) = stored(system, "session_failed")
    assert failed["session_id"] == SESSION and failed["severity"] == "ERROR"
    assert "set the charge limit to 90 %" in failed["remedy"]
    assert [p["event"] for p in receiver.posts] == ["need_at_risk", "session_failed"]


def test_an_unpaired_key_tells_the_owner_what_to_do_and_that_the_session_failed(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    with webhook_receiver() as receiver:
        system = plan_night(make_system, tmp_path, receiver, preset="unpaired")
        system.advance(timedelta(hours=7))
    # First met by the everyday cycle at 20:00, before the session existed; the session's failure names it again.
    (action,) = stored(system, "owner_action_required")
    assert action["session_id"] is None and "https://tesla.com/_ak/" in action["remedy"]
    assert "key_not_paired" in action["message"] and "during cycle" in action["message"]
    (failed,) = stored(system, "session_failed")
    assert "key_not_paired" in failed["message"] and "https://tesla.com/_ak/" in failed["remedy"]
    assert sorted(p["event"] for p in receiver.posts) == ["owner_action_required", "session_failed"]
