"""The cheapest set of at most k charging windows covering a number of minutes, exact at minute resolution.

Ties: among equally cheap sets the latest one wins, compared minute by minute from the end (the
set holding the latest minute where two sets differ is later). For one window that is simply the
latest start.

Why this is exact:
1. When the need cannot be met, the most minutes that fit are the k longest runs of available
   time; the search then looks for that many minutes instead, so `feasible: false` plans still
   charge as much as fits, as cheaply as possible.
2. Without the window limit the best set is the cheapest minutes, later ones first on equal
   price (any set missing a cheaper minute can swap it in). If that set already forms at most k
   windows it is also the best set with the limit, so the common case is a sort: O(n log n).
3. Otherwise a dynamic programme over the segments decides. It relies on this: some best set has
   every window edge on a segment boundary except at most one. Take two edges strictly inside
   segments, with prices p1 and p2: shrinking the window at one by a minute and growing the
   other by a minute keeps the minute count and the window count (or lowers it) and changes the
   cost by p2 - p1 one way and p1 - p2 the other way, so in a cheapest set p1 = p2, and one of
   the two moves puts a minute later at no cost; the latest cheapest set therefore has at most
   one edge inside a segment. The programme walks the segments in time order with states
   (windows opened, a window open at this boundary, the one partial piece used, minutes
   taken) and keeps the least cost of each: O(n * k * D) for n segments and D minutes, linear
   in n for a given k and D. (Choosing whole segments of different lengths and prices to make
   up D minutes within the window limit is a knapsack-like choice, which is why D appears; the
   fast path of 2. keeps this case rare.) The latest cheapest set is then rebuilt from the last
   segment backwards, trying each segment's options latest first.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Sequence
from itertools import repeat

from shared.domain.cheapest_window import Selection, cheapest_window, runs
from shared.domain.minute_prices import Segment

_INF = 1 << 62  # "cannot be reached"; real costs stay below 2**51 (100 PLN/kWh x 1e9 x 2 weeks of minutes)
_UNREACHABLE = 1 << 61
State = tuple[int, int, int]  # (windows opened, window open at this boundary 0/1, partial piece used 0/1)


def cheapest_windows(segments: Sequence[Segment], length: int, max_windows: int = 1) -> Selection:
    """The cheapest ≤ max_windows windows over `length` minutes, or over as many minutes as fit (latest on ties)."""
    if max_windows < 1:
        raise ValueError("max_windows must be at least 1")
    run_lengths = sorted((run[-1].end - run[0].start for run in runs(segments)), reverse=True)
    fit = min(max(0, length), sum(run_lengths[:max_windows]))
    if fit == 0:
        return Selection((), 0)
    if max_windows == 1:
        single = cheapest_window(segments, fit)
        assert single is not None  # fit never exceeds the longest run
        return single
    greedy = cheapest_minutes(segments, fit)
    if len(greedy.windows) <= max_windows:
        return greedy
    return _windows_by_dynamic_programme(list(segments), fit, max_windows)


def cheapest_minutes(segments: Sequence[Segment], length: int) -> Selection:
    """The `length` cheapest available minutes, later ones first on equal price, as windows (no limit on how many)."""
    pieces: list[tuple[int, int]] = []
    cost, remaining = 0, length
    for segment in sorted(segments, key=lambda s: (s.price, -s.start)):
        if remaining <= 0:
            break
        take = min(remaining, segment.length)
        pieces.append((segment.end - take, segment.end))
        cost += take * segment.price
        remaining -= take
    return Selection(_join(pieces), cost)


def _join(pieces: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    windows: list[tuple[int, int]] = []
    for start, end in sorted(pieces):
        if windows and windows[-1][1] == start:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return tuple(windows)


def _next_state(state: State, option: str, contiguous: bool, max_windows: int) -> State | None:
    """Where a segment's option leads: `skip`, `whole`, `start` (a piece at its start) or `end` (a piece at its end)."""
    windows, open_, partial = state
    continuing = open_ == 1 and contiguous
    if option == "skip":
        result = (windows, 0, partial)
    elif option == "whole":
        result = (windows if continuing else windows + 1, 1, partial)
    elif partial:
        return None
    elif option == "start":
        result = (windows if continuing else windows + 1, 0, 1)
    else:  # "end": a window starts inside the segment and runs to its end
        result = (windows + 1, 1, 1)
    return result if result[0] <= max_windows else None


