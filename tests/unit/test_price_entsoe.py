"""ENTSO-E day-ahead prices: the recorded A44 answer read exactly, resolutions, DST days, gaps, refusals, areas."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from shared.errors import ConfigError
from shared.prices.entsoe_areas import resolve_area
from shared.prices.entsoe_document import EntsoeAcknowledgement, parse_a44
from shared.prices.entsoe_source import EntsoePriceSource, to_price_intervals
from shared.prices.errors import InvalidPriceData, PriceSourceRefused, PriceSourceUnavailable
from shared.settings import load_settings

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "api-samples" / "entsoe_A44_PL_2017-02-28_to_2017-03-02.xml"
WARSAW = ZoneInfo("Europe/Warsaw")
PL = "10YPL-AREA-----S"
TOKEN = "tok-3f9a7c1e-5b2d-4e8f-9a6b-0c1d2e3f4a5b"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def a44(*series: dict[str, Any]) -> bytes:
    """A Publication_MarketDocument with the given TimeSeries (currency, curve, periods of (start, end, res, points))."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>']
    parts.append('<Publication_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3">')
    parts.append("<type>A44</type>")
    for number, s in enumerate(series, start=1):
        parts.append(f"<TimeSeries><mRID>{number}</mRID><businessType>A62</businessType>")
        parts.append(f"<currency_Unit.name>{s.get('currency', 'EUR')}</currency_Unit.name>")
        parts.append("<price_Measure_Unit.name>MWH</price_Measure_Unit.name>")
        if "sequence" in s:
            position = s["sequence"]
            parts.append(
                f"<classificationSequence_AttributeInstanceComponent.position>{position}"
                "</classificationSequence_AttributeInstanceComponent.position>"
            )
        parts.append(f"<curveType>{s.get('curve', 'A03')}</curveType>")
        for start, end, resolution, points in s["periods"]:
            parts.append(f"<Period><timeInterval><start>{start}</start><end>{end}</end></timeInterval>")
            parts.append(f"<resolution>{resolution}</resolution>")
            parts += [
                f"<Point><position>{p}</position><price.amount>{v}</price.amount></Point>" for p, v in points.items()
            ]
            parts.append("</Period>")
        parts.append("</TimeSeries>")
    parts.append("</Publication_MarketDocument>")
    return "".join(parts).encode()


def acknowledgement(reason: str, code: str = "999") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<Acknowledgement_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0">'
        "<mRID>0f1b4861-0c96-4</mRID><createdDateTime>2026-03-28T14:56:57Z</createdDateTime>"
        f"<Reason><code>{code}</code><text>{reason}</text></Reason>"
        "</Acknowledgement_MarketDocument>"
    ).encode()


class FakePlatform:
    """Answers /api like the Transparency Platform: a set status and body; records each query."""

    def __init__(self) -> None:
        self.status = 200
        self.body = SAMPLE.read_bytes()
        self.queries: list[dict[str, list[str]]] = []


