"""The JSON price feed (contract section 7): fetched once, and refused with a clear message when it is wrong."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from shared.prices.errors import InvalidPriceData, PriceSourceUnavailable
from shared.prices.feed_source import FeedPriceSource, parse_price_feed

Answer = Callable[[str], tuple[int, str]]


@pytest.fixture
def feed_server() -> Iterator[tuple[str, list[str], dict[str, Answer]]]:
    """A loopback HTTP server: (base URL, paths requested, {"answer": fn(path) -> (status, body)})."""
    seen: list[str] = []
    answer: dict[str, Answer] = {"answer": lambda path: (200, "{}")}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            status, body = answer["answer"](self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen, answer
    server.shutdown()
    server.server_close()


def quarter_hours(start: str, count: int, price: float = 0.5) -> list[dict[str, Any]]:
    begin = datetime.fromisoformat(start)
    return [
        {
            "start": (begin + timedelta(minutes=15 * i)).isoformat(),
            "end": (begin + timedelta(minutes=15 * (i + 1))).isoformat(),
            "price_per_kwh": price + i / 100,
        }
        for i in range(count)
    ]


def test_a_good_feed_is_parsed_with_its_currency() -> None:
    currency, intervals = parse_price_feed({"currency": "PLN", "prices": quarter_hours("2026-11-23T22:00:00+01:00", 8)})
    assert currency == "PLN" and len(intervals) == 8
    assert intervals[0].start == datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
    assert intervals[-1].price_per_kwh == pytest.approx(0.57)


def test_hourly_and_quarter_hour_intervals_may_be_mixed_if_contiguous() -> None:
    prices = quarter_hours("2026-11-23T22:00:00+01:00", 4)
    prices.append({"start": "2026-11-23T23:00:00+01:00", "end": "2026-11-24T00:00:00+01:00", "price_per_kwh": 0.3})
    assert len(parse_price_feed({"currency": "PLN", "prices": prices})[1]) == 5


def broken(change: Callable[[list[dict[str, Any]]], object]) -> dict[str, Any]:
    prices = quarter_hours("2026-11-23T22:00:00+01:00", 6)
    change(prices)
    return {"currency": "PLN", "prices": prices}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (broken(lambda p: p.pop(3)), r"interval 3 \(2026-11-23T23:00:00\+01:00.*gap"),
        (broken(lambda p: p.__setitem__(2, {**p[2], "start": "2026-11-23T22:20:00+01:00"})), "interval 2.*overlaps"),
        (broken(lambda p: p.reverse()), "interval 1.*sorted"),
        (broken(lambda p: p[4].__setitem__("start", "2026-11-23T23:00:00")), "interval 4 `start`.*no UTC offset"),
        (broken(lambda p: p[1].__setitem__("price_per_kwh", "0.5")), "interval 1 .*must be a number, got str"),
        (broken(lambda p: p[1].__setitem__("price_per_kwh", None)), "interval 1 .*must be a number"),
        (broken(lambda p: p[1].__setitem__("price_per_kwh", True)), "interval 1 .*must be a number, got bool"),
        (broken(lambda p: p[5].__setitem__("price_per_kwh", float("nan"))), "interval 5 .*not a finite number"),
        (broken(lambda p: p[0].__setitem__("price_per_kwh", 520.0)), "interval 0 .*520.0 is outside -10..100"),
        (broken(lambda p: p[0].__setitem__("end", p[0]["start"])), "interval 0 .*ends before it starts"),
        (broken(lambda p: p[0].__setitem__("start", "tonight")), "interval 0 `start` 'tonight' is not an ISO 8601"),
        ({"currency": "zloty", "prices": []}, "currency"),
        ({"currency": "PLN", "prices": {}}, "`prices` must be a list"),
        ([], "JSON object"),
    ],
)
def test_broken_feeds_are_refused_naming_the_problem_and_the_interval(document: Any, message: str) -> None:
    with pytest.raises(InvalidPriceData, match=message):
        parse_price_feed(document)


def test_the_feed_is_fetched_once_per_planning_run(feed_server: tuple[str, list[str], dict[str, Answer]]) -> None:
    url, seen, answer = feed_server
    body = json.dumps({"currency": "PLN", "prices": quarter_hours("2026-11-23T22:00:00+01:00", 8)})
    answer["answer"] = lambda path: (200, body)
    source = FeedPriceSource(url + "/prices?key=abc")
    first = source.prices(datetime(2026, 11, 23, 21, 0, tzinfo=UTC), datetime(2026, 11, 23, 21, 30, tzinfo=UTC))
    later = source.prices(datetime(2026, 11, 23, 22, 0, tzinfo=UTC), datetime(2026, 11, 24, 5, 0, tzinfo=UTC))
    assert source.currency == "PLN"
    assert len(first) == 2 and len(later) == 4  # the feed ends 23:00 UTC: later time is simply not there
    assert seen == ["/prices?key=abc"]


def test_http_errors_and_junk_become_upstream_errors_without_the_url(
    feed_server: tuple[str, list[str], dict[str, Answer]],
) -> None:
    url, _, answer = feed_server
    answer["answer"] = lambda path: (503, "{}")
    with pytest.raises(PriceSourceUnavailable, match="HTTP 503") as error:
        FeedPriceSource(url + "/p?token=secret").prices(datetime.now(UTC), datetime.now(UTC) + timedelta(hours=1))
    assert "secret" not in str(error.value)
    answer["answer"] = lambda path: (200, "<html>")
    with pytest.raises(InvalidPriceData, match="not JSON"):
        FeedPriceSource(url).prices(datetime.now(UTC), datetime.now(UTC) + timedelta(hours=1))


def test_a_feed_that_does_not_answer_in_time_is_unavailable() -> None:
    class SlowSession(requests.Session):
        def get(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            assert kwargs["timeout"] == (5.0, 20.0)
            raise requests.ReadTimeout("slow")

    with pytest.raises(PriceSourceUnavailable, match="did not answer within 20 s"):
        FeedPriceSource("https://prices.invalid/feed", session=SlowSession()).prices(
            datetime.now(UTC), datetime.now(UTC) + timedelta(hours=1)
        )
