"""The Tesla simulator's model: sleep and wake, charging by schedule (midnight, DST, days, place), tokens, billing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.clock import ManualClock
from simulator.tesla_sim import SimConfig, SimError, TeslaSim
from simulator.tesla_sim.faults import FaultBook
from simulator.tesla_sim.schedules import ScheduleError, parse_days, schedule_from_body

VIN = "5YJ3E7EB2NF000001"
HOME = (52.2297, 21.0122)
WARSAW = ZoneInfo("Europe/Warsaw")


def local(text: str) -> datetime:
    """A Warsaw wall time as an aware instant."""
    return datetime.fromisoformat(text).replace(tzinfo=WARSAW)


def make_sim(start: datetime, **vehicle: Any) -> tuple[TeslaSim, ManualClock]:
    """A sim with one car; a pre-2021 Model S unless told otherwise, so plain REST commands drive it."""
    clock = ManualClock(start)
    sim = TeslaSim(clock, refresh_token="rt-initial")
    sim.add_vehicle(VIN, latitude=HOME[0], longitude=HOME[1], **{"preset": "legacy_model_s", **vehicle})
    return sim, clock


def schedule(
    schedule_id: int = 1, start: str | None = "22:00", end: str | None = "06:00", **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": schedule_id,
        "days_of_week": "All",
        "enabled": True,
        "start_enabled": start is not None,
        "start_time": _minutes(start),
        "end_enabled": end is not None,
        "end_time": _minutes(end),
        "lat": HOME[0],
        "lon": HOME[1],
        "one_time": False,
    }
    body.update(extra)
    return body


def _minutes(hhmm: str | None) -> int:
    if hhmm is None:
        return 0
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def command(sim: TeslaSim, name: str, body: dict[str, Any] | None = None, via_proxy: bool = False) -> dict[str, Any]:
    return sim.command(VIN, name, body or {}, via_proxy=via_proxy)


def soc(sim: TeslaSim) -> float:
    return float(sim.snapshot(VIN)["battery_level"])


# ---- sleep and wake ------------------------------------------------------------------------------


def test_an_idle_car_falls_asleep_after_fifteen_minutes() -> None:
    sim, clock = make_sim(local("2026-11-23T12:00"), asleep=False)
    clock.advance(timedelta(minutes=15) - timedelta(seconds=1))
    assert sim.vehicle(VIN)["state"] == "online"
    clock.advance(timedelta(seconds=1))
    assert sim.vehicle(VIN)["state"] == "asleep"


def test_state_calls_do_not_keep_the_car_awake_but_data_calls_do() -> None:
    sim, clock = make_sim(local("2026-11-23T12:00"), asleep=False)
    for _ in range(14):
        clock.advance(timedelta(minutes=1))
        assert sim.vehicle(VIN)["state"] == "online"
    clock.advance(timedelta(minutes=1))
    assert sim.vehicle(VIN)["state"] == "asleep"

    sim2, clock2 = make_sim(local("2026-11-23T12:00"), asleep=False)
    clock2.advance(timedelta(minutes=10))
    sim2.vehicle_data(VIN, "charge_state")
    clock2.advance(timedelta(minutes=10))
    assert sim2.vehicle(VIN)["state"] == "online"
    clock2.advance(timedelta(minutes=5))
    assert sim2.vehicle(VIN)["state"] == "asleep"


def test_vehicle_data_and_commands_answer_408_while_asleep() -> None:
    sim, _ = make_sim(local("2026-11-23T12:00"))
    with pytest.raises(SimError) as data_error:
        sim.vehicle_data(VIN, "location_data;charge_state")
    assert data_error.value.status == 408
    assert data_error.value.body() == {
        "response": None,
        "error": "vehicle unavailable: vehicle is offline or asleep",
        "error_description": "",
    }
    with pytest.raises(SimError) as command_error:
        command(sim, "set_charge_limit", {"percent": 70})
    assert command_error.value.status == 408
    assert sim.snapshot(VIN)["charge_limit"] == 80


def test_wake_up_brings_the_car_online_after_the_wake_delay_only() -> None:
    sim, clock = make_sim(local("2026-11-23T12:00"))
    assert sim.wake_up(VIN)["state"] == "asleep"
    clock.advance(timedelta(seconds=10))
    sim.wake_up(VIN)  # a second wake_up does not restart the delay
    clock.advance(timedelta(seconds=9))
    assert sim.vehicle(VIN)["state"] == "asleep"
    clock.advance(timedelta(seconds=1))
    assert sim.vehicle(VIN)["state"] == "online"
    assert sim.vehicle_data(VIN, "charge_state")["charge_state"]["battery_level"] == 50


def test_wake_delay_is_configurable() -> None:
    clock = ManualClock(local("2026-11-23T12:00"))
    sim = TeslaSim(clock, refresh_token="rt", config=SimConfig(wake_delay_s=45))
    sim.add_vehicle(VIN)
    sim.wake_up(VIN)
    clock.advance(timedelta(seconds=44))
    assert sim.vehicle(VIN)["state"] == "asleep"
    clock.advance(timedelta(seconds=1))
    assert sim.vehicle(VIN)["state"] == "online"


def test_a_car_told_to_stay_asleep_ignores_wake_up_and_an_offline_car_reports_offline() -> None:
    sim, clock = make_sim(local("2026-11-23T12:00"))
    sim.set_stay_asleep(VIN)
    sim.wake_up(VIN)
    clock.advance(timedelta(minutes=5))
    assert sim.vehicle(VIN)["state"] == "asleep"
    sim.set_stay_asleep(VIN, False)
    sim.set_offline(VIN)
    sim.wake_up(VIN)
    clock.advance(timedelta(minutes=5))
    assert sim.vehicle(VIN)["state"] == "offline"


# ---- charging --------------------------------------------------------------------------------------


def test_charges_only_inside_its_schedule_and_never_above_the_limit() -> None:
    sim, clock = make_sim(local("2026-11-23T23:00"), asleep=False, plugged_in=True, battery_level=40, charge_limit=60)
    command(sim, "add_charge_schedule", schedule(start="01:00", end="05:00"))
    clock.set(local("2026-11-24T00:59"))
    assert soc(sim) == 40 and sim.snapshot(VIN)["charging_state"] == "Stopped"
    clock.set(local("2026-11-24T02:00"))
    assert soc(sim) == pytest.approx(40 + 11 * 0.9 / 75 * 100)  # one hour at 11 kW, 90 % efficient
    assert sim.snapshot(VIN)["charging_state"] == "Charging"
    clock.set(local("2026-11-24T05:00"))
    snap = sim.snapshot(VIN)
    assert snap["battery_level"] == 60 and snap["charging_state"] == "Complete"
    [segment] = snap["charge_log"]
    assert datetime.fromisoformat(segment["start"]) == local("2026-11-24T01:00")
    assert segment["grid_kwh"] == pytest.approx(20 / 100 * 75 / 0.9, abs=1e-3)


def test_a_window_crossing_midnight_charges_from_evening_to_morning() -> None:
    sim, clock = make_sim(
        local("2026-11-23T12:00"),
        asleep=False,
        plugged_in=True,
        battery_level=10,
        charge_limit=100,
        charger_power_kw=2.0,
    )
    command(sim, "add_charge_schedule", schedule(start="22:00", end="06:00"))
    clock.set(local("2026-11-24T12:00"))
    [segment] = sim.snapshot(VIN)["charge_log"]
    assert datetime.fromisoformat(segment["start"]) == local("2026-11-23T22:00")
    assert datetime.fromisoformat(segment["end"]) == local("2026-11-24T06:00")
    assert soc(sim) == pytest.approx(10 + 8 * 1.8 / 75 * 100)


@pytest.mark.parametrize(
    ("evening", "hours"),
    [("2026-10-24T12:00", 9), ("2026-03-28T12:00", 7), ("2026-11-21T12:00", 8)],
    ids=["autumn-back-9h", "spring-forward-7h", "ordinary-8h"],
)
def test_a_warsaw_dst_night_charges_for_its_real_length(evening: str, hours: int) -> None:
    start = local(evening)
    sim, clock = make_sim(
        start, asleep=False, plugged_in=True, battery_level=10, charge_limit=100, charger_power_kw=2.0
    )
    command(sim, "add_charge_schedule", schedule(start="22:00", end="06:00"))
    clock.set(start + timedelta(days=1))
    [segment] = sim.charge_log(VIN)
    assert (segment[1] - segment[0]) == timedelta(hours=hours)
    assert segment[2] == pytest.approx(2.0 * hours)
    assert soc(sim) == pytest.approx(10 + hours * 1.8 / 75 * 100)


def test_a_weekday_schedule_does_not_charge_on_weekend_nights() -> None:
    saturday_noon = local("2026-11-21T12:00")
    sim, clock = make_sim(saturday_noon, asleep=False, plugged_in=True, battery_level=10, charge_limit=100)
    command(sim, "add_charge_schedule", schedule(days_of_week="Weekdays"))
    clock.set(local("2026-11-23T12:00"))  # Monday noon: the Saturday and Sunday windows are skipped
    assert sim.charge_log(VIN) == []
    clock.set(local("2026-11-24T12:00"))
    [(start, _, _)] = sim.charge_log(VIN)
    assert start == local("2026-11-23T22:00")


@pytest.mark.parametrize(("reading", "charges_on_saturday"), [("every_day", False), ("covered_days", True)])
def test_a_weekday_schedule_on_a_weekend_day_follows_the_chosen_reading(
    reading: str, charges_on_saturday: bool
) -> None:
    """Tesla leaves open whether an uncovered day charges at once on plug-in; the sim plays both."""
    clock = ManualClock(local("2026-11-21T10:00"))  # a Saturday
    sim = TeslaSim(clock, refresh_token="rt-initial", config=SimConfig(schedule_reading=reading))
    sim.add_vehicle(VIN, preset="legacy_model_s", latitude=HOME[0], longitude=HOME[1], asleep=False, battery_level=40)
    command(sim, "add_charge_schedule", schedule(days_of_week="Weekdays"))
    sim.plug(VIN)
    clock.advance(timedelta(hours=1))
    assert (sim.snapshot(VIN)["charging_state"] == "Charging") is charges_on_saturday
    clock.set(local("2026-11-23T12:00"))  # Monday noon: Monday is covered, so outside 22-06 it waits
    assert sim.snapshot(VIN)["charging_state"] in ("Stopped", "Complete")


def test_charging_outside_every_schedule_window_is_logged_as_unscheduled() -> None:
    sim, clock = make_sim(local("2026-11-23T18:00"), asleep=False, battery_level=40, charge_limit=80)
    sim.plug(VIN)  # no schedule yet: it charges at once, which nobody planned
    clock.advance(timedelta(minutes=30))
    command(sim, "add_charge_schedule", schedule(start="22:00", end="06:00"))
    clock.set(local("2026-11-24T07:00"))
    unplanned = sim.unscheduled_charging(VIN)
    assert [(a, b) for a, b, _ in unplanned] == [(local("2026-11-23T18:00"), local("2026-11-23T18:30"))]
    assert unplanned[0][2] == pytest.approx(5.5)  # 11 kW for half an hour
    assert all(a >= local("2026-11-23T22:00") for a, _, _ in sim.charge_log(VIN)[1:])


def test_an_unknown_schedule_reading_is_refused() -> None:
    with pytest.raises(ValueError, match="schedule_reading"):
        TeslaSim(ManualClock(local("2026-11-21T10:00")), refresh_token="rt", config=SimConfig(schedule_reading="x"))


def test_plugging_in_without_any_schedule_charges_at_once() -> None:
    sim, clock = make_sim(local("2026-11-23T18:00"), battery_level=70, charge_limit=80)
    sim.plug(VIN)
    clock.advance(timedelta(minutes=30))
    assert sim.snapshot(VIN)["charging_state"] == "Charging"
    assert soc(sim) == pytest.approx(70 + 0.5 * 9.9 / 75 * 100)


def test_a_schedule_applies_only_at_the_place_it_was_set_for() -> None:
    sim, clock = make_sim(local("2026-11-23T12:00"), asleep=False, plugged_in=True, battery_level=40)
    command(sim, "add_charge_schedule", schedule(start="22:00", end="06:00"))
    clock.advance(timedelta(minutes=30))
    assert sim.snapshot(VIN)["charging_state"] == "Stopped"
    sim.move(VIN, HOME[0] + 0.01, HOME[1])  # ~1.1 km away: no schedule there, so it charges at once
    clock.advance(timedelta(minutes=30))
    assert sim.snapshot(VIN)["charging_state"] == "Charging"


def test_a_one_time_schedule_runs_for_its_first_window_only() -> None:
    sim, clock = make_sim(local("2026-11-23T12:30"), asleep=False, plugged_in=True, battery_level=10, charge_limit=100)
    command(sim, "add_charge_schedule", schedule(1, start="12:00", end="12:30"))
    command(sim, "add_charge_schedule", schedule(2, start="01:00", end="02:00", one_time=True))
    clock.set(local("2026-11-25T12:45"))
    starts = [start for start, _, _ in sim.charge_log(VIN)]
    assert starts == [local("2026-11-24T01:00"), local("2026-11-24T12:00"), local("2026-11-25T12:00")]
    assert [s["id"] for s in sim.snapshot(VIN)["schedules"]] == [1]


def test_adding_a_schedule_with_the_same_id_replaces_it_and_remove_deletes_it() -> None:
    sim, _ = make_sim(local("2026-11-23T12:00"), asleep=False)
    command(sim, "add_charge_schedule", schedule(7, start="22:00", end="06:00"))
    command(sim, "add_charge_schedule", schedule(7, start="23:00", end="05:00"))
    [stored] = sim.vehicle_data(VIN, "charge_state")["charge_state"]["charge_schedules"]
    assert (stored["id"], stored["start_time"], stored["end_time"], stored["days_of_week"]) == (7, 1380, 300, 127)
    assert command(sim, "remove_charge_schedule", {"id": 7}) == {"result": True, "reason": ""}
    assert sim.vehicle_data(VIN, "charge_state")["charge_state"]["charge_schedules"] == []


def test_charge_stop_pauses_until_the_window_ends_and_charge_start_overrides_the_schedule() -> None:
    sim, clock = make_sim(local("2026-11-23T22:30"), asleep=False, plugged_in=True, battery_level=10, charge_limit=100)
    command(sim, "add_charge_schedule", schedule(start="22:00", end="06:00"))
    assert command(sim, "charge_stop") == {"result": True, "reason": ""}
    assert command(sim, "charge_stop") == {"result": False, "reason": "not_charging"}
    clock.set(local("2026-11-24T12:00"))
    assert sim.charge_log(VIN) == []
    sim.wake_up(VIN)  # it fell asleep meanwhile
    clock.advance(timedelta(seconds=20))
    assert command(sim, "charge_start") == {"result": True, "reason": ""}
    assert command(sim, "charge_start") == {"result": False, "reason": "is_charging"}
    clock.advance(timedelta(hours=1))
    assert soc(sim) == pytest.approx(10 + 9.9 / 75 * 100)


def test_charging_keeps_the_car_awake_and_it_sleeps_fifteen_minutes_after_completing() -> None:
    start = local("2026-11-23T18:00")
    sim, clock = make_sim(start, battery_level=79, charge_limit=80)
    sim.plug(VIN)
    done = start + timedelta(hours=0.75 / 9.9)  # 1 % of 75 kWh at 9.9 kW into the battery
    clock.set(done + timedelta(minutes=15) - timedelta(seconds=1))
    snap = sim.snapshot(VIN)
    assert snap["state"] == "online" and snap["charging_state"] == "Complete" and snap["battery_level"] == 80
    clock.advance(timedelta(seconds=2))
    assert sim.vehicle(VIN)["state"] == "asleep"


def test_a_scheduled_window_wakes_a_sleeping_car_to_charge_without_a_billed_wake() -> None:
    sim, clock = make_sim(local("2026-11-23T20:00"), asleep=False, plugged_in=True, battery_level=40)
    command(sim, "add_charge_schedule", schedule(start="22:00", end="06:00"))
    sim.force_sleep(VIN)
    clock.set(local("2026-11-23T21:59"))
    assert sim.vehicle(VIN)["state"] == "asleep"
    clock.set(local("2026-11-23T22:01"))
    snap = sim.snapshot(VIN)
    assert snap["state"] == "online" and snap["charging_state"] == "Charging"
    assert sim.counters()["wakes"] == 0


def test_set_charge_limit_reports_already_set_and_out_of_range_values() -> None:
    sim, _ = make_sim(local("2026-11-23T12:00"), asleep=False, charge_limit=80)
    assert command(sim, "set_charge_limit", {"percent": 80}) == {"result": False, "reason": "already_set"}
    assert command(sim, "set_charge_limit", {"percent": 30}) == {"result": False, "reason": "invalid_value"}
    assert command(sim, "set_charge_limit", {"percent": 90}) == {"result": True, "reason": ""}
    assert sim.snapshot(VIN)["charge_limit"] == 90
    with pytest.raises(SimError) as bad:
        command(sim, "set_charge_limit", {})
    assert bad.value.status == 400 and bad.value.error == "missing percent param"


def test_signed_command_cars_refuse_direct_commands_but_accept_them_through_the_proxy() -> None:
    sim, _ = make_sim(local("2026-11-23T12:00"), asleep=False, requires_signed_commands=True)
    with pytest.raises(SimError) as refused:
        command(sim, "set_charge_limit", {"percent": 70})
    assert refused.value.status == 403
    assert refused.value.error.startswith("Tesla Vehicle Command Protocol required")
    assert sim.snapshot(VIN)["charge_limit"] == 80
    assert command(sim, "set_charge_limit", {"percent": 70}, via_proxy=True) == {"result": True, "reason": ""}
    assert sim.snapshot(VIN)["charge_limit"] == 70


def test_unknown_vehicles_answer_404() -> None:
    sim, _ = make_sim(local("2026-11-23T12:00"))
    with pytest.raises(SimError) as missing:
        sim.vehicle("5YJ3E7EB2NF999999")
    assert missing.value.status == 404


# ---- schedule bodies ---------------------------------------------------------------------------------


def test_day_names_follow_the_vehicle_command_proxy_table() -> None:
    assert parse_days("All") == 127 and parse_days("Weekdays") == 62
    assert parse_days("TUES,thurs") == 4 | 16
    assert parse_days("Sunday, Saturday") == 1 | 64
    with pytest.raises(ScheduleError, match="unrecognized day name: Tue"):
        parse_days("Mon,Tue")


def test_schedule_bodies_need_the_fields_the_proxy_requires() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    body = schedule()
    del body["lat"]
    with pytest.raises(ScheduleError, match="missing lat param"):
        schedule_from_body(body, now)
    with pytest.raises(ScheduleError, match="invalid enabled param"):
        schedule_from_body({**schedule(), "enabled": "yes"}, now)
    with pytest.raises(ScheduleError, match="invalid start_time param"):
        schedule_from_body({**schedule(), "start_time": 1440}, now)
    assert schedule_from_body({**schedule(), "id": 0}, now).id == int(now.timestamp())


# ---- tokens ----------------------------------------------------------------------------------------


def test_refresh_tokens_rotate_and_each_works_only_once() -> None:
    sim, clock = make_sim(local("2026-11-23T12:00"))
    first = sim.token({"grant_type": "refresh_token", "client_id": "app", "refresh_token": "rt-initial"})
    assert first["expires_in"] == 28800 and first["refresh_token"] != "rt-initial"
    sim.authenticate(first["access_token"])  # the new pair's first use kills the old refresh token
    with pytest.raises(SimError) as reused:
        sim.token({"grant_type": "refresh_token", "client_id": "app", "refresh_token": "rt-initial"})
    assert reused.value.status == 401
    assert reused.value.body()["error"] == "invalid_grant"
    second = sim.token({"grant_type": "refresh_token", "client_id": "app", "refresh_token": first["refresh_token"]})
    assert second["access_token"] != first["access_token"]
    assert sim.account.live_refresh_tokens() == 1
    assert sim.counters()["token_refreshes"] == 2 and sim.counters()["rejected_refreshes"] == 1

    sim.authenticate(first["access_token"])  # an older access token still works until it expires
    clock.advance(timedelta(seconds=28800))
    with pytest.raises(SimError) as expired:
        sim.authenticate(second["access_token"])
    assert expired.value.status == 401
    with pytest.raises(SimError):
        sim.authenticate("made-up")


def test_a_configured_client_id_must_match() -> None:
    sim = TeslaSim(ManualClock(local("2026-11-23T12:00")), refresh_token="rt", client_id="the-app")
    with pytest.raises(SimError) as refused:
        sim.token({"grant_type": "refresh_token", "client_id": "other", "refresh_token": "rt"})
    assert refused.value.body()["error"] == "invalid_client"
    assert sim.token({"grant_type": "refresh_token", "client_id": "the-app", "refresh_token": "rt"})["access_token"]


# ---- billing and faults -------------------------------------------------------------------------------


def test_every_answer_below_500_is_billed_401s_included() -> None:
    sim, _ = make_sim(local("2026-11-23T12:00"))
    for status in (200, 408, 403, 429):
        sim.record("GET", "/x", "", status, "data", False)
    sim.record("GET", "/x", "", 500, "data", False)
    sim.record("GET", "/x", "", 401, "data", False)
    sim.record("POST", "/x", "", 200, "commands", False)
    sim.record("POST", "/x", "", 200, "wakes", False)
    sim.record("GET", "/x", "", 200, "state_calls", False)
    sim.record("POST", "/oauth2/v3/token", "", 200, None, False)
    sim.record("POST", "/proxy/x", "", 500, "commands", True, billed=True)  # a proxy 500 over a billed 408
    sim.record("POST", "/proxy/x", "", 400, "commands", True, billed=False)  # the proxy refused it itself
    counts = sim.counters()
    assert (counts["data"], counts["commands"], counts["wakes"], counts["state_calls"]) == (5, 2, 1, 1)
    assert counts["unauthorized"] == 1
    assert sim.cost_usd() == pytest.approx(5 / 500 + 2 / 1000 + 1 / 50)
    assert len(sim.requests()) == 12
    sim.reset()
    assert sim.counters()["data"] == 0 and sim.requests() == []


def test_faults_answer_the_next_n_matching_requests_first_match_wins() -> None:
    book = FaultBook()
    book.add("*/vehicle_data", status=503, count=2)
    book.add("*", status=429, retry_after=30, method="POST", count=None)
    assert book.take("GET", "/api/1/vehicles/V") is None
    first = book.take("GET", "/api/1/vehicles/V/vehicle_data")
    assert first is not None and first.status == 503
    assert book.take("GET", "/api/1/vehicles/V/vehicle_data") is not None
    assert book.take("GET", "/api/1/vehicles/V/vehicle_data") is None
    for _ in range(3):
        forever = book.take("POST", "/oauth2/v3/token")
        assert forever is not None and forever.retry_after == "30"
    book.clear()
    assert book.take("POST", "/oauth2/v3/token") is None
    with pytest.raises(ValueError):
        book.add("*")


def test_a_month_of_lazy_integration_is_exact_and_fast() -> None:
    start = local("2026-10-01T12:00")
    sim, clock = make_sim(
        start, asleep=False, plugged_in=True, battery_level=20, charge_limit=100, charger_power_kw=1.0
    )
    command(sim, "add_charge_schedule", schedule(start="01:00", end="02:00"))
    clock.set(local("2026-10-31T12:00"))  # 30 windows of one real hour each, DST night included
    log = sim.charge_log(VIN)
    assert len(log) == 30
    assert sum(kwh for _, _, kwh in log) == pytest.approx(30.0)