@pytest.fixture
def platform() -> Iterator[tuple[str, FakePlatform]]:
    fake = FakePlatform()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.queries.append(parse_qs(urlsplit(self.path).query))
            self.send_response(fake.status)
            self.send_header("Content-Type", "text/xml" if fake.body.startswith(b"<?xml") else "text/html")
            self.end_headers()
            self.wfile.write(fake.body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api", fake
    server.shutdown()
    server.server_close()


def source(url: str, eur_pln: float | None = 4.25) -> EntsoePriceSource:
    return EntsoePriceSource(token=TOKEN, area=PL, area_name="PL", eur_pln=eur_pln, base_url=url)


def test_the_recorded_answer_is_read_exactly() -> None:
    prices = parse_a44(SAMPLE.read_bytes())
    assert len(prices) == 66  # 24 + 18 + 24 hourly positions
    first, last = prices[0], prices[-1]
    assert (first.start, first.end, first.per_mwh, first.currency) == (
        utc("2017-02-27T23:00Z"),
        utc("2017-02-28T00:00Z"),
        22.58,
        "EUR",
    )
    assert (prices[18].start, prices[18].per_mwh) == (utc("2017-02-28T17:00Z"), 42.0)  # TimeSeries 1, position 19
    assert (prices[23].start, prices[23].per_mwh) == (utc("2017-02-28T22:00Z"), 29.44)
    # TimeSeries 2 starts at 05:00Z: the six hours before it have no price at all.
    assert (prices[24].start, prices[24].per_mwh) == (utc("2017-03-01T05:00Z"), 34.31)
    assert prices[23].end == utc("2017-02-28T23:00Z")
    assert (prices[41].start, prices[41].per_mwh, prices[41].currency) == (utc("2017-03-01T22:00Z"), 29.7, "EUR")
    assert (last.start, last.per_mwh, last.currency) == (utc("2017-03-02T22:00Z"), 102.79, "PLN")
    assert sum(p.currency == "PLN" for p in prices) == 24
    assert all(p.end - p.start == timedelta(hours=1) for p in prices)


def test_the_source_asks_for_a44_of_the_zone_and_gives_pln_per_kwh(platform: tuple[str, FakePlatform]) -> None:
    url, fake = platform
    intervals = source(url).prices(utc("2017-02-27T23:00Z"), utc("2017-03-02T23:00Z"))
    assert len(intervals) == 66
    assert intervals[0].price_per_kwh == pytest.approx(22.58 * 4.25 / 1000)  # EUR/MWh at 4.25 PLN/EUR
    assert intervals[-1].price_per_kwh == pytest.approx(0.10279)  # already PLN/MWh
    query = {key: values[0] for key, values in fake.queries[0].items()}
    assert query == {
        "securityToken": TOKEN,
        "documentType": "A44",
        "in_Domain": PL,
        "out_Domain": PL,
        "periodStart": "201702272300",
        "periodEnd": "201703022300",
    }


def test_one_request_per_planning_run_and_only_the_asked_time(platform: tuple[str, FakePlatform]) -> None:
    url, fake = platform
    prices = source(url)
    evening = prices.prices(utc("2017-02-28T18:30Z"), utc("2017-03-01T07:10Z"))
    # 18:30 falls inside the 18:00 hour; 23:00-05:00 is the gap; 07:10 inside the 07:00 hour.
    assert [i.start.hour for i in evening] == [18, 19, 20, 21, 22, 5, 6, 7]
    assert fake.queries[0]["periodStart"] == ["201702281800"] and fake.queries[0]["periodEnd"] == ["201703010800"]
    prices.prices(utc("2017-02-28T20:00Z"), utc("2017-03-01T06:00Z"))
    assert len(fake.queries) == 1
    assert prices.currency == "PLN"


def test_currencies_that_differ_need_a_rate() -> None:
    with pytest.raises(InvalidPriceData, match=r"mix currencies \(EUR, PLN\); set OFFPEAK_EUR_PLN"):
        to_price_intervals(parse_a44(SAMPLE.read_bytes()), None)
    currency, intervals = to_price_intervals(parse_a44(SAMPLE.read_bytes())[:24], None)
    assert currency == "EUR" and intervals[0].price_per_kwh == pytest.approx(0.02258)  # kept as published


def test_quarter_hours_and_hours_in_one_answer_the_finer_wins_where_both_exist() -> None:
    quarters = {p: 100 + p for p in range(1, 97)}
    hours = {p: 50 + p for p in range(1, 49)}
    document = a44(
        {"periods": [("2026-01-14T23:00Z", "2026-01-16T23:00Z", "PT60M", hours)]},
        {"periods": [("2026-01-14T23:00Z", "2026-01-15T23:00Z", "PT15M", quarters)]},
    )
    prices = parse_a44(document)
    assert len(prices) == 96 + 24
    assert all(p.end - p.start == timedelta(minutes=15) for p in prices[:96])
    assert (prices[5].start, prices[5].per_mwh) == (utc("2026-01-15T00:15Z"), 106.0)
    assert (prices[96].start, prices[96].per_mwh) == (utc("2026-01-15T23:00Z"), 75.0)  # hourly position 25
    assert prices[-1].end == utc("2026-01-16T23:00Z")


def test_a_repeated_classification_sequence_keeps_the_first_position() -> None:
    hours = [("2026-01-14T23:00Z", "2026-01-15T01:00Z", "PT60M", {1: 10, 2: 20})]
    second = {"sequence": 2, "periods": [("2026-01-14T23:00Z", "2026-01-15T01:00Z", "PT60M", {1: 99, 2: 99})]}
    prices = parse_a44(a44(second, {"sequence": 1, "periods": hours}))
    assert [p.per_mwh for p in prices] == [10.0, 20.0]


@pytest.mark.parametrize(
    ("day", "start", "end", "count"),
    [
        ("2026-03-29", "2026-03-28T23:00Z", "2026-03-29T22:00Z", 92),  # spring forward: 23 local hours
        ("2026-10-25", "2026-10-24T22:00Z", "2026-10-25T23:00Z", 100),  # fall back: 25 local hours
    ],
)
def test_daylight_saving_days_have_their_real_number_of_quarter_hours(
    day: str, start: str, end: str, count: int
) -> None:
    points = {p: float(p) for p in range(1, count + 1)}
    prices = parse_a44(a44({"periods": [(start, end, "PT15M", points)]}))
    assert len(prices) == count
    assert all(a.end == b.start for a, b in zip(prices, prices[1:], strict=False))
    local = [p.start.astimezone(WARSAW) for p in prices]
    assert local[0].isoformat()[:16] == f"{day}T00:00" and local[-1].isoformat()[:16] == f"{day}T23:45"
    if count == 92:  # 01:45 CET is followed by 03:00 CEST: 02:xx never shows on the clock
        assert [t.strftime("%H:%M") for t in local[7:9]] == ["01:45", "03:00"]
    else:  # the hour 02:00-03:00 runs twice, first in CEST then in CET
        assert [t.strftime("%H:%M%z") for t in local[8:16:4]] == ["02:00+0200", "02:00+0100"]


def test_a01_missing_positions_are_gaps_a03_missing_positions_hold_the_previous_price() -> None:
    period = [("2026-01-14T23:00Z", "2026-01-15T05:00Z", "PT60M", {1: 10, 2: 20, 5: 50})]
    fixed = parse_a44(a44({"curve": "A01", "periods": period}))
    assert [(p.start.hour, p.per_mwh) for p in fixed] == [(23, 10.0), (0, 20.0), (3, 50.0)]  # 01:00-03:00 missing
    blocks = parse_a44(a44({"curve": "A03", "periods": period}))
    # Under A03 a price holds until the next point, or the end of the period (04:00-05:00 here).
    held = [(23, 10.0), (0, 20.0), (1, 20.0), (2, 20.0), (3, 50.0), (4, 50.0)]
    assert [(p.start.hour, p.per_mwh) for p in blocks] == held
    later_start = parse_a44(
        a44({"curve": "A03", "periods": [("2026-01-14T23:00Z", "2026-01-15T02:00Z", "PT60M", {2: 7})]})
    )
    assert [(p.start.hour, p.per_mwh) for p in later_start] == [(0, 7.0), (1, 7.0)]  # nothing before position 1's price


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (a44({"periods": [("2026-01-14T23:00Z", "2026-01-15T00:00Z", "PT60M", {2: 5})]}), "position 2 is outside 1..1"),
        (a44({"periods": [("2026-01-14T23:00Z", "2026-01-15T00:10Z", "PT15M", {1: 5})]}), "is not whole steps"),
        (a44({"periods": [("2026-01-14T23:00Z", "2026-01-15T00:00Z", "P1Y", {1: 5})]}), "is not a duration"),
        (a44({"currency": "??", "periods": [("2026-01-14T23:00Z", "2026-01-15T00:00Z", "PT60M", {1: 5})]}), "currency"),
        (b"<html><body>Service unavailable</body></html>", "not a Publication_MarketDocument"),
        (b"not xml at all", "is not XML"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "DOCTYPE"),
    ],
)
def test_broken_answers_are_refused_saying_where(document: bytes, message: str) -> None:
    with pytest.raises(InvalidPriceData, match=message):
        parse_a44(document)