def _windows_by_dynamic_programme(segments: list[Segment], length: int, max_windows: int) -> Selection:
    if max(abs(s.price) for s in segments) * segments[-1].end >= _UNREACHABLE // 4:
        raise ValueError("prices too large for the planner")  # far beyond anything a valid source delivers
    # Costs of every state by minutes taken; kept as int64 arrays so long horizons stay small in memory.
    layers: list[dict[State, array[int]]] = [{(0, 0, 0): array("q", [0] + [_INF] * length)}]
    for index, segment in enumerate(segments):
        contiguous = index > 0 and segments[index - 1].end == segment.start
        advanced = _advance(layers[-1], segment, contiguous, length, max_windows)
        layers.append({state: array("q", values) for state, values in advanced.items()})
    best = min(values[length] for values in layers[-1].values())
    return _rebuild(segments, layers, length, max_windows, best)


def _advance(
    layer: dict[State, array[int]], segment: Segment, contiguous: bool, length: int, max_windows: int
) -> dict[State, list[int]]:
    """The least cost of every state after deciding one more segment."""
    out: dict[State, list[int]] = {}
    size, price = segment.length, segment.price
    for state, values in layer.items():
        skip = _next_state(state, "skip", contiguous, max_windows)
        if skip is not None:
            _keep_least(out, skip, list(values))
        whole = _next_state(state, "whole", contiguous, max_windows)
        if whole is not None and size <= length:
            # Unreachable entries stay far above _UNREACHABLE however much is added, so no test is needed here.
            _keep_least(out, whole, [_INF] * size + list(map((size * price).__add__, values[: length + 1 - size])))
        if size > 1 and not state[2]:
            pieces = _with_partial_piece(values, size, price)
            for option in ("start", "end"):
                target = _next_state(state, option, contiguous, max_windows)
                if target is not None:
                    _keep_least(out, target, pieces)
    return out


def _keep_least(out: dict[State, list[int]], state: State, values: list[int]) -> None:
    current = out.get(state)
    out[state] = values if current is None else list(map(min, current, values))


def _with_partial_piece(values: array[int], size: int, price: int) -> list[int]:
    """result[w] = min over r in 1..size-1 of values[w - r] + r * price."""
    reachable = [w for w, v in enumerate(values) if v < _UNREACHABLE]
    result = [_INF] * len(values)
    if len(reachable) * (size - 1) <= 4 * len(values):
        # Few reachable counts (sums of whole segments usually are): spread each over the next size-1 counts.
        for w in reachable:
            high = min(len(values), w + size)
            if high <= w + 1:
                continue
            base = values[w]
            steps = range(base + price, base + price * (high - w), price) if price else repeat(base, high - w - 1)
            result[w + 1 : high] = map(min, result[w + 1 : high], steps)
        return result
    # Otherwise a sliding-window minimum of values[w] - price * w: O(len) whatever the segment's size.
    shifted = [v - price * w for w, v in enumerate(values)]
    window: deque[int] = deque()
    for w in range(1, len(values)):
        if values[w - 1] < _UNREACHABLE:
            while window and shifted[window[-1]] >= shifted[w - 1]:
                window.pop()
            window.append(w - 1)
        while window and window[0] < w - (size - 1):
            window.popleft()
        if window:
            result[w] = shifted[window[0]] + price * w
    return result


def _rebuild(
    segments: list[Segment], layers: list[dict[State, array[int]]], length: int, max_windows: int, best: int
) -> Selection:
    """Walk back from the last segment, taking each segment's latest option that still allows the least cost."""
    admissible = {(state, length) for state, values in layers[-1].items() if values[length] == best}
    pieces: list[tuple[int, int]] = []
    for index in range(len(segments) - 1, -1, -1):
        segment = segments[index]
        contiguous = index > 0 and segments[index - 1].end == segment.start
        before, after = layers[index], layers[index + 1]
        for option, taken, piece in _options_latest_first(segment):
            found = set()
            for state, minutes in admissible:
                target_value = after[state][minutes]
                for previous, values in before.items():
                    if minutes - taken < 0 or _next_state(previous, option, contiguous, max_windows) != state:
                        continue
                    if values[minutes - taken] + taken * segment.price == target_value:
                        found.add((previous, minutes - taken))
            if found:
                admissible = found
                if piece is not None:
                    pieces.append(piece)
                break
        else:  # pragma: no cover - the forward pass guarantees a predecessor
            raise AssertionError("no predecessor while rebuilding the plan")
    return Selection(_join(pieces), best)


def _options_latest_first(segment: Segment) -> list[tuple[str, int, tuple[int, int] | None]]:
    """A segment's options ordered by how late their minutes are: whole, end pieces, start pieces, nothing."""
    start, end, size = segment.start, segment.end, segment.length
    options: list[tuple[str, int, tuple[int, int] | None]] = [("whole", size, (start, end))]
    options += [("end", r, (end - r, end)) for r in range(size - 1, 0, -1)]
    options += [("start", r, (start, start + r)) for r in range(size - 1, 0, -1)]
    options.append(("skip", 0, None))
    return options
