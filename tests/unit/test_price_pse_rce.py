"""PSE `rce-pln` against the recorded answer, served from a loopback server: units, interval ends, paging, caching."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit
from zoneinfo import ZoneInfo

import pytest

from shared.clock import ManualClock
from shared.domain.planner import plan_cheapest_charging
from shared.prices.errors import InvalidPriceData, PriceSourceUnavailable
from shared.prices.pse_rce_source import PseRcePriceSource, parse_rce_day

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "api-samples" / "pse_rce-pln_2026-06-15.json"
WARSAW = ZoneInfo("Europe/Warsaw")


class FakePse:
    """Answers `rce-pln` like PSE: records per business date, optional paging through a foreign nextLink."""

    def __init__(self) -> None:
        self.days: dict[str, list[dict[str, Any]]] = {"2026-06-15": json.loads(SAMPLE.read_text())["value"]}
        self.page_size = 1000
        self.requests: list[dict[str, list[str]]] = []
        self.status = 200

    def answer(self, path: str) -> tuple[int, dict[str, Any]]:
        query = parse_qs(urlsplit(path).query)
        self.requests.append(query)
        day = query["$filter"][0].split("'")[1]
        skip = int(query.get("$skip", ["0"])[0])
        records = self.days.get(day, [])
        page: dict[str, Any] = {"value": records[skip : skip + self.page_size]}
        if skip + self.page_size < len(records):
            # PSE's links have been seen with another scheme and host: the source must stay on its own base.
            page["nextLink"] = (
                f"http://internal.pse.invalid/api/rce-pln?$filter={quote(query['$filter'][0])}&$skip={skip + self.page_size}"
            )
        return self.status, page


@pytest.fixture
def pse() -> Iterator[tuple[str, FakePse]]:
    fake = FakePse()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, page = fake.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(page).encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/rce-pln", fake
    server.shutdown()
    server.server_close()


def source(base_url: str, now: datetime = datetime(2026, 6, 14, 16, 0, tzinfo=UTC)) -> PseRcePriceSource:
    return PseRcePriceSource(clock=ManualClock(now), base_url=base_url)


DAY_START = datetime(2026, 6, 15, tzinfo=WARSAW)


def test_the_recorded_day_becomes_96_quarter_hours_in_pln_per_kwh(pse: tuple[str, FakePse]) -> None:
    url, fake = pse
    intervals = source(url).prices(DAY_START, DAY_START + timedelta(days=1))
    assert len(intervals) == 96
    # dtime is the END of the interval: the first record (dtime 00:15, 432.7 PLN/MWh) is 00:00-00:15 local.
    assert intervals[0].start == datetime(2026, 6, 14, 22, 0, tzinfo=UTC)
    assert intervals[0].end == datetime(2026, 6, 14, 22, 15, tzinfo=UTC)
    assert intervals[0].price_per_kwh == pytest.approx(0.4327)
    assert intervals[-1].end == datetime(2026, 6, 15, 22, 0, tzinfo=UTC)  # "23:45 - 24:00", dtime next day 00:00
    assert intervals[-1].price_per_kwh == pytest.approx(0.50022)
    assert all(a.end == b.start for a, b in zip(intervals, intervals[1:], strict=False))
    assert fake.requests == [{"$filter": ["business_date eq '2026-06-15'"]}]


def test_one_request_per_day_for_the_whole_planning_run(pse: tuple[str, FakePse]) -> None:
    url, fake = pse
    prices = source(url, now=datetime(2026, 6, 15, 12, 0, tzinfo=UTC))
    prices.prices(DAY_START + timedelta(hours=20), DAY_START + timedelta(hours=30))  # 15th evening + 16th morning
    prices.prices(DAY_START, DAY_START + timedelta(hours=2))
    prices.prices(DAY_START + timedelta(hours=22), DAY_START + timedelta(hours=26))
    days = [q["$filter"][0] for q in fake.requests]
    assert days == ["business_date eq '2026-06-15'", "business_date eq '2026-06-16'"]


def test_days_not_published_yet_are_unavailable_without_asking(pse: tuple[str, FakePse]) -> None:
    url, fake = pse
    # On the 14th at 10:00 the 15th may be asked for (published ~14:00), the 16th not.
    early = source(url, now=datetime(2026, 6, 14, 8, 0, tzinfo=UTC))
    intervals = early.prices(DAY_START + timedelta(hours=23), DAY_START + timedelta(hours=30))
    assert len(intervals) == 4 and len(fake.requests) == 1
    # A day asked for but answered empty (not published yet) gives no intervals, not an error.
    assert (
        source(url, now=datetime(2026, 6, 16, 8, 0, tzinfo=UTC)).prices(
            DAY_START + timedelta(days=1), DAY_START + timedelta(days=2)
        )
        == []
    )


def test_paged_answers_are_followed_on_the_sources_own_address(pse: tuple[str, FakePse]) -> None:
    url, fake = pse
    fake.page_size = 40
    intervals = source(url).prices(DAY_START, DAY_START + timedelta(days=1))
    assert len(intervals) == 96
    assert [q.get("$skip", ["0"])[0] for q in fake.requests] == ["0", "40", "80"]


def test_the_recorded_day_plans_like_an_oracle_says(pse: tuple[str, FakePse]) -> None:
    url, _ = pse
    intervals = source(url).prices(DAY_START, DAY_START + timedelta(days=1))
    plan = plan_cheapest_charging(
        current_soc=40,
        target_soc=60,
        battery_kwh=60,
        charger_kw=6,
        efficiency=1.0,
        now=DAY_START,
        deadline=DAY_START + timedelta(days=1),
        prices=intervals,
        currency="PLN",
        timezone=WARSAW,
    )
    minutes = [intervals[m // 15].price_per_kwh for m in range(24 * 60)]  # 120 minutes needed
    costs = [(sum(minutes[s : s + 120]), -s) for s in range(24 * 60 - 120 + 1)]
    best_start = -min(costs)[1]
    assert plan.charging_start == DAY_START.astimezone(UTC) + timedelta(minutes=best_start)


def hourly_records(day: str, local_ends: list[str], utc_ends: list[str] | None = None) -> list[dict[str, Any]]:
    records = []
    for i, end in enumerate(local_ends):
        record: dict[str, Any] = {"dtime": f"{day} {end}", "period": "", "rce_pln": 300.0 + i, "business_date": day}
        hour = int(end[:2]) or 24
        record["period"] = f"{hour - 1:02d}:00 - {hour:02d}:00"
        if utc_ends:
            record["dtime_utc"] = utc_ends[i]
        records.append(record)
    return records


def test_hourly_records_make_hour_long_intervals() -> None:
    ends = [f"{h:02d}:00:00" for h in range(1, 24)] + ["00:00:00"]
    records = hourly_records("2024-06-20", ends)
    records[-1]["dtime"] = "2024-06-21 00:00:00"
    intervals = parse_rce_day(records, date(2024, 6, 20))
    assert len(intervals) == 24 and all(i.end - i.start == timedelta(hours=1) for i in intervals)
    assert intervals[0].start == datetime(2024, 6, 19, 22, 0, tzinfo=UTC)


def test_the_autumn_day_has_25_hours_from_local_times_with_a_and_b() -> None:
    # 2025-10-26: the hour 02:00-03:00 happens twice; PSE marks the repeated local times with a/b.
    ends = ["01:00:00", "02:00:00a", "02:00:00b", *[f"{h:02d}:00:00" for h in range(3, 24)], "00:00:00"]
    records = hourly_records("2025-10-26", ends)
    records[-1]["dtime"] = "2025-10-27 00:00:00"
    for record in records:  # the repeated hour's period text repeats too; lengths come out the same
        record.pop("period_utc", None)
    records[2]["period"] = "02:00 - 03:00"
    intervals = parse_rce_day(records, date(2025, 10, 26))
    assert len(intervals) == 25
    assert intervals[0].start == datetime(2025, 10, 25, 22, 0, tzinfo=UTC)
    assert intervals[-1].end == datetime(2025, 10, 26, 23, 0, tzinfo=UTC)
    assert sum((i.end - i.start for i in intervals), timedelta()) == timedelta(hours=25)


def test_dtime_utc_wins_over_local_time_when_present() -> None:
    records = hourly_records("2025-10-26", ["02:00:00", "02:00:00"], ["2025-10-26 00:00:00", "2025-10-26 01:00:00"])
    intervals = parse_rce_day(records, date(2025, 10, 26))
    assert [i.end for i in intervals] == [datetime(2025, 10, 26, 0, tzinfo=UTC), datetime(2025, 10, 26, 1, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.__setitem__(5, dict(r[4])), "overlaps"),
        (lambda r: r.pop(10), "leaves a gap"),
        (lambda r: r[3].__setitem__("rce_pln", None), "record 3 .*no finite rce_pln"),
        (lambda r: r[3].__setitem__("rce_pln", float("nan")), "record 3 .*no finite rce_pln"),
        (lambda r: r[3].__setitem__("rce_pln", 250000.0), "record 3 .*absurd"),
        (lambda r: r[3].__setitem__("dtime_utc", "soon"), "record 3 dtime_utc 'soon' is not a time"),
        (lambda r: (r[0].pop("period"), r[0].pop("period_utc")), "record 0 .*no readable `period`"),
    ],
)
def test_unusable_records_are_refused_with_the_day_and_the_record(change: Any, message: str) -> None:
    records = json.loads(SAMPLE.read_text())["value"]
    change(records)
    with pytest.raises(InvalidPriceData, match=f"PSE rce-pln for 2026-06-15: .*{message}|{message}"):
        parse_rce_day(records, date(2026, 6, 15))


def test_an_http_error_is_an_unavailable_source(pse: tuple[str, FakePse]) -> None:
    url, fake = pse
    fake.status = 500
    with pytest.raises(PriceSourceUnavailable, match="PSE rce-pln for 2026-06-15 answered HTTP 500"):
        source(url).prices(DAY_START, DAY_START + timedelta(hours=1))