def test_a_refused_token_is_named_and_never_shown(platform: tuple[str, FakePlatform]) -> None:
    url, fake = platform
    fake.status, fake.body = 401, b"<html><head><title>401 Unauthorized</title></head><body>Unauthorized</body></html>"
    with pytest.raises(PriceSourceRefused, match="ENTSOE_API_TOKEN was refused") as caught:
        source(url).prices(utc("2026-01-15T00:00Z"), utc("2026-01-15T06:00Z"))
    assert TOKEN not in str(caught.value) and caught.value.__cause__ is None


def test_no_data_yet_is_a_clear_unavailable_error(platform: tuple[str, FakePlatform]) -> None:
    url, fake = platform
    fake.body = acknowledgement("No matching data found for Data item ENERGY_PRICES [12.1.D] (10YPL-AREA-----S)")
    with pytest.raises(PriceSourceUnavailable, match=r"for PL .* nothing published for that time \(No matching data"):
        source(url).prices(utc("2026-01-15T00:00Z"), utc("2026-01-15T06:00Z"))


def test_a_refused_request_gives_the_platforms_reason_without_the_token(platform: tuple[str, FakePlatform]) -> None:
    url, fake = platform
    fake.status = 400
    fake.body = acknowledgement(f"The combination of [in_Domain=10YXX] is not valid (securityToken={TOKEN})", "999")
    with pytest.raises(PriceSourceRefused, match=r"HTTP 400\): The combination of \[in_Domain=10YXX\]") as caught:
        source(url).prices(utc("2026-01-15T00:00Z"), utc("2026-01-15T06:00Z"))
    assert TOKEN not in str(caught.value)


