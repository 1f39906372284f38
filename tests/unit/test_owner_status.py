"""The owner's status: build_status on fakes, the plan chart's geometry, the usage meter, the page's security helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.clock import ManualClock
from shared.domain.arrival_cost import cost_charging_from
from shared.domain.local_departure import local_departure
from shared.domain.prices import PriceInterval
from shared.errors import ConfigError, StoreUnavailable
from shared.ports import HttpJob
from shared.prices.errors import PriceSourceUnavailable
from shared.tesla.counting_session import CountingSession, billing_category
from simulator.tesla_sim import TeslaSim
from simulator.tesla_sim import create_app as create_sim_app
from simulator.wsgi_transport import WsgiAdapter
from tests.fakes.stores import InMemoryDocumentStore
from tests.support.worker_app import VIN, FakeWorld, fake_world
from worker_service.services import owner_browser, usage
from worker_service.services.owner_status import build_status
from worker_service.services.plan_chart import MARGIN_LEFT, MARGIN_RIGHT, WIDTH, plan_chart
from worker_service.services.planning import plan_charging

WARSAW = ZoneInfo("Europe/Warsaw")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=WARSAW)


# -- the chart -----------------------------------------------------------------------------------


def hourly_prices(start: datetime, hours: int, price: float = 1.0, cheap: range = range(0)) -> list[dict[str, Any]]:
    """Hour-long intervals in real time (stepped in UTC: zoneinfo arithmetic moves the wall clock)."""
    base = start.astimezone(UTC)
    return [
        {
            "start": (base + timedelta(hours=h)).astimezone(WARSAW).isoformat(),
            "end": (base + timedelta(hours=h + 1)).astimezone(WARSAW).isoformat(),
            "price_per_kwh": 0.5 if h in cheap else price,
        }
        for h in range(hours)
    ]


def test_window_bands_sit_where_their_times_fall_on_the_night() -> None:
    # 18:00 to 07:00 is 13 hours; charging 22:00–02:00 begins 4/13 of the way and lasts 4/13 of the width.
    tonight = {
        "prices": hourly_prices(local(23, 18), 13, cheap=range(4, 8)),
        "windows": [{"start": local(23, 22).isoformat(), "end": local(24, 2).isoformat()}],
        "departure": local(24, 7).isoformat(),
        "currency": "PLN",
        "estimated_cost": 12.5,
    }
    chart = plan_chart(tonight, WARSAW)
    assert chart is not None
    plot = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    [band] = chart.windows
    assert band.x == pytest.approx(MARGIN_LEFT + plot * 4 / 13, abs=0.01)
    assert band.width == pytest.approx(plot * 4 / 13, abs=0.02)
    assert (band.start, band.end) == ("22:00", "02:00")
    assert chart.departure_x == pytest.approx(MARGIN_LEFT + plot, abs=0.01)
    assert "22:00–02:00" in chart.description and "12.5 PLN" in chart.description


def test_the_price_line_steps_down_over_the_cheap_hours_and_breaks_at_a_gap() -> None:
    prices = hourly_prices(local(23, 22), 2) + hourly_prices(local(24, 1), 2, price=0.5)  # nothing 00:00–01:00
    chart = plan_chart({"prices": prices, "windows": [], "departure": local(24, 3).isoformat()}, WARSAW)
    assert chart is not None
    moves = [part for part in chart.price_path.split() if part.startswith("M")]
    assert len(moves) == 2  # the gap is not drawn as if it had a price
    first_y = float(moves[0].split(",")[1])
    second_y = float(moves[1].split(",")[1])
    assert second_y > first_y  # the cheaper run is drawn lower
    assert chart.segments == 4
    assert [t.label for t in chart.x_ticks][:3] == ["22:00", "23:00", "00:00"]


def test_now_and_departure_markers_and_nothing_to_draw() -> None:
    tonight = {"prices": hourly_prices(local(23, 20), 10), "departure": local(24, 6).isoformat()}
    chart = plan_chart(tonight, WARSAW, now=local(23, 21).astimezone(UTC))
    assert chart is not None and chart.now_x is not None and chart.departure_x is not None
    assert chart.now_x < chart.departure_x
    assert plan_chart({"prices": [], "windows": []}, WARSAW) is None


def test_a_25_hour_night_keeps_real_time_on_the_axis() -> None:
    # 25 October 2026: clocks go back at 03:00; 00:00–06:00 local is seven real hours.
    start = datetime(2026, 10, 25, 0, 0, tzinfo=WARSAW)
    tonight = {"prices": hourly_prices(start, 7), "departure": datetime(2026, 10, 25, 6, 0, tzinfo=WARSAW).isoformat()}
    chart = plan_chart(tonight, WARSAW)
    assert chart is not None
    labels = [t.label for t in chart.x_ticks]
    assert labels.count("02:00") == 2  # the repeated hour appears twice, a real hour apart


# -- the comparison with charging on arrival, and the form's local time --------------------------


def test_charging_on_arrival_pays_the_prices_from_the_reading_on() -> None:
    prices = [
        PriceInterval(local(23, 18), local(23, 22), 1.0),
        PriceInterval(local(23, 22), local(24, 6), 0.5),
    ]
    # 22 kWh at 11 kW from 21:00: one hour at 1.0, one at 0.5.
    assert cost_charging_from(prices, local(23, 21), 22.0, 11.0) == pytest.approx(11 * 1.0 + 11 * 0.5)
    assert cost_charging_from(prices, local(24, 5), 22.0, 11.0) is None  # runs past the known prices
    assert cost_charging_from(prices, local(23, 21), 0.0, 11.0) == 0.0


def test_the_form_time_becomes_an_aware_local_moment_and_a_skipped_time_is_refused() -> None:
    assert local_departure("2026-11-24", "07:00", WARSAW) == local(24, 7)
    assert local_departure("2026-11-24", "07:00", WARSAW).utcoffset() == timedelta(hours=1)
    with pytest.raises(ValueError, match="clocks go forward"):
        local_departure("2026-03-29", "02:30", WARSAW)
    for day, time_text in (
        ("24.11.2026", "07:00"),
        ("2026-02-30", "07:00"),
        ("2026-11-24", "7am"),
        ("2026-11-24", "25:00"),
    ):
        with pytest.raises(ValueError):
            local_departure(day, time_text, WARSAW)


# -- build_status on fakes -----------------------------------------------------------------------


def planned_world(tmp_path: Path) -> FakeWorld:
    """22:00 in Warsaw; the car arrived at 18:00 (read then) and got tonight's cycle plan."""
    world = fake_world(tmp_path)
    arrived = local(23, 18)
    world.store.set(
        "vehicle_readings",
        VIN,
        {"battery_level": 40.0, "charge_limit_soc": 80, "charging_state": "Stopped", "read_at": arrived.isoformat()},
    )
    world.store.set(
        "scout_state",
        VIN,
        {
            "vin": VIN,
            "vehicle_state": "asleep",
            "at_home": True,
            "distance_m": 3.0,
            "last_data_at": arrived.isoformat(),
            "updated_at": arrived.isoformat(),
        },
    )
    plan = plan_charging(
        world.settings,
        world.services.price_source(),
        current_soc=40,
        target_soc=80,
        departure=local(24, 7),
        now=arrived,
    ).to_dict()
    world.store.set("cycle_state", VIN, {"windows": plan["windows"], "plan": plan, "sent_at": arrived.isoformat()})
    return world


