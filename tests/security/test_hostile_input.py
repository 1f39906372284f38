"""Hostile input, one kind at a time: every answer a 4xx with the contract's error JSON and a message.

Oversize bodies, ids outside their patterns, broken JSON, wrong types, null bytes, absurd numbers
(also NaN and Infinity, which Python's json would otherwise accept) and absurd dates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.worker_app import FakeWorld, fake_world

DEPARTURE = "2026-11-24T07:00:00+01:00"
BODY_ENDPOINTS = (
    "/refresh-tokens",
    "/scout-trigger",
    "/run-cycle",
    "/daily-special-charging-check",
    "/send-special-schedule",
    "/cleanup-single-session",
    "/special-charging-needs",
    "/plan-preview",
)


@pytest.fixture
def world(tmp_path: Path) -> FakeWorld:
    return fake_world(tmp_path)


def post_raw(world: FakeWorld, path: str, raw: bytes) -> tuple[int, dict[str, Any]]:
    answer = world.app.test_client().post(path, data=raw, headers=world.headers(), content_type="application/json")
    return answer.status_code, answer.get_json()


def refused(status: int, body: Any, expected: int = 400) -> bool:
    return (
        status == expected
        and isinstance(body, dict)
        and body.get("status") == "error"
        and isinstance(body.get("error"), str)
        and isinstance(body.get("message"), str)
        and len(body["message"]) > 10
    )


def nothing_stored(world: FakeWorld) -> bool:
    return world.store.list("special_charging_needs") == [] and world.scheduler.jobs == {}


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
def test_oversize_bodies_are_refused_with_413_before_any_work(world: FakeWorld, path: str) -> None:
    raw = b'{"reason": "' + b"x" * (64 * 1024) + b'"}'
    status, body = post_raw(world, path, raw)
    assert refused(status, body, 413), (path, status, body)
    assert world.car.calls == [] and world.tesla_tokens.calls == 0 and nothing_stored(world)


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"session_id": }',
        b"{'session_id': 'x'}",
        b'{"a": 1,}',
        b"\xff\xfe{}",
        b"nul",
        b'"just a string"',
        b"42",
        b'{"a": ' + b"[" * 30000 + b"]" * 30000 + b"}",
        b'{"session_id": "special_1_20261124_0700", "session_id\\u0000": 1}',
    ],
    ids=[
        "unclosed",
        "missing_value",
        "single_quotes",
        "trailing_comma",
        "not_utf8",
        "bare_word",
        "string",
        "number",
        "nested_30000_deep",
        "null_in_a_key",
    ],
)
@pytest.mark.parametrize(
    "path", ["/send-special-schedule", "/special-charging-needs", "/plan-preview", "/scout-trigger"]
)
def test_invalid_json_is_a_400_with_a_message(world: FakeWorld, path: str, raw: bytes) -> None:
    status, body = post_raw(world, path, raw)
    assert refused(status, body), (path, raw, status, body)
    assert nothing_stored(world)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"target_soc": NaN, "departure": "%s"}',
        b'{"target_soc": Infinity, "departure": "%s"}',
        b'{"target_soc": -Infinity, "departure": "%s"}',
        b'{"target_soc": 1e999, "departure": "%s"}',
        b'{"target_soc": 1e308, "departure": "%s"}',
        b'{"target_soc": -1, "departure": "%s"}',
        b'{"target_soc": 80.5, "departure": "%s"}',
        b'{"target_soc": ' + b"9" * 5000 + b', "departure": "%s"}',
        b'{"target_soc": "80", "departure": "%s"}',
        b'{"target_soc": [80], "departure": "%s"}',
        b'{"target_soc": {"value": 80}, "departure": "%s"}',
        b'{"target_soc": null, "departure": "%s"}',
        b'{"target_soc": true, "departure": "%s"}',
    ],
)
def test_absurd_or_ill_typed_numbers_are_refused(world: FakeWorld, raw: bytes) -> None:
    for path in ("/special-charging-needs", "/plan-preview"):
        status, body = post_raw(world, path, raw.replace(b"%s", DEPARTURE.encode()))
        assert refused(status, body), (path, raw[:60], status, body)
    assert nothing_stored(world)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"target_soc": 80, "departure": "%s", "current_soc": NaN}',
        b'{"target_soc": 80, "departure": "%s", "current_soc": -1}',
        b'{"target_soc": 80, "departure": "%s", "current_soc": 1e308}',
        b'{"target_soc": 80, "departure": "%s", "current_soc": "40"}',
        b'{"target_soc": 80, "departure": "%s", "now": 1700000000}',
    ],
)
def test_plan_preview_refuses_absurd_current_soc_and_now(world: FakeWorld, raw: bytes) -> None:
    status, body = post_raw(world, "/plan-preview", raw.replace(b"%s", DEPARTURE.encode()))
    assert refused(status, body), (raw, status, body)


@pytest.mark.parametrize(
    "departure",
    [
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00+00:00",
        "2026-11-24T07:00:00",  # no offset
        "2026-02-30T07:00:00+01:00",
        "2026-11-24T07:00:00+25:00",
        "2026-11-24T25:00:00+01:00",
        "2026-11-23T21:59:00+01:00",  # a minute ago
        "2027-12-01T07:00:00+01:00",  # more than a year ahead
        "",
        "tomorrow 7am",
        "2026-11-24T07:00:00+01:00" + " " * 100,
        "2026-11-24T07:00:00\u0000+01:00",
    ],
)
def test_absurd_dates_are_refused(world: FakeWorld, departure: str) -> None:
    for path in ("/special-charging-needs", "/plan-preview"):
        status, body = post_raw(world, path, json.dumps({"target_soc": 80, "departure": departure}).encode())
        assert refused(status, body), (path, departure, status, body)
    assert nothing_stored(world)


@pytest.mark.parametrize(
    ("now", "departure"),
    [
        ("0001-01-01T00:00:00+00:00", "0001-01-02T07:00:00+00:00"),
        ("9999-12-30T00:00:00+00:00", "9999-12-31T07:00:00+00:00"),
        ("2026-11-23T20:00:00+01:00", "9999-12-31T07:00:00+00:00"),  # centuries of planning: a CPU sink
    ],
)
def test_plan_preview_refuses_moments_the_planner_cannot_or_should_not_plan(
    world: FakeWorld, now: str, departure: str
) -> None:
    body = {"target_soc": 80, "current_soc": 40, "now": now, "departure": departure}
    status, answer = post_raw(world, "/plan-preview", json.dumps(body).encode())
    assert refused(status, answer), (now, departure, status, answer)


@pytest.mark.parametrize(
    "session_id",
    [
        None,
        5,
        ["special_1_20261124_0700"],
        {"id": "special_1_20261124_0700"},
        "",
        "special_1_20261124_0700\n",
        "special_1_20261124_0700 ",
        "special_1_20261124_07000",
        "special_1234567_20261124_0700",
        "special_١_٢٠٢٦١١٢٤_٠٧٠٠",  # Arabic-Indic digits: a regex \d would take them
        "special_1_20261124_0700\u0000",
        "../special_charging_needs/need_1",
        "SPECIAL_1_20261124_0700",
    ],
)
def test_session_ids_outside_their_pattern_are_refused_in_bodies_and_paths(world: FakeWorld, session_id: Any) -> None:
    for path in ("/send-special-schedule", "/cleanup-single-session"):
        status, body = post_raw(world, path, json.dumps({"session_id": session_id}).encode())
        assert refused(status, body), (path, session_id, status, body)
    if isinstance(session_id, str) and session_id and "/" not in session_id:
        path = f"/special-charging-sessions/{quote(session_id, safe='')}"
        answer = world.app.test_client().get(path, headers=world.headers())
        assert refused(answer.status_code, answer.get_json()), (session_id, answer.status_code)
    assert world.store.calls["update"] == 0


@pytest.mark.parametrize("need_id", ["need_", "need_1!", "need_" + "a" * 41, "NEED_1", "need_١", "need_1%00", "x"])
def test_need_ids_outside_their_pattern_are_refused(world: FakeWorld, need_id: str) -> None:
    answer = world.app.test_client().delete(f"/special-charging-needs/{need_id}", headers=world.headers())
    assert refused(answer.status_code, answer.get_json()), (need_id, answer.status_code, answer.get_json())


@pytest.mark.parametrize(
    "body",
    [
        {"reason": 42},
        {"reason": ["x"]},
        {"reason": "x" * 201},
        {"vin": {"$ne": None}},
        {"at_home": "yes"},
        {"distance_m": "12"},
        {"distance_m": True},
        {"charge_state": [1, 2]},
        {"vehicle_state": 1},
    ],
)
def test_wrong_types_in_the_scout_trigger_are_refused_and_nothing_is_sent(
    world: FakeWorld, body: dict[str, Any]
) -> None:
    status, answer = post_raw(world, "/scout-trigger", json.dumps(body).encode())
    assert refused(status, answer), (body, status, answer)
    assert world.car.calls == []


def test_non_finite_numbers_in_the_scout_trigger_are_refused(world: FakeWorld) -> None:
    for raw in (b'{"distance_m": NaN}', b'{"charge_state": {"battery_level": Infinity}}'):
        status, answer = post_raw(world, "/scout-trigger", raw)
        assert refused(status, answer), (raw, status, answer)
    assert world.car.calls == []


@pytest.mark.parametrize("reason", [42, False, ["x"], {"a": 1}, "x" * 201])
def test_a_refresh_reason_of_the_wrong_type_is_refused_without_refreshing(world: FakeWorld, reason: Any) -> None:
    status, body = post_raw(world, "/refresh-tokens", json.dumps({"reason": reason}).encode())
    assert refused(status, body), (reason, status, body)
    assert world.tesla_tokens.calls == 0


def test_null_bytes_anywhere_are_refused(world: FakeWorld) -> None:
    cases = [
        ("/special-charging-needs", b'{"target_soc": 80, "departure": "2026-11-24T07:00:00+01:00"}\x00'),
        ("/special-charging-needs", b'{"target_soc": 80, "departure": "2026-11-24T07:00:00+01:00\\u0000"}'),
        ("/send-special-schedule", b'{"session_id": "\\u0000special_1_20261124_0700"}'),
        ("/plan-preview", b'{"target_soc": 80, "departure": "\\u00002026-11-24T07:00:00+01:00"}'),
    ]
    for path, raw in cases:
        status, body = post_raw(world, path, raw)
        assert refused(status, body), (path, raw, status, body)
    answer = world.app.test_client().get("/special-charging-sessions/special_1%00", headers=world.headers())
    assert refused(answer.status_code, answer.get_json())
    assert nothing_stored(world)
