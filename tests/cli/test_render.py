"""The human lines for a full GET /status answer (the shape of owner_status.build_status), and for one with gaps."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from offpeak_cli import render, render_status

WARSAW = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 12, 1, 21, 4, tzinfo=WARSAW)
VIN = "5YJ3E7EB2NF000001"
TONIGHT = {
    "source": "special",
    "session_id": "special_3_20261202_0530",
    "state": "planned",
    "windows": [{"start": "2026-12-02T01:10:00+01:00", "end": "2026-12-02T05:30:00+01:00"}],
    "charging_start": "2026-12-02T01:10:00+01:00",
    "charging_end": "2026-12-02T05:30:00+01:00",
    "departure": "2026-12-02T06:30:00+01:00",
    "current_soc": 40.0,
    "target_soc": 90,
    "energy_kwh": 22.4,
    "estimated_cost": 11.2,
    "currency": "PLN",
    "feasible": True,
    "cost_on_arrival": 15.3,
    "saving": 4.1,
    "prices": [],
}
STATUS: dict[str, Any] = {
    "status": "degraded",
    "now": "2026-12-01T21:04:00+01:00",
    "timezone": "Europe/Warsaw",
    "vehicles": [
        {
            "vin": VIN,
            "last_seen": "2026-12-01T21:00:00+01:00",
            "vehicle_state": "online",
            "at_home": True,
            "distance_m": 12.0,
            "plugged_in": True,
            "charging_state": "Stopped",
            "battery_level": 40.0,
            "charge_limit": 80,
            "reading_at": "2026-12-01T20:58:00+01:00",
            "signing": {
                "mode": "auto",
                "required": True,
                "key_paired": False,
                "firmware_version": "2024.44.25",
                "checked_at": "2026-12-01T20:30:00+01:00",
            },
            "tonight": TONIGHT,
        }
    ],
    "needs": [
        {"need_id": "need_3", "target_soc": 90, "departure": "2026-12-02T06:30:00+01:00", "status": "PLANNED"},
        {"need_id": "need_4", "target_soc": 80, "departure": "2026-12-05T07:00:00+01:00", "status": "PENDING"},
    ],
    "sessions": {
        "active": [],
        "next": {
            "session_id": "special_3_20261202_0530",
            "status": "SCHEDULED",
            "target_soc": 90,
            "departure": "2026-12-02T06:30:00+01:00",
            "charging_start": "2026-12-02T01:10:00+01:00",
            "charging_end": "2026-12-02T05:30:00+01:00",
        },
        "recent": [],
    },
    "jobs": [
        {
            "name": "special-send-special-3-20261202-0530",
            "schedule": "10 22 1 12 *",
            "time_zone": "Etc/UTC",
            "uri": "https://worker.example/send-special-schedule",
            "path": "/send-special-schedule",
            "at": "2026-12-01T23:10:00+01:00",
        },
        {"name": "special-odd", "schedule": "*/5 * * * *", "time_zone": "Etc/UTC", "uri": "https://w/x", "at": None},
    ],
    "tokens": {"state": "ok", "reason": None, "expires_at": "2026-12-01T22:00:00+01:00", "refreshed_at": None},
    "owner_actions": [{"vin": VIN, "code": "key_not_paired", "remedy": "open https://tesla.com/_ak/example.com"}],
    "events": [
        {
            "event": "send_failed",
            "severity": "ERROR",
            "message": "the car stayed offline",
            "remedy": "check its connection",
            "at": "2026-12-01T19:00:00+01:00",
        }
    ],
    "usage": {
        "month": "2026-12",
        "fleet_api": {"data": 12, "commands": 2, "wakes": 1, "cost_usd": 0.046, "monthly_discount_usd": 10.0},
        "gcp": {"worker_requests": 30},
    },
    "problems": [],
}
TONIGHT_LINE = (
    "charge 01:10–05:30, 22.4 kWh, est. 11.20 PLN; charging on arrival 15.30 PLN, saving 4.10 PLN (27 %) "
    "[special charging to 90 % by Wed 06:30]"
)


def test_status_names_every_part_the_owner_asked_for() -> None:
    assert render_status.status(STATUS, NOW) == [
        "worker: degraded (now Tue 21:04, Europe/Warsaw)",
        f"car {VIN}: last seen Tue 21:00 (online), at home, plugged in, charging Stopped, battery 40 %, limit 80 % "
        "(read Tue 20:58)",
        "  signing: auto, required; key NOT paired; firmware 2024.44.25 (checked Tue 20:30)",
        f"  tonight: {TONIGHT_LINE}",
        "need need_3  90 % by Wed 06:30  PLANNED",
        "need need_4  80 % by Sat 07:00  PENDING",
        "session next: special_3_20261202_0530 SCHEDULED, 90 % by Wed 06:30, charge 01:10–05:30",
        "jobs:",
        "  special-send-special-3-20261202-0530: Tue 23:10 -> /send-special-schedule",
        "  special-odd: */5 * * * * (Etc/UTC) -> https://w/x",
        "Tesla tokens: ok, access token until Tue 22:00",
        f"to do: key_not_paired ({VIN}): open https://tesla.com/_ak/example.com",
        "last failures:",
        "  Tue 19:00 ERROR send_failed: the car stayed offline — check its connection",
        "Fleet API 2026-12: 12 data, 2 commands, 1 wakes ($0.05 before Tesla's $10 discount)",
    ]


def test_plan_is_tonights_windows_energy_cost_and_saving_and_names_needs_still_waiting() -> None:
    assert render_status.tonight(STATUS, NOW) == [
        f"tonight: {TONIGHT_LINE}",
        "waiting: need_4 (80 % by Sat 07:00) is planned at the daily check; `tesla-offpeak check` runs it now",
    ]
    quiet = {"vehicles": [{"vin": VIN, "tonight": None}]}
    assert render_status.tonight(quiet, NOW) == ["tonight: nothing planned"]
    charging = {"vehicles": [{"tonight": {**TONIGHT, "source": "cycle", "state": "charging_window"}}]}
    assert render_status.tonight(charging, NOW)[0].endswith("(27 %) [everyday charging] (charging now)")


def test_missing_or_null_keys_give_question_marks_not_a_crash() -> None:
    lines = render_status.status({"vehicles": [{"vin": VIN, "signing": {"mode": "auto"}}], "jobs": "?"}, NOW)
    assert lines[:4] == [
        "worker: ? (now ?, ?)",
        f"car {VIN}: not seen by the scout yet, position unknown, plug unknown, charging ?, battery ? %, limit ? %",
        "  signing: auto; not checked with the car yet",
        "  tonight: nothing planned",
    ]
    assert {"needs: none waiting", "sessions: none active or planned", "jobs: none", "Tesla tokens: ?"} <= set(lines)
    assert render_status.status({}, NOW)[-1] == "last failures: none"
    assert render_status.tonight({}, NOW) == ["no vehicle reported by the worker"]


def test_a_car_away_is_shown_with_its_distance_from_home() -> None:
    car = {"vin": VIN, "at_home": False, "distance_m": 12345.0, "plugged_in": False}
    assert ", away (12.3 km from home), not plugged in," in render_status.status({"vehicles": [car]}, NOW)[1]


def test_plans_that_cannot_make_it_or_need_nothing_say_so() -> None:
    short = {**TONIGHT, "feasible": False, "target_soc": 90}
    assert render.plan_summary(short, NOW).startswith("cannot reach 90 % in time; best: charge 01:10–05:30")
    assert render.plan_summary({"windows": [], "current_soc": 85}, NOW) == "nothing to charge (the car has 85 %)"
    assert render.plan_summary({"windows": [], "feasible": False}, NOW) == "no charging window fits before the deadline"


def test_times_further_than_a_day_or_a_week_away_carry_their_day_and_date() -> None:
    assert render.span("2026-12-03T01:10:00+01:00", "2026-12-03T05:30:00+01:00", NOW) == "Thu 01:10–05:30"
    assert render.moment("2026-12-24T07:00:00+01:00", NOW) == "Thu 24 Dec 07:00"
    assert render.moment("2027-01-02T07:00:00+01:00", NOW) == "Sat 02 Jan 2027 07:00"
    assert render.moment("2026-12-02T06:30:00+00:00", NOW) == "Wed 07:30"  # shown in the household's zone


def test_the_daily_checks_answer_lists_each_session() -> None:
    answer = {
        "sessions": [
            {
                "session_id": "special_3_20261202_0530",
                "need_id": "need_3",
                "status": "SCHEDULED",
                "target_soc": 90,
                "departure": "2026-12-02T06:30:00+01:00",
                "send_schedule_at": "2026-12-01T23:10:00+01:00",
                "charging_start": "2026-12-02T01:10:00+01:00",
                "charging_end": "2026-12-02T05:30:00+01:00",
                "estimated_cost": 11.2,
            },
            {"session_id": "special_4_x", "need_id": "need_4", "status": "COMPLETED", "target_soc": 60},
        ],
        "swept": {"sessions_closed": 0, "jobs_deleted": 1},
    }
    assert render.daily_check(answer, NOW) == [
        "daily check: 2 session(s) created",
        "  special_3_20261202_0530 (need_3, SCHEDULED): 90 % by Wed 06:30; send Tue 23:10, charge 01:10–05:30, "
        "est. 11.20",
        "  special_4_x (need_4, COMPLETED): 60 % by ?; nothing to charge",
        "swept: 0 overdue session(s) closed, 1 stale job(s) deleted",
    ]


def test_a_saving_that_rounds_to_nothing_is_zero_not_minus_zero() -> None:
    even = {"vehicles": [{"tonight": {**TONIGHT, "estimated_cost": 8.3, "cost_on_arrival": 8.3, "saving": -0.001}}]}
    assert "charging on arrival 8.30 PLN, saving 0.00 PLN (0 %)" in render_status.tonight(even, NOW)[0]