def test_build_status_shows_tonights_plan_on_its_prices_without_asking_the_car(tmp_path: Path) -> None:
    world = planned_world(tmp_path)
    status = build_status(world.services)
    assert world.car.calls == []  # no Tesla call, no wake
    assert world.tesla_tokens.calls == 0
    assert set(status) >= {"status", "now", "timezone", "vehicles", "needs", "sessions", "jobs", "tokens"}
    assert set(status) >= {"owner_actions", "events", "usage"}
    assert status["timezone"] == "Europe/Warsaw" and status["now"] == "2026-11-23T22:00:00+01:00"
    [car] = status["vehicles"]
    assert car["vehicle_state"] == "asleep" and car["at_home"] is True and car["plugged_in"] is True
    assert car["battery_level"] == 40.0 and car["charge_limit"] == 80
    assert set(car["signing"]) == {"mode", "required", "key_paired", "firmware_version", "checked_at"}
    tonight = car["tonight"]
    assert tonight["source"] == "cycle" and tonight["windows"]
    assert tonight["departure"] == "2026-11-24T07:00:00+01:00"
    assert tonight["currency"] == "PLN" and tonight["estimated_cost"] > 0
    assert tonight["prices"] and tonight["prices"][0]["start"] <= "2026-11-23T18:00:00+01:00"
    # G12w: 18:00 is a day-zone hour, the plan charges at night; charging at once would cost more.
    assert tonight["cost_on_arrival"] > tonight["estimated_cost"]
    assert tonight["saving"] == pytest.approx(tonight["cost_on_arrival"] - tonight["estimated_cost"], abs=0.011)
    assert status["status"] == "ok"


