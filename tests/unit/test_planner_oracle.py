"""The optimiser against brute-force oracles on many random feeds: cheapest, latest on ties, as much as fits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import combinations

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from shared.domain.cheapest_window import runs
from shared.domain.cheapest_windows import cheapest_windows
from shared.domain.minute_prices import minute_grid, price_units, to_segments
from shared.domain.prices import PriceInterval
from shared.domain.windows_dp import windows_by_dynamic_programme

ORIGIN = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)

# A feed: pieces of (minutes, price or None for a gap); prices from a small set so ties are common.
pieces = st.lists(
    st.tuples(st.integers(1, 4), st.one_of(st.none(), st.sampled_from([0.0, 0.1, 0.2, 0.3, 0.55, -0.05]))),
    min_size=1,
    max_size=6,
)


def feed(
    parts: list[tuple[int, float | None]], origin: datetime = ORIGIN
) -> tuple[list[PriceInterval], list[int | None]]:
    """Intervals for the parts (gaps left out) and the price of each minute as the oracle sees it."""
    intervals, minute_prices, cursor = [], [], origin
    for length, price in parts:
        end = cursor + timedelta(minutes=length)
        if price is not None:
            intervals.append(PriceInterval(cursor, end, price))
        minute_prices += [None if price is None else price_units(price)] * length
        cursor = end
    return intervals, minute_prices


def blocks(minutes: tuple[int, ...]) -> int:
    return sum(1 for i, m in enumerate(minutes) if i == 0 or minutes[i - 1] != m - 1)


def exhaustive_oracle(prices: list[int | None], need: int, k: int) -> tuple[frozenset[int], int]:
    """Every set of minutes: the most minutes (up to need) in ≤ k windows, cheapest, then latest from the end."""
    available = [m for m, p in enumerate(prices) if p is not None]
    for count in range(min(need, len(available)), -1, -1):
        best: tuple[int, int, frozenset[int]] | None = None  # (cost, -lateness, set)
        for chosen in combinations(available, count):
            if blocks(chosen) > k:
                continue
            cost = sum(prices[m] or 0 for m in chosen)
            lateness = sum(1 << m for m in chosen)  # larger = holds the later minute where two sets differ
            if best is None or (cost, -lateness) < best[:2]:
                best = (cost, -lateness, frozenset(chosen))
        if best is not None:
            return best[2], best[0]
    return frozenset(), 0


def minute_dp_oracle(prices: list[int | None], need: int, k: int) -> tuple[int, int]:
    """A plain minute-by-minute DP (different method): (most minutes that fit, least cost for them)."""
    inf = float("inf")
    # state[(windows, open)][count] = least cost
    states: dict[tuple[int, bool], dict[int, float]] = {(0, False): {0: 0}}
    for price in prices:
        nxt: dict[tuple[int, bool], dict[int, float]] = {}

        def keep(
            key: tuple[int, bool], count: int, cost: float, into: dict[tuple[int, bool], dict[int, float]]
        ) -> None:
            row = into.setdefault(key, {})
            if cost < row.get(count, inf):
                row[count] = cost

        for (windows, is_open), row in states.items():
            for count, cost in row.items():
                keep((windows, False), count, cost, nxt)
                if price is not None and count < need:
                    opened = windows if is_open else windows + 1
                    if opened <= k:
                        keep((opened, True), count + 1, cost + price, nxt)
        states = nxt
    best_count = max(c for row in states.values() for c in row)
    best_cost = min(row[best_count] for row in states.values() if best_count in row)
    return best_count, int(best_cost)


def planner(intervals: list[PriceInterval], total_minutes: int, need: int, k: int) -> tuple[frozenset[int], int]:
    origin, horizon = minute_grid(ORIGIN, ORIGIN + timedelta(minutes=total_minutes))
    selection = cheapest_windows(to_segments(intervals, origin, horizon), need, k)
    assert len(selection.windows) <= k
    chosen = frozenset(m for start, end in selection.windows for m in range(start, end))
    return chosen, selection.cost


@settings(max_examples=400, deadline=None)
@given(parts=pieces, need=st.integers(0, 16), k=st.integers(1, 3))
def test_matches_the_exhaustive_oracle_exactly(parts: list[tuple[int, float | None]], need: int, k: int) -> None:
    intervals, prices = feed(parts)
    expected = exhaustive_oracle(prices, need, k)
    assert planner(intervals, len(prices), need, k) == expected


# Cheap and dear stretches taking turns: the cheapest minutes then form more windows than allowed,
# which is the case the dynamic programme (not the sort) has to solve.
alternating = st.lists(st.tuples(st.integers(1, 4), st.sampled_from([0.0, 0.1])), min_size=2, max_size=4).flatmap(
    lambda cheap: st.lists(
        st.tuples(st.integers(1, 3), st.sampled_from([0.2, 0.3, None])), min_size=len(cheap), max_size=len(cheap)
    ).map(lambda dear: [part for pair in zip(cheap, dear, strict=True) for part in pair])
)


@settings(max_examples=400, deadline=None)
@given(parts=alternating, need=st.integers(2, 14), k=st.integers(1, 3))
@example(parts=[(4, 0.1), (1, 0.3), (1, 0.0), (2, 0.3), (2, 0.0), (4, 0.3)], need=10, k=3)  # found by fuzzing
def test_matches_the_exhaustive_oracle_when_windows_are_scarce(
    parts: list[tuple[int, float | None]], need: int, k: int
) -> None:
    intervals, prices = feed(parts)
    assume(len(prices) <= 16)  # keeps the exhaustive oracle fast
    assert planner(intervals, len(prices), need, k) == exhaustive_oracle(prices, need, k)


big_pieces = st.lists(
    st.tuples(st.integers(1, 30), st.one_of(st.none(), st.integers(-3, 40).map(lambda c: c / 100))),
    min_size=1,
    max_size=14,
)


@settings(max_examples=150, deadline=None)
@given(parts=big_pieces, need=st.integers(0, 200), k=st.integers(1, 4))
def test_costs_match_a_minute_by_minute_oracle_on_longer_feeds(
    parts: list[tuple[int, float | None]], need: int, k: int
) -> None:
    intervals, prices = feed(parts)
    chosen, cost = planner(intervals, len(prices), need, k)
    assert (len(chosen), cost) == minute_dp_oracle(prices, need, k)
    assert all(prices[m] is not None for m in chosen)


@settings(max_examples=60, deadline=None)
@given(
    quarter_prices=st.lists(st.integers(0, 900), min_size=96, max_size=96),
    need=st.integers(1, 600),
    offset=st.integers(0, 59),
)
def test_one_window_over_a_day_of_quarter_hours_is_the_best_start(
    quarter_prices: list[int], need: int, offset: int
) -> None:
    """A realistic day (96 quarter-hours, planning from a second that is not on the minute): every start tried."""
    start = ORIGIN + timedelta(seconds=offset)
    intervals = [
        PriceInterval(ORIGIN + timedelta(minutes=15 * i), ORIGIN + timedelta(minutes=15 * (i + 1)), p / 1000)
        for i, p in enumerate(quarter_prices)
    ]
    origin, horizon = minute_grid(start, ORIGIN + timedelta(days=1))
    per_minute = [price_units(quarter_prices[(m + (1 if offset else 0)) // 15] / 1000) for m in range(horizon)]
    prefix = [0]
    for p in per_minute:
        prefix.append(prefix[-1] + p)
    best = min(range(horizon - need + 1), key=lambda s: (prefix[s + need] - prefix[s], -s))
    selection = cheapest_windows(to_segments(intervals, origin, horizon), need, 1)
    assert selection.windows == ((best, best + need),)
    assert selection.cost == prefix[best + need] - prefix[best]


def latest_minute_oracle(prices: list[int | None], need: int, k: int) -> tuple[frozenset[int], int]:
    """Minute by minute (no segments): the most minutes that fit (up to need) in ≤ k windows, cheapest, latest.

    Latest is decided from the last minute backwards, taking a minute whenever an optimal set can include it.
    """
    inf = float("inf")
    # layers[m][(windows, open, count)] = least cost of minutes before m
    layers: list[dict[tuple[int, bool, int], float]] = [{(0, False, 0): 0}]
    for price in prices:
        nxt: dict[tuple[int, bool, int], float] = {}
        for (windows, is_open, count), cost in layers[-1].items():
            if cost < nxt.get((windows, False, count), inf):
                nxt[(windows, False, count)] = cost
            opened = windows if is_open else windows + 1
            if price is not None and count < need and opened <= k:
                key = (opened, True, count + 1)
                if cost + price < nxt.get(key, inf):
                    nxt[key] = cost + price
        layers.append(nxt)
    most = max(count for (_, _, count) in layers[-1])
    best = min(cost for (_, _, count), cost in layers[-1].items() if count == most)
    states = {state for state, cost in layers[-1].items() if state[2] == most and cost == best}
    chosen = set()
    for minute in range(len(prices) - 1, -1, -1):
        before, after, price = layers[minute], layers[minute + 1], prices[minute]
        taken = set()
        for windows, is_open, count in states:
            if not is_open or price is None:
                continue
            target = after[(windows, is_open, count)]
            for (w, o, c), cost in before.items():
                if c == count - 1 and (w == windows if o else w == windows - 1) and cost + price == target:
                    taken.add((w, o, c))
        if taken:
            chosen.add(minute)
            states = taken
            continue
        states = {
            (w, o, c)
            for (windows, is_open, count) in states
            if not is_open
            for (w, o, c), cost in before.items()
            if w == windows and c == count and cost == after[(windows, is_open, count)]
        }
    return frozenset(chosen), int(best)


@settings(max_examples=300, deadline=None)
@given(parts=pieces, need=st.integers(1, 16), k=st.integers(2, 4))
def test_the_dynamic_programme_alone_matches_the_exhaustive_oracle(
    parts: list[tuple[int, float | None]], need: int, k: int
) -> None:
    """The programme, called even where the sort would do, on every kind of small feed."""
    intervals, prices = feed(parts)
    origin, horizon = minute_grid(ORIGIN, ORIGIN + timedelta(minutes=len(prices)))
    segments = to_segments(intervals, origin, horizon)
    run_lengths = sorted((run[-1].end - run[0].start for run in runs(segments)), reverse=True)
    fit = min(need, sum(run_lengths[:k]))
    assume(fit > 0)
    selection = windows_by_dynamic_programme(segments, fit, k)
    chosen = frozenset(m for start, end in selection.windows for m in range(start, end))
    assert (chosen, selection.cost) == exhaustive_oracle(prices, need, k)


# Quarter-hour prices as the planner sees them: `now` and the deadline off the grid cut the first and
# the last interval short, equal neighbours merge into longer segments, gaps appear; so the minutes
# taken fall into several residues modulo 15.
quarter_hours = st.lists(
    st.one_of(st.none(), st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.3, 0.45])), min_size=2, max_size=9
)


@settings(max_examples=120, deadline=None)
@given(
    quarters=quarter_hours,
    cut_start=st.integers(0, 14),
    cut_end=st.integers(0, 14),
    need=st.integers(1, 75),
    k=st.integers(2, 4),
)
def test_quarter_hours_cut_by_now_and_the_deadline_match_a_minute_oracle(
    quarters: list[float | None], cut_start: int, cut_end: int, need: int, k: int
) -> None:
    intervals = [
        PriceInterval(ORIGIN + timedelta(minutes=15 * i), ORIGIN + timedelta(minutes=15 * (i + 1)), p)
        for i, p in enumerate(quarters)
        if p is not None
    ]
    start = ORIGIN + timedelta(minutes=cut_start)
    end = ORIGIN + timedelta(minutes=15 * len(quarters) - cut_end)
    origin, horizon = minute_grid(start, end)
    prices = [
        None if quarters[(cut_start + m) // 15] is None else price_units(quarters[(cut_start + m) // 15] or 0.0)
        for m in range(horizon)
    ]
    segments = to_segments(intervals, origin, horizon)
    selection = cheapest_windows(segments, need, k)
    chosen = frozenset(m for s, e in selection.windows for m in range(s, e))
    assert (chosen, selection.cost) == latest_minute_oracle(prices, need, k)
    run_lengths = sorted((run[-1].end - run[0].start for run in runs(segments)), reverse=True)
    fit = min(need, sum(run_lengths[:k]))
    if fit:  # the programme on its own agrees too, also where the sort already answers
        direct = windows_by_dynamic_programme(segments, fit, k)
        assert direct == selection


# Many windows for the rows needed (k close to need / u): the programme then keeps only a narrow band of
# budgets per row (the others share the row's unconstrained cost or cannot reach k) and budget 0 only as
# the empty plan. Five-minute prices keep the minute oracle quick; equal neighbours merge into segments of
# several rows, and `now` and the deadline cut the first and last ones short.
fives = st.lists(st.one_of(st.none(), st.sampled_from([0.0, 0.1, 0.3, 0.5])), min_size=3, max_size=16)


@settings(max_examples=300, deadline=None)
@given(
    prices=fives,
    cut_start=st.integers(0, 4),
    cut_end=st.integers(0, 4),
    rows=st.integers(1, 10),
    extra=st.integers(0, 4),
    slack=st.integers(-2, 3),
)
@example(  # 20-minute segments: four rows taken at once, more than a band holds
    prices=[0.1, 0.0, 0.0, 0.0, 0.0, 0.3, 0.1, 0.3, 0.0, 0.0, 0.0, 0.0, 0.5],
    cut_start=0,
    cut_end=0,
    rows=9,
    extra=0,
    slack=0,
)
@example(prices=[0.0, 0.3, 0.0, 0.3, 0.0, 0.3, 0.0], cut_start=2, cut_end=3, rows=3, extra=2, slack=-2)  # k > rows
def test_many_windows_for_the_rows_needed_match_a_minute_oracle(
    prices: list[float | None], cut_start: int, cut_end: int, rows: int, extra: int, slack: int
) -> None:
    intervals = [
        PriceInterval(ORIGIN + timedelta(minutes=5 * i), ORIGIN + timedelta(minutes=5 * (i + 1)), p)
        for i, p in enumerate(prices)
        if p is not None
    ]
    start, end = ORIGIN + timedelta(minutes=cut_start), ORIGIN + timedelta(minutes=5 * len(prices) - cut_end)
    origin, horizon = minute_grid(start, end)
    per_minute = [
        None if prices[(cut_start + m) // 5] is None else price_units(prices[(cut_start + m) // 5] or 0.0)
        for m in range(horizon)
    ]
    segments = to_segments(intervals, origin, horizon)
    need, k = 5 * rows + extra, max(1, rows - slack)
    run_lengths = sorted((run[-1].end - run[0].start for run in runs(segments)), reverse=True)
    fit = min(need, sum(run_lengths[:k]))
    assume(fit > 0)
    selection = windows_by_dynamic_programme(segments, fit, k)
    chosen = frozenset(m for s, e in selection.windows for m in range(s, e))
    assert (chosen, selection.cost) == latest_minute_oracle(per_minute, need, k)
