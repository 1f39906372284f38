"""The exact dynamic programme behind `cheapest_windows` when the cheapest minutes form too many windows.

What it solves: pick at most k windows of available minutes, `need` minutes in all, at the least
cost (charging power is constant, so cost = sum of price x minutes), and among equally cheap sets
the latest one (compared minute by minute from the end).

Why the search can stay on segment boundaries: prices are constant inside a segment, so moving a
window edge that lies strictly inside a segment changes the cost linearly. Two such edges with
prices p1 and p2 could trade a minute (shrink at one, grow at the other: same minutes, no extra
window), so in a cheapest set p1 = p2, and then one of the two trades makes the set later at no
cost. The latest cheapest set therefore has every edge on a segment boundary (which includes the
ends of gaps and the deadline, the horizon's last boundary) except at most one, the "fill" edge,
whose position is whatever makes the minutes add up to `need`. So each segment is skipped, taken
whole, or holds the one partial piece: its first r minutes (a window ending inside it) or its
last r minutes (a window starting inside it; a window wholly inside a segment is latest at its end).

Why the minute count stays in the state: the cheapest cost as a function of `need` is not convex
(prices 0, 100, 0 over ten minutes each and one window: 10 minutes cost 0, 15 cost 500, 20 cost
1000, 30 cost 1000), so no single price threshold (a Lagrange multiplier) picks the answer, and a
state without the count cannot tell when the need is met: choosing whole segments of different
lengths to add up to `need` under a window limit is a knapsack-like choice. What keeps the count
small is that it only needs whole segments' lengths: every segment but the first and the last
(cut by `now` and the deadline) has a length that is a multiple of u, the gcd of their lengths
(15 for quarter-hour prices, 60 for hourly ones). Minutes taken are therefore tracked as
residue + u x rows, with the residue (mod u) coming only from the first and last segments and the
fill piece: at most two residues before the fill piece and two after it.

The programme walks the segments once. Its state at a boundary: fill piece used or not, residue,
window open at this boundary or not, window budget ("at most j windows", j <= k), rows
(0 .. need / u); each holds the least cost. So it takes O(n * k * need / u) steps for n segments,
about n x 25 x 31 cells per state family for a 36-hour horizon of quarter-hours (n = 144), k = 24
and a 455-minute need. Budgets that cannot matter are not stored: above the most windows the
segments so far can hold every budget costs the same, and below k minus the most windows the
remaining segments can open no path reaches k. Measured in CPython on the benchmark's scattered
prices (bench/bench_planner.py): about 40 ms with `now` on the quarter-hour, about 70 ms when
`now` cuts the first quarter (its odd length doubles the residues before the fill). The latest
cheapest set is then rebuilt from the last segment backwards, taking in each segment the latest
option (whole, then the longest end piece, then start pieces, then nothing) that still allows the
least cost.

Tables are flat lists indexed by budget block then row, so opening a window is a shift by one
block and adding a segment a shift by its rows, done as whole-list operations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import gcd

from shared.domain.cheapest_window import Selection
from shared.domain.minute_prices import Segment

_INF = float("inf")  # "cannot be reached"
# Costs are whole numbers (nano-units x minutes) held in floats, which compare and add faster than large
# ints; they stay exact while every sum is below 2**53, which the entry check guarantees.
_EXACT = 2**52
_BEFORE, _AFTER = 0, 1  # the fill piece is still to come / was taken
_CLOSED, _OPEN = 0, 1

Key = tuple[int, int]  # (phase, residue)
Pair = list[list[float] | None]  # [closed, open] tables; None = unreachable everywhere
Layer = dict[Key, Pair]
State = tuple[int, int, int, int]  # (phase, residue, closed/open, index)


@dataclass(frozen=True)
class _Grid:
    """The table shape: `rows` minute counts per window budget, `unit` minutes per row, stored budgets per boundary."""

    need: int
    unit: int
    windows: int
    rows: int
    # Budgets kept at each boundary, (lowest, highest). Below the lowest the remaining segments cannot open
    # enough windows to matter for the final budget; above the highest ("at most j windows") every table
    # equals the highest one, because the segments so far cannot hold more windows.
    budgets: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, segments: Sequence[Segment], need: int, max_windows: int) -> _Grid:
        unit = 0
        for segment in segments[1:-1]:
            unit = gcd(unit, segment.length)
        unit = unit or 1
        windows = min(max_windows, len(segments))
        before, after = _most_windows(segments), _most_windows(segments[::-1])[::-1]
        budgets: list[tuple[int, int]] = []
        for boundary in range(len(segments) + 1):
            lowest = max(0, windows - after[boundary])
            budgets.append((lowest, max(lowest, min(windows, before[boundary]))))
        return cls(need, unit, windows, need // unit + 1, tuple(budgets))

    def position(self, boundary: int, budget: int, row: int) -> int | None:
        """Where a budget's row sits in a table at the boundary; None when that budget is not kept."""
        lowest, highest = self.budgets[boundary]
        budget = min(budget, highest)
        return None if budget < lowest else (budget - lowest) * self.rows + row

    def realign(self, table: list[float], boundary: int, spent: int) -> list[float]:
        """A table at `boundary` re-cut to the budgets of the next boundary, `spent` (0 or 1) windows used on the way."""
        (old_low, old_high), (low, high) = self.budgets[boundary], self.budgets[boundary + 1]
        first, last = low - spent, high - spent
        rows = self.rows
        out = [_INF] * (max(0, min(last, old_low - 1) - first + 1) * rows)
        kept_first, kept_last = max(first, old_low), min(last, old_high)
        if kept_first <= kept_last:
            out += table[(kept_first - old_low) * rows : (kept_last - old_low + 1) * rows]
        copies = last - max(first, old_high + 1) + 1
        if copies > 0:
            out += table[(old_high - old_low) * rows :] * copies
        return out

    def shift(self, table: list[float], rows: int, cost: float) -> list[float] | None:
        """Every entry moved `rows` rows up within its budget block, plus `cost`; None if nothing is left."""
        if rows >= self.rows:
            return None
        if rows:
            table = [_INF] * rows + table[:-rows]
            blank = [_INF] * (len(table) // self.rows)
            for row in range(rows):  # the rows pushed in from the block below are not reachable
                table[row :: self.rows] = blank
        return [value + cost for value in table] if cost else table


def _most_windows(segments: Sequence[Segment]) -> list[int]:
    """For each prefix, the most windows it can hold: every other segment of each run, plus one fill piece."""
    counts, whole, run = [0], 0, 0
    for index, segment in enumerate(segments):
        run = run + 1 if index and segments[index - 1].end == segment.start else 1
        whole += run % 2  # a run of m segments holds ceil(m / 2) windows of whole segments
        counts.append(min(index + 1, whole + 1))
    return counts


def windows_by_dynamic_programme(segments: Sequence[Segment], need: int, max_windows: int) -> Selection:
    """The latest cheapest ≤ max_windows windows over exactly `need` minutes; `need` must fit in them."""
    if max(abs(s.price) for s in segments) * (segments[-1].end - segments[0].start) >= _EXACT:
        raise ValueError("prices too large for the planner")  # far beyond anything a valid source delivers
    grid = _Grid.of(segments, need, max_windows)
    useful = _useful_residues(segments, grid)
    lowest, highest = grid.budgets[0]
    start = [0.0 if index % grid.rows == 0 else _INF for index in range((highest - lowest + 1) * grid.rows)]
    layers: list[Layer] = [{(_BEFORE, 0): [start, None]}]
    for index, segment in enumerate(segments):
        contiguous = index > 0 and segments[index - 1].end == segment.start
        layers.append(_advance(layers[-1], index, segment, contiguous, grid, useful[index + 1]))
    residue = need % grid.unit
    position = grid.position(len(segments), grid.windows, (need - residue) // grid.unit)
    assert position is not None
    finals: list[tuple[float, State]] = []
    for phase in (_BEFORE, _AFTER):
        for which, table in enumerate(layers[-1].get((phase, residue), [None, None])):
            if table is not None:
                finals.append((table[position], (phase, residue, which, position)))
    best = min(value for value, _ in finals)
    if best == _INF:  # pragma: no cover - the caller only asks for minutes that fit
        raise AssertionError("the need does not fit in the windows allowed")
    return Selection(_rebuild(segments, layers, grid, {state for value, state in finals if value == best}), int(best))


def _useful_residues(segments: Sequence[Segment], grid: _Grid) -> list[frozenset[int]]:
    """Per boundary, the residues after the fill piece from which whole later segments can still reach `need`."""
    sums = [frozenset({0})]
    for segment in reversed(segments):
        sums.append(sums[-1] | {(s + segment.length) % grid.unit for s in sums[-1]})
    sums.reverse()
    return [frozenset((grid.need - s) % grid.unit for s in later) for later in sums]


def _advance(
    layer: Layer, boundary: int, segment: Segment, contiguous: bool, grid: _Grid, useful: frozenset[int]
) -> Layer:
    """The least cost of every state after deciding one more segment."""
    out: Layer = {}
    length, price, unit = segment.length, segment.price, grid.unit
    for (phase, residue), (closed, opened) in layer.items():
        either = _least(closed, opened)
        assert either is not None
        skipped = grid.realign(either, boundary, 0)
        starter = closed if contiguous else either  # an open window just runs on into a contiguous segment
        fresh = None if starter is None else grid.realign(starter, boundary, 1)
        if contiguous and opened is not None:
            running = grid.realign(opened, boundary, 0)
            covered = running if fresh is None else _least(running, fresh)
        else:
            covered = fresh  # states whose window covers the segment's start
        if phase == _BEFORE or residue in useful:
            _keep(out, (phase, residue), _CLOSED, skipped)
        if covered is None:
            continue
        target = (residue + length) % unit
        if phase == _BEFORE or target in useful:
            rows = (residue + length - target) // unit
            _keep(out, (phase, target), _OPEN, grid.shift(covered, rows, float(length * price)))
        if phase == _AFTER or length == 1:
            continue
        ended = grid.realign(either, boundary, 1)  # a window starting inside the segment is always a new one
        for target in useful:
            for taken in range((target - residue) % unit or unit, length, unit):
                rows = (residue + taken - target) // unit
                _keep(out, (_AFTER, target), _CLOSED, grid.shift(covered, rows, float(taken * price)))
                _keep(out, (_AFTER, target), _OPEN, grid.shift(ended, rows, float(taken * price)))
    return out


def _least(first: list[float] | None, second: list[float] | None) -> list[float] | None:
    if first is None or second is None:
        return first if second is None else second
    return [a if a < b else b for a, b in zip(first, second, strict=True)]


def _keep(out: Layer, key: Key, which: int, table: list[float] | None) -> None:
    if table is None:
        return
    pair = out.setdefault(key, [None, None])
    pair[which] = _least(pair[which], table)


def _rebuild(
    segments: Sequence[Segment], layers: list[Layer], grid: _Grid, admissible: set[State]
) -> tuple[tuple[int, int], ...]:
    """Walk back from the last segment, taking each segment's latest option that still allows the least cost."""
    pieces: list[tuple[int, int]] = []
    for index in range(len(segments) - 1, -1, -1):
        segment = segments[index]
        contiguous = index > 0 and segments[index - 1].end == segment.start
        for option, taken in _options_latest_first(segment, layers[index], layers[index + 1], grid.unit):
            found = _predecessors(option, taken, index, segment, contiguous, layers, grid, admissible)
            if found:
                admissible = found
                if option in ("whole", "end"):
                    pieces.append((segment.end - taken, segment.end))
                elif option == "start":
                    pieces.append((segment.start, segment.start + taken))
                break
        else:  # pragma: no cover - the forward pass guarantees a predecessor
            raise AssertionError("no predecessor while rebuilding the plan")
    windows: list[tuple[int, int]] = []
    for start, end in sorted(pieces):
        if windows and windows[-1][1] == start:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return tuple(windows)


def _options_latest_first(segment: Segment, before: Layer, after: Layer, unit: int) -> list[tuple[str, int]]:
    """A segment's options ordered by how late their minutes are: whole, end pieces, start pieces, nothing."""
    fills = {(t - r) % unit for (pt, t) in after if pt == _AFTER for (pr, r) in before if pr == _BEFORE}
    pieces = [taken for taken in range(segment.length - 1, 0, -1) if taken % unit in fills]
    return [("whole", segment.length)] + [("end", t) for t in pieces] + [("start", t) for t in pieces] + [("skip", 0)]


_ENDS_OPEN = {"skip": _CLOSED, "whole": _OPEN, "end": _OPEN, "start": _CLOSED}


def _predecessors(
    option: str,
    taken: int,
    index: int,
    segment: Segment,
    contiguous: bool,
    layers: list[Layer],
    grid: _Grid,
    admissible: set[State],
) -> set[State]:
    """The states before the segment from which `option` reaches an admissible state at its least cost."""
    before, after = layers[index], layers[index + 1]
    found: set[State] = set()
    rows, unit, lowest = grid.rows, grid.unit, grid.budgets[index + 1][0]
    continuing = contiguous and option in ("whole", "start")
    for phase, residue, which, position in admissible:
        if which != _ENDS_OPEN[option] or (option in ("end", "start") and phase != _AFTER):
            continue
        table = after[(phase, residue)][which]
        assert table is not None
        value = table[position]
        block, row = divmod(position, rows)
        budget = lowest + block
        if option == "skip":
            spot = grid.position(index, budget, row)
            for source, candidate in enumerate(before.get((phase, residue), [None, None])):
                if spot is not None and candidate is not None and candidate[spot] == value:
                    found.add((phase, residue, source, spot))
            continue
        from_phase = phase if option == "whole" else _BEFORE
        sources = (
            [(_OPEN, budget), (_CLOSED, budget - 1)] if continuing else [(_CLOSED, budget - 1), (_OPEN, budget - 1)]
        )
        for (source_phase, source_residue), pair in before.items():
            if source_phase != from_phase or (source_residue + taken) % unit != residue:
                continue
            source_row = row - (source_residue + taken - residue) // unit
            if source_row < 0:
                continue
            for source, source_budget in sources:
                candidate = pair[source]
                spot = grid.position(index, source_budget, source_row) if source_budget >= 0 else None
                if spot is not None and candidate is not None and candidate[spot] + taken * segment.price == value:
                    found.add((source_phase, source_residue, source, spot))
    return found