def test_a_live_special_session_is_tonights_plan_and_sessions_needs_jobs_are_listed(tmp_path: Path) -> None:
    world = planned_world(tmp_path)
    special_plan = {
        "windows": [{"start": local(24, 1).isoformat(), "end": local(24, 4).isoformat()}],
        "charging_start": local(24, 1).isoformat(),
        "charging_end": local(24, 4).isoformat(),
        "energy_kwh": 33.0,
        "estimated_cost": 9.9,
        "currency": "PLN",
        "now": local(23, 18).isoformat(),
    }
    session = {
        "session_id": "special_1_20261124_0500",
        "need_id": "need_1",
        "vin": VIN,
        "status": "SCHEDULED",
        "departure": local(24, 5).isoformat(),
        "charging_start": special_plan["charging_start"],
        "plan": special_plan,
        "claim": {"owner": "x"},
        "history": [{"at": local(23, 23).isoformat(), "event": "session created", "status": "SCHEDULED"}],
    }
    old = {
        **session,
        "session_id": "special_2_20261120_0700",
        "status": "FAILED",
        "departure": local(20, 7).isoformat(),
    }
    world.store.set("special_charging_sessions", session["session_id"], session)
    world.store.set("special_charging_sessions", old["session_id"], old)
    for need_id, state in (("need_1", "PLANNED"), ("need_2", "CANCELLED"), ("need_3", "PENDING")):
        world.store.set(
            "special_charging_needs",
            need_id,
            {"need_id": need_id, "status": state, "departure": local(25, 7).isoformat(), "target_soc": 90},
        )
    world.scheduler.create(
        HttpJob("special-send-special-1-20261124-0500", "0 22 23 11 *", "Etc/UTC", "http://w/send-special-schedule")
    )
    world.store.set("owner_events", "e1", {"event": "send_failed", "at": local(23, 10).isoformat(), "message": "a"})
    world.store.set("owner_events", "e2", {"event": "cleanup_failed", "at": local(23, 12).isoformat(), "message": "b"})

    status = build_status(world.services)

    tonight = status["vehicles"][0]["tonight"]
    assert tonight["source"] == "special" and tonight["session_id"] == "special_1_20261124_0500"
    assert tonight["departure"] == "2026-11-24T05:00:00+01:00"
    assert [n["need_id"] for n in status["needs"]] == ["need_1", "need_3"]  # open needs only
    assert status["sessions"]["next"]["session_id"] == "special_1_20261124_0500"
    assert "claim" not in status["sessions"]["next"]
    assert status["sessions"]["recent"][0]["session_id"] == "special_1_20261124_0500"  # newest departure first
    assert status["sessions"]["recent"][0]["history"][0]["event"] == "session created"
    [job] = status["jobs"]
    assert job["path"] == "/send-special-schedule" and job["at"] == "2026-11-23T23:00:00+01:00"
    assert [e["event"] for e in status["events"]] == ["cleanup_failed", "send_failed"]  # newest first
    assert world.car.calls == []


def test_tokens_owner_actions_and_usage_come_from_the_store_and_degrade_the_status(tmp_path: Path) -> None:
    world = planned_world(tmp_path)
    world.services.tokens.get_access_token()  # makes the record (fake token endpoint)
    world.store.set(
        "owner_actions",
        f"{VIN}-key_not_paired",
        {"vin": VIN, "code": "key_not_paired", "message": "m", "remedy": "pair it", "first_seen": "x"},
    )
    usage.count(world.store, world.clock, "data")
    usage.count(world.store, world.clock, "wakes")
    usage.count(world.store, world.clock, "wakes")
    status = build_status(world.services)
    assert status["tokens"]["state"] == "ok" and status["tokens"]["expires_at"] is not None
    assert status["owner_actions"][0]["remedy"] == "pair it"
    assert status["status"] == "degraded"
    fleet = status["usage"]["fleet_api"]
    assert (fleet["data"], fleet["commands"], fleet["wakes"]) == (1, 0, 2)
    assert fleet["cost_usd"] == pytest.approx(1 / 500 + 2 / 50)
    assert status["usage"]["month"] == "2026-11" and "README" in status["usage"]["gcp"]["cost_note"]


def test_a_store_outage_of_the_scheduler_leaves_the_rest_of_the_status(tmp_path: Path) -> None:
    world = planned_world(tmp_path)
    world.scheduler.fail_next("list", StoreUnavailable("Cloud Scheduler unavailable"))
    status = build_status(world.services)
    assert status["jobs"] == [] and status["problems"] and status["vehicles"][0]["tonight"]