def test_an_unreachable_platform_is_unavailable_without_its_address() -> None:
    with pytest.raises(PriceSourceUnavailable, match="could not be reached") as caught:
        source("http://127.0.0.1:9/api").prices(utc("2026-01-15T00:00Z"), utc("2026-01-15T06:00Z"))
    assert TOKEN not in str(caught.value) and "127.0.0.1" not in str(caught.value)


def test_an_acknowledgement_carries_its_reason() -> None:
    with pytest.raises(EntsoeAcknowledgement) as caught:
        parse_a44(acknowledgement("No matching data found"))
    assert caught.value.reason == "No matching data found"


def test_areas_by_name_or_code_and_unknown_ones_refused(tmp_path: Path) -> None:
    assert resolve_area("pl") == ("PL", PL)
    assert resolve_area("DE_LU") == ("DE-LU", "10Y1001A1001A82H")
    assert resolve_area("10YCZ-CEPS-----N") == ("CZ", "10YCZ-CEPS-----N")
    assert resolve_area("10YXX-UNLISTED-1")[1] == "10YXX-UNLISTED-1"  # shaped like an EIC: the platform decides
    env = {"STATE_DIR": str(tmp_path), "WORKER_AUTH_MODE": "none", "OFFPEAK_SOURCE": "entsoe"}
    with pytest.raises(ConfigError, match="ENTSOE_AREA is not a bidding zone"):
        load_settings({**env, "ENTSOE_API_TOKEN": TOKEN, "ENTSOE_AREA": "Narnia"})
    with pytest.raises(ConfigError, match="ENTSOE_API_TOKEN is required when OFFPEAK_SOURCE=entsoe"):
        load_settings(env)
    settings = load_settings({**env, "ENTSOE_API_TOKEN": TOKEN, "ENTSOE_AREA": "SK"})
    assert settings.entsoe_area == "10YSK-SEPS-----K" and TOKEN not in repr(settings)
    assert load_settings({**env, "ENTSOE_API_TOKEN": TOKEN}).entsoe_area == PL  # Poland by default


def test_prices_never_published_are_left_out_of_plans(platform: tuple[str, FakePlatform]) -> None:
    """A full planning run on the recorded answer: the six missing hours are never used."""
    from shared.domain.planner import plan_cheapest_charging

    url, _ = platform
    start, deadline = utc("2017-02-28T20:00Z"), utc("2017-03-01T09:00Z")
    prices = source(url)
    intervals = prices.prices(start, deadline)
    plan = plan_cheapest_charging(
        current_soc=20,
        target_soc=50,
        battery_kwh=60,
        charger_kw=11,
        efficiency=1.0,
        now=start,
        deadline=deadline,
        prices=intervals,
        currency=prices.currency,
        timezone=WARSAW,
        max_windows=2,
    )
    gap = (utc("2017-02-28T23:00Z"), utc("2017-03-01T05:00Z"))
    assert plan.feasible and plan.currency == "PLN"
    assert all(w.end <= gap[0] or w.start >= gap[1] for w in plan.windows)