class DownPriceSource:
    """A price feed that does not answer (what PriceSourceUnavailable means)."""

    currency = "PLN"

    def prices(self, start: datetime, end: datetime) -> list[PriceInterval]:
        raise PriceSourceUnavailable("the price feed did not answer")


def test_without_prices_the_plan_still_shows_and_says_why_the_curve_is_missing(tmp_path: Path) -> None:
    world = planned_world(tmp_path)
    world.services.price_source_factory = DownPriceSource
    tonight = build_status(world.services)["vehicles"][0]["tonight"]
    assert tonight["windows"] and tonight["prices"] == [] and tonight["cost_on_arrival"] is None
    assert "did not answer" in tonight["prices_error"]

    def unconfigured() -> DownPriceSource:
        raise ConfigError("ENTSOE_API_TOKEN is required for OFFPEAK_SOURCE=entsoe")

    world.services.price_source_factory = unconfigured
    status = build_status(world.services)
    assert status["vehicles"][0]["tonight"]["windows"] and "ENTSOE_API_TOKEN" in status["problems"][0]


# -- the usage meter -----------------------------------------------------------------------------


def test_usage_counts_per_utc_month_and_a_store_outage_only_loses_the_count() -> None:
    store, clock = InMemoryDocumentStore(), ManualClock(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    usage.count(store, clock, "commands")
    clock.advance(timedelta(hours=1))  # December in UTC
    usage.count(store, clock, "commands", 2)
    assert store.get("usage", "2026-11")["commands"] == 1  # type: ignore[index]
    assert store.get("usage", "2026-12")["commands"] == 2  # type: ignore[index]
    store.fail_next("update", StoreUnavailable("down"))
    usage.count(store, clock, "data")  # no exception
    assert "data" not in store.get("usage", "2026-12")  # type: ignore[operator]
    with pytest.raises(ValueError):
        usage.count(store, clock, "coffee")


@pytest.mark.parametrize(
    ("path", "category"),
    [
        ("/api/1/vehicles/5YJ3E7EB2NF000001/vehicle_data", "data"),
        ("/api/1/vehicles/fleet_status", "data"),
        ("/api/1/vehicles/5YJ3E7EB2NF000001/command/set_charge_limit", "commands"),
        ("/api/1/vehicles/5YJ3E7EB2NF000001/signed_command", "commands"),
        ("/api/1/vehicles/5YJ3E7EB2NF000001/wake_up", "wakes"),
        ("/api/1/vehicles/5YJ3E7EB2NF000001", None),
        ("/api/1/vehicles", None),
        ("/api/1/users/region", None),
        ("/oauth2/v3/token", None),
    ],
)
def test_billing_category_follows_teslas_price_list(path: str, category: str | None) -> None:
    assert billing_category(path) == category


def test_counting_session_counts_billed_answers_of_the_simulated_fleet_api() -> None:
    clock = ManualClock(datetime(2026, 11, 23, 21, 0, tzinfo=UTC))
    sim = TeslaSim(clock, refresh_token="EU_r", client_id="c")
    sim.add_vehicle(VIN, latitude=52.2, longitude=21.0, battery_level=50, charge_limit=80, plugged_in=True)
    store = InMemoryDocumentStore()
    session = CountingSession(usage.counter(store, clock))
    session.mount("http://", WsgiAdapter({"tesla.sim": create_sim_app(sim)}))
    access = session.post(
        "http://tesla.sim/oauth2/v3/token",
        data={"grant_type": "refresh_token", "client_id": "c", "refresh_token": "EU_r"},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {access}"}
    session.get(f"http://tesla.sim/api/1/vehicles/{VIN}", headers=headers)  # free
    session.post(f"http://tesla.sim/api/1/vehicles/{VIN}/wake_up", headers=headers)
    session.get(f"http://tesla.sim/api/1/vehicles/{VIN}/vehicle_data", headers=headers)  # 408 while waking: billed
    session.get(f"http://tesla.sim/api/1/vehicles/{VIN}/vehicle_data", headers={"Authorization": "Bearer bad"})
    doc = store.get("usage", "2026-11") or {}
    billed = sim.counters()
    assert doc.get("wakes") == billed["wakes"] == 1
    assert doc.get("data") == billed["data"] == 2 and billed["unauthorized"] == 1  # Tesla bills the 401 too
    assert "commands" not in doc


def test_counting_never_fails_the_call() -> None:
    def broken(category: str) -> None:
        raise RuntimeError("counter down")

    session = CountingSession(broken)
    clock = ManualClock(datetime(2026, 11, 23, 21, 0, tzinfo=UTC))
    sim = TeslaSim(clock, refresh_token="EU_r", client_id="c")
    session.mount("http://", WsgiAdapter({"tesla.sim": create_sim_app(sim)}))
    answer = session.post(f"http://tesla.sim/api/1/vehicles/{VIN}/wake_up", headers={"Authorization": "Bearer x"})
    assert answer.status_code == 401


# -- the page's security helpers -----------------------------------------------------------------

NOW = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)


def test_csrf_tokens_are_bound_to_the_caller_and_expire() -> None:
    key = b"k" * 32
    token = owner_browser.csrf_token(key, "browser:abc", NOW)
    assert owner_browser.csrf_token_valid(token, key, "browser:abc", NOW + timedelta(hours=23))
    assert not owner_browser.csrf_token_valid(token, key, "browser:other", NOW)
    assert not owner_browser.csrf_token_valid(token, b"j" * 32, "browser:abc", NOW)
    assert not owner_browser.csrf_token_valid(token, key, "browser:abc", NOW + timedelta(hours=25))
    assert not owner_browser.csrf_token_valid(token[:-1] + "A", key, "browser:abc", NOW)
    for bad in (None, "", "x", "1.2", "." * 300):
        assert not owner_browser.csrf_token_valid(bad, key, "browser:abc", NOW)


def test_login_cookie_is_signed_never_the_token_and_expires() -> None:
    key = b"c" * 32
    cookie = owner_browser.new_login_cookie(key, NOW)
    session_id = owner_browser.login_session(cookie, key, NOW + timedelta(hours=11))
    assert session_id and cookie.startswith(session_id)
    assert owner_browser.login_session(cookie, key, NOW + timedelta(hours=13)) is None
    assert owner_browser.login_session(cookie, b"d" * 32, NOW) is None
    forged = f"{session_id}.{int(NOW.timestamp()) + 3600}.{cookie.rsplit('.', 1)[1]}"
    assert owner_browser.login_session(forged, key, NOW) is None


@pytest.mark.parametrize(
    ("headers", "host", "same"),
    [
        ({"Origin": "http://127.0.0.1:8080"}, "127.0.0.1:8080", True),
        ({"Origin": "https://evil.example"}, "127.0.0.1:8080", False),
        ({"Origin": "http://127.0.0.1:9999"}, "127.0.0.1:8080", False),
        ({"Origin": "null"}, "127.0.0.1:8080", False),
        ({}, "127.0.0.1:8080", False),
        ({"Referer": "http://127.0.0.1:8080/"}, "127.0.0.1:8080", True),
        ({"Referer": "https://evil.example/x"}, "127.0.0.1:8080", False),
        ({"Origin": "https://tesla-worker-abc-ew.a.run.app"}, "tesla-worker-abc-ew.a.run.app", True),
        # gcloud run services proxy: the browser is on localhost, the proxy sets Host to the service.
        ({"Origin": "http://localhost:8080"}, "tesla-worker-abc-ew.a.run.app", True),
        ({"Origin": "http://[::1]:8080"}, "tesla-worker-abc-ew.a.run.app", True),
        ({"Origin": "http://localhost:8080", "Sec-Fetch-Site": "cross-site"}, "tesla-worker-abc-ew.a.run.app", False),
        ({"Origin": "http://evil.example"}, "tesla-worker-abc-ew.a.run.app", False),
    ],
)
def test_same_origin(headers: dict[str, str], host: str, same: bool) -> None:
    assert owner_browser.same_origin(headers, host) is same


def test_flash_messages_are_signed_and_short_lived() -> None:
    key = b"f" * 32
    value = owner_browser.flash_value(key, "error", "<b>bad</b>", NOW)
    assert owner_browser.read_flash(value, key, NOW + timedelta(seconds=30)) == ("error", "<b>bad</b>")
    assert owner_browser.read_flash(value, key, NOW + timedelta(minutes=5)) is None
    assert owner_browser.read_flash(value, b"g" * 32, NOW) is None
    assert owner_browser.read_flash("garbage", key, NOW) is None


def test_the_page_secret_is_made_once_and_shared_through_the_store() -> None:
    store = InMemoryDocumentStore()
    first = owner_browser.page_secret(store, {})
    assert owner_browser.page_secret(store, {}) == first  # another instance, same store
    cache: dict[str, Any] = {}
    owner_browser.page_secret(store, cache)
    reads = store.reads
    owner_browser.page_secret(store, cache)
    assert store.reads == reads and len(first) == 32
