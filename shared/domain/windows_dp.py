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
1000, 30 cost 1000), so no single price per minute (a Lagrange multiplier) picks the answer. Pricing
the windows too does not close the gap: there, 10 minutes in one window for 0 and 30 minutes in one
window for 1000 average to 20 minutes in one window for 500, so every pair of multipliers bounds the
20-minute cost by 500 or less while it is 1000. And no exact method can do without it in general:
with segments of any lengths the problem is NP-hard. Put segments of lengths w1 .. wn between gaps
and price segment i at -C / wi (C a common multiple of the lengths; adding a constant to every price
makes them positive and adds the same to every plan of `need` minutes): the minutes taken in segment
i cost at least -C, and exactly -C when they fill it, so k windows (each inside one segment) reach
-k x C exactly when k segments add up to `need`, which is subset sum with a given number of items.
An exact algorithm in O(n x k), or in any time polynomial in n, k and the digits of `need` and the
prices, would solve it. What keeps the count small is that it only needs whole segments' lengths:
every segment but the first and the last (cut by `now` and the deadline) has a length that is a
multiple of u, the gcd of their lengths (15 for quarter-hour prices, 60 for hourly ones). Minutes
taken are therefore tracked as residue + u x rows, with the residue (mod u) coming only from the
first and last segments and the fill piece: a few (phase, residue) families of states, one before
the fill when `now` is on the grid and one after it when the deadline is.

The programme walks the segments once. Its state at a boundary: fill piece taken or not, residue,
window budget j ("at most j windows"; the answer is read at j = k) and rows, each holding the least
cost, in two tables: every state, and the states with a window open at the boundary (which a
contiguous segment can extend without a new window). A new window opens from the first table at
budget j - 1, even where a window ends; that merely counts such a plan with one window too many,
and the rebuild joins the two pieces. Most (budget, row) pairs need no entry of their own:
- A plan with r rows holds at most r + s windows, s being the special pieces it can contain (a first
  or last segment shorter than a row, the fill piece), because every other window holds a row. So
  every budget from r + s up has the same least cost, kept once per row.
- From budget j the remaining segments must open exactly k - j windows and take the rest of `need`;
  each of those windows holds a row but for the special pieces still to come, so a budget far enough
  below r + k - R (R: the rows of `need`) cannot reach the final budget and is dropped.
- Budget 0 holds only the empty plan; budgets above the most windows the segments so far can hold
  equal the unconstrained costs, and below k minus the most windows the remaining segments can open
  no budget reaches k: neither is stored.
Each row thus keeps a band of R - k + f + 2 budgets (f: how many of the first and last segments are
shorter than a row), 8 instead of 25 for 36 hours of quarter-hours (n = 144), k = 24 and 455
minutes. Tables are flat lists, budget blocks of one band each after the unconstrained costs; adding
a segment's cost to a table only changes an offset (see _Table), so each step is a few list slices
and one pass per table that takes the least of its inputs. In all O(n x k x (R - k + f + 2)) steps:
O(n x k) when k is within a constant of need / u, and never more than O(n x k x need / u). Measured
in CPython on the benchmark's scattered prices (bench/bench_planner.py, 144 quarter-hours, k = 24):
about 12 ms for 455 minutes with `now` on the quarter-hour, 20 ms when `now` cuts the first quarter
(its odd length adds a family: first quarter taken or not), 13 ms for 900 minutes. The latest
cheapest set is then rebuilt from the last segment backwards, taking in each segment the latest
option (whole, then the longest end piece, then start pieces, then nothing) that still allows the
least cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import gcd

from shared.domain.cheapest_window import Selection, joined
from shared.domain.minute_prices import Segment

_INF = float("inf")  # "cannot be reached"
# Costs are whole numbers (nano-units x minutes) held in floats, which compare and add faster than large
# ints; they stay exact while every sum is below 2**53 in size, which the entry check guarantees (see _Table).
_EXACT = 2**52
_BEFORE, _AFTER = 0, 1  # the fill piece is still to come / was taken
_EITHER, _OPEN = 0, 1  # the table of every state / of the states with a window open at the boundary
_PAD = 2  # unreachable entries ahead of the unconstrained costs (rows -2, -1): short look-ups need no checks

Family = tuple[int, int]  # (phase, residue)
State = tuple[Family, int, int, int]  # (family, either/open, budget, row)


class _Table:
    """Least costs of one family at one boundary, kept on the band of budgets that can matter.

    `flat` holds _PAD unreachable entries, then the rows' unconstrained least costs (no window limit left
    to bind: the entry of every budget above the row's band or above the boundary's highest; from row 0,
    as many rows as such budgets can ask for), then one block of `width` entries per stored budget, lowest
    to highest, block j holding the rows j - top .. j - top + width - 1 (top: the special pieces a plan of
    the family can hold). Entries of rows beyond the family's last are never read. Each value is
    the stored number plus `offset`, so adding a segment's cost to a whole table only changes the offset.
    A stored number is a true partial cost minus an offset, and an offset sums at most one cost per segment,
    so both stay below 2**52 in size and every sum formed below 2**53: all exact in floats.
    """

    __slots__ = ("flat", "offset")

    def __init__(self, flat: list[float], offset: float) -> None:
        self.flat, self.offset = flat, offset


@dataclass(frozen=True)
class _Grid:
    """The shape of the tables: minutes per row, the window limit, the band and the budgets per boundary."""

    need: int
    unit: int
    windows: int
    width: int  # budgets a row keeps: the band's width
    # Budgets kept at each boundary, lowest and highest. Below the lowest the remaining segments cannot open
    # enough windows to matter for the final budget; above the highest ("at most j windows") every table
    # equals the unconstrained one, because the segments so far cannot hold more windows. Budget 0 is never
    # kept: it holds only the empty plan (cost 0, row 0, in the first family), which `move` puts back.
    lowest: tuple[int, ...]
    highest: tuple[int, ...]
    sizes: tuple[int, ...]  # entries in the budget blocks at each boundary
    # The special pieces (a first or last segment shorter than a row) before each boundary: how many more
    # windows than rows a plan can hold there before the fill piece; one more after it (the band's top).
    specials: tuple[int, ...]
    last_rows: tuple[int, ...]  # per residue, the row that makes `need`
    # Per boundary and residue, where the budget blocks start: after _PAD unreachable entries and the
    # unconstrained costs of the rows that need them (every row while budgets above the highest are
    # implied, then only those some budget's band starts above).
    heads: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, segments: Sequence[Segment], need: int, max_windows: int) -> _Grid:
        unit = 0
        for segment in segments[1:-1]:
            unit = gcd(unit, segment.length)
        unit = unit or 1
        first = int(segments[0].length < unit)
        last = int(len(segments) > 1 and segments[-1].length < unit)
        # No set of `need` minutes has more windows: every window but those of special pieces holds a row.
        windows = min(max_windows, len(segments), need // unit + first + last + 1)
        width = max(1, first + last + 2 + need // unit - windows)
        before, after = _most_windows(segments), _most_windows(segments[::-1])[::-1]
        lowest = [max(1, windows - most) for most in after]
        highest = [max(low, min(windows, most)) for low, most in zip(lowest, before, strict=True)]
        sizes = [(high - low + 1) * width for low, high in zip(lowest, highest, strict=True)]
        specials = [first] * (len(segments) + 1)
        specials[0], specials[-1] = 0, first + last
        last_rows = tuple((need - residue) // unit for residue in range(unit))
        shapes: dict[tuple[bool, int], tuple[int, ...]] = {}  # few distinct ones: share them
        for full, special in {(high < windows, special) for high, special in zip(highest, specials, strict=True)}:
            kept = [rows + 1 if full else max(0, min(rows + 1, windows - special)) for rows in last_rows]
            shapes[(full, special)] = tuple(_PAD + count for count in kept)
        heads = tuple(shapes[(high < windows, special)] for high, special in zip(highest, specials, strict=True))
        return cls(
            need, unit, windows, width, tuple(lowest), tuple(highest), tuple(sizes), tuple(specials), last_rows, heads
        )

    def value(self, table: _Table, boundary: int, family: Family, budget: int, row: int, either: bool = True) -> float:
        """One entry of a table (of every state, or of those with a window open), wherever it is kept or implied."""
        if row < 0 or row > self.last_rows[family[1]]:
            return _INF
        if budget < 1:  # the empty plan
            return 0.0 if budget == 0 and row == 0 and either and family == (_BEFORE, 0) else _INF
        lowest = self.lowest[boundary]
        if budget < lowest:
            return _INF
        top = self.specials[boundary] + family[0]
        if budget > self.highest[boundary] or budget > row + top:
            return table.flat[_PAD + row] + table.offset
        place = row - budget + top
        if place >= self.width:
            return _INF
        head = self.heads[boundary][family[1]]
        return table.flat[head + (budget - lowest) * self.width + place] + table.offset

    def move(
        self,
        flat: list[float],
        boundaries: tuple[int, int],
        tops: tuple[int, int],
        opened: int,
        rows: int,
        head: int,
        empty: float | None = None,
    ) -> list[float]:
        """Entries re-cut from one boundary and band top to another, `opened` (0 or 1) more windows and `rows`
        more rows taken on the way, into a table whose blocks start at `head` (the caller adds the cost).
        `empty` is the stored number of the empty plan when it is part of the table."""
        width, source, target = self.width, boundaries[0], boundaries[1]
        size, old_low, low, high = self.sizes[source], self.lowest[source], self.lowest[target], self.highest[target]
        total = len(flat)
        blocks = total - size  # where the old blocks start
        target_top = tops[1]
        shift = rows - opened + target_top - tops[0]  # how far an entry moves inside its band
        same = not shift and old_low + opened == low and size == (high - low + 1) * width
        # The unconstrained costs move `rows` rows on; rows before the old row 0 are unreachable.
        if not rows:
            if same and head == blocks:
                return flat  # nothing moves
            out = flat[:head]
        elif rows <= _PAD:
            out = flat[:rows] + flat[: head - rows]
        else:
            out = [_INF] * min(rows, head) + flat[: max(0, head - rows)]
        if same:
            out += flat[blocks:]
            return out
        first = max(low, old_low + opened)  # the first budget taken from a stored one
        last = min(high, self.highest[source] + opened)
        if first > low:  # budgets below the old lowest: they cannot reach the final budget
            out += [_INF] * ((min(high + 1, first) - low) * width)
        if first <= last:
            count = last - first + 1
            start = blocks + (first - opened - old_low) * width - shift
            stop = start + count * width
            base = len(out)
            out += flat[start:stop] if start >= 0 and stop <= total else _window(flat, start, stop)
            stop = base + count * width
            if shift > 0:  # entries that come from above the old band: the old unconstrained costs
                row = _PAD + first - target_top - rows  # where the one for block `first`, place 0, is in `flat`
                for place in range(min(shift, width)):
                    out[base + place : stop : width] = _window(flat, row + place, row + place + count)
            elif shift < 0:  # entries from below the old band: they cannot reach the final budget
                blank = [_INF] * count
                for place in range(max(0, width + shift), width):
                    out[base + place : stop : width] = blank
        for budget in range(max(low, last + 1), high + 1):  # above the old highest: the unconstrained costs
            row = _PAD + budget - target_top - rows
            out += _window(flat, row, row + width)
        if empty is not None and opened and low == 1:  # the empty plan opens the first window
            place = rows - 1 + target_top
            if 0 <= place < width:
                out[head + place] = empty
        return out

    def start(self) -> _Table:
        """Nothing taken yet: cost 0 at row 0, for every budget (all of them above the band: no special piece)."""
        flat = [_INF] * (self.heads[0][0] + self.sizes[0])
        flat[_PAD] = 0.0
        return _Table(flat, 0.0)


def _window(values: list[float], start: int, stop: int) -> list[float]:
    """values[start:stop], padded with "unreachable" where the indices fall outside the list."""
    size = len(values)
    if start >= 0 and stop <= size:
        return values[start:stop]
    if stop <= start:
        return []
    head = min(stop, 0) - start if start < 0 else 0
    middle = values[max(start, 0) : max(min(stop, size), 0)]
    tail = stop - max(start, size) if stop > size else 0
    return [_INF] * head + middle + [_INF] * tail


def _least(tables: list[tuple[list[float], float]]) -> _Table:
    """The entry-wise least of tables of one shape, given as (entries, offset); one pass for up to four."""
    if len(tables) > 4:
        merged = _least(tables[:4])
        return _least([(merged.flat, merged.offset), *tables[4:]])
    first, offset = tables[0]
    if len(tables) == 1:
        return _Table(first, offset)
    second, g = tables[1][0], tables[1][1] - offset
    if len(tables) == 2:
        if g:
            return _Table([a if a < b + g else b + g for a, b in zip(first, second, strict=True)], offset)
        return _Table([a if a < b else b for a, b in zip(first, second, strict=True)], offset)
    third, h = tables[2][0], tables[2][1] - offset
    if len(tables) == 3:
        flat = [
            m if m < c + h else c + h
            for a, b, c in zip(first, second, third, strict=True)
            for m in (a if a < b + g else b + g,)
        ]
        return _Table(flat, offset)
    fourth, i = tables[3][0], tables[3][1] - offset
    flat = [
        m if m < d + i else d + i
        for a, b, c, d in zip(first, second, third, fourth, strict=True)
        for m in (a if a < b + g else b + g,)
        for m in (m if m < c + h else c + h,)
    ]
    return _Table(flat, offset)


def _most_windows(segments: Sequence[Segment]) -> list[int]:
    """For each prefix, the most windows it can hold: every other segment of each run, plus one fill piece."""
    counts, whole, run, previous_end = [0], 0, 0, None
    for index, segment in enumerate(segments, 1):
        run = run + 1 if segment.start == previous_end else 1
        whole += run % 2  # a run of m segments holds ceil(m / 2) windows of whole segments
        counts.append(min(index, whole + 1))
        previous_end = segment.end
    return counts


Pair = tuple[_Table, _Table | None]  # (every state, those with a window open); None: no window can be open
Layer = dict[Family, Pair]


def windows_by_dynamic_programme(segments: Sequence[Segment], need: int, max_windows: int) -> Selection:
    """The latest cheapest ≤ max_windows windows over exactly `need` minutes; `need` must fit in them."""
    if max(abs(s.price) for s in segments) * (segments[-1].end - segments[0].start) >= _EXACT:
        raise ValueError("prices too large for the planner")  # far beyond anything a valid source delivers
    grid = _Grid.of(segments, need, max_windows)
    useful = _useful_residues(segments, grid)
    layers: list[Layer] = [{(_BEFORE, 0): (grid.start(), None)}]
    for index, segment in enumerate(segments):
        contiguous = index > 0 and segments[index - 1].end == segment.start
        layers.append(_advance(layers[-1], index, segment, contiguous, grid, useful[index + 1]))
    residue = need % grid.unit
    row = (need - residue) // grid.unit
    finals: dict[State, float] = {}
    for phase in (_BEFORE, _AFTER):
        family = (phase, residue)
        if family in layers[-1]:
            table = layers[-1][family][0]
            finals[(family, _EITHER, grid.windows, row)] = grid.value(table, len(segments), family, grid.windows, row)
    best = min(finals.values())
    if best == _INF:  # pragma: no cover - the caller only asks for minutes that fit
        raise AssertionError("the need does not fit in the windows allowed")
    admissible = {state: value for state, value in finals.items() if value == best}
    return Selection(_rebuild(segments, layers, grid, admissible), int(best))


def _useful_residues(segments: Sequence[Segment], grid: _Grid) -> list[frozenset[int]]:
    """Per boundary, the residues after the fill piece from which whole later segments can still reach `need`."""
    unit, need = grid.unit, grid.need
    sums = [frozenset({0})]  # per boundary from the end, the residues of the later segments' possible totals
    for segment in reversed(segments):
        step = segment.length % unit
        sums.append(sums[-1] | {(s + step) % unit for s in sums[-1]} if step else sums[-1])
    sums.reverse()
    useful: dict[frozenset[int], frozenset[int]] = {}  # few distinct sets: compute each once
    return [
        useful.get(later) or useful.setdefault(later, frozenset((need - s) % unit for s in later)) for later in sums
    ]


def _advance(
    layer: Layer, boundary: int, segment: Segment, contiguous: bool, grid: _Grid, useful: frozenset[int]
) -> Layer:
    """The least cost of every state after deciding one more segment."""
    either_in: dict[Family, list[tuple[list[float], float]]] = {}
    open_in: dict[Family, list[tuple[list[float], float]]] = {}
    length, price, unit, move, last_rows = segment.length, segment.price, grid.unit, grid.move, grid.last_rows
    heads = grid.heads[boundary + 1]  # every table made here belongs to the next boundary
    there, later = (boundary, boundary + 1), (boundary + 1, boundary + 1)
    here_top, next_top = grid.specials[boundary], grid.specials[boundary + 1]
    cost = float(length * price)
    for family, (either, opened) in layer.items():
        phase, residue = family
        step = (here_top + phase, next_top + phase)  # the band's top before and after, in this phase
        empty = -either.offset if family == (_BEFORE, 0) else None  # the empty plan, kept implicitly
        if phase == _BEFORE or residue in useful:  # skip the segment
            skipped = (move(either.flat, there, step, 0, 0, heads[residue]), either.offset)
            if family in either_in:
                either_in[family].append(skipped)
            else:
                either_in[family] = [skipped]
        target = (residue + length) % unit
        rows = (residue + length - target) // unit
        whole = (phase, target) if (phase == _BEFORE or target in useful) and rows <= last_rows[target] else None
        fills = (
            [(filled, taken) for filled in useful for taken in range((filled - residue) % unit or unit, length, unit)]
            if phase == _BEFORE
            else None
        )
        # A window covering the segment's start: a new one (one more window), or, into a contiguous segment,
        # the one open at its end running on.
        if not fills:
            if whole is not None:
                moved = [(move(either.flat, there, step, 1, rows, heads[target], empty), either.offset + cost)]
                if contiguous and opened is not None:
                    moved.append((move(opened.flat, there, step, 0, rows, heads[target]), opened.offset + cost))
                if whole in open_in:
                    open_in[whole] += moved
                else:
                    open_in[whole] = moved
            continue
        # The covering states feed the whole segment and the pieces: worth a table of their own.
        covering = [(move(either.flat, there, step, 1, 0, heads[residue], empty), either.offset)]
        if contiguous and opened is not None:
            covering.append((move(opened.flat, there, step, 0, 0, heads[residue]), opened.offset))
        covered = _least(covering)
        if whole is not None:
            open_in.setdefault(whole, []).append(
                (move(covered.flat, later, (step[1], step[1]), 0, rows, heads[target]), covered.offset + cost)
            )
        for filled, taken in fills:
            rows = (residue + taken - filled) // unit
            if rows > last_rows[filled]:
                continue
            piece = float(taken * price)
            pieces, tops = (_AFTER, filled), (step[1], next_top + _AFTER)
            # its first minutes, ending a window inside the segment; its last ones, starting a new window there
            either_in.setdefault(pieces, []).append(
                (move(covered.flat, later, tops, 0, rows, heads[filled]), covered.offset + piece)
            )
            open_in.setdefault(pieces, []).append(
                (move(either.flat, there, (step[0], tops[1]), 1, rows, heads[filled], empty), either.offset + piece)
            )
    out: Layer = {}
    for family, tables in open_in.items():
        opened = _least(tables)
        either_tables = either_in.pop(family, None)
        out[family] = (_least([(opened.flat, opened.offset), *either_tables]) if either_tables else opened, opened)
    for family, tables in either_in.items():
        out[family] = (_least(tables), None)
    return out


def _rebuild(
    segments: Sequence[Segment], layers: list[Layer], grid: _Grid, admissible: dict[State, float]
) -> tuple[tuple[int, int], ...]:
    """Walk back from the last segment, taking each segment's latest option that still allows the least cost."""
    pieces: list[tuple[int, int]] = []
    for index in range(len(segments) - 1, -1, -1):
        segment, before = segments[index], layers[index]
        contiguous = index > 0 and segments[index - 1].end == segment.start
        for option, taken in _options_latest_first(segment, before, layers[index + 1], grid.unit):
            found = _predecessors(option, taken, index, segment, contiguous, before, grid, admissible)
            if found:
                admissible = found
                if option in (_WHOLE, _END):
                    pieces.append((segment.end - taken, segment.end))
                elif option == _START:
                    pieces.append((segment.start, segment.start + taken))
                break
        else:  # pragma: no cover - the forward pass guarantees a predecessor
            raise AssertionError("no predecessor while rebuilding the plan")
    return joined(pieces)


_WHOLE, _END, _START, _SKIP = range(4)  # a segment's options, latest minutes first


def _options_latest_first(segment: Segment, before: Layer, after: Layer, unit: int) -> list[tuple[int, int]]:
    """A segment's options ordered by how late their minutes are: whole, end pieces, start pieces, nothing."""
    fills = {(t - r) % unit for (pt, t) in after if pt == _AFTER for (pr, r) in before if pr == _BEFORE}
    pieces = sorted((t for f in fills for t in range(f or unit, segment.length, unit)), reverse=True)
    return [(_WHOLE, segment.length), *((_END, t) for t in pieces), *((_START, t) for t in pieces), (_SKIP, 0)]


def _predecessors(
    option: int,
    taken: int,
    index: int,
    segment: Segment,
    contiguous: bool,
    before: Layer,
    grid: _Grid,
    admissible: dict[State, float],
) -> dict[State, float]:
    """The states before the segment from which `option` reaches an admissible state at its least cost."""
    found: dict[State, float] = {}
    unit, cost, value_of = grid.unit, taken * segment.price, grid.value
    runs_on = contiguous and option != _END  # the window open at the segment's start may run on into it
    for (family, which, budget, row), value in admissible.items():
        phase, residue = family
        if option == _SKIP:  # leaves no window open
            pair = before.get(family)
            if which == _EITHER and pair is not None and value_of(pair[0], index, family, budget, row) == value:
                found[(family, _EITHER, budget, row)] = value
            continue
        if (option != _WHOLE and phase != _AFTER) or (option == _START and which == _OPEN):
            continue  # a piece moves a plan to the after phase; a start piece ends its window in the segment
        from_phase = phase if option == _WHOLE else _BEFORE
        for source_family, pair in before.items():
            source_phase, source_residue = source_family
            if source_phase != from_phase or (source_residue + taken) % unit != residue:
                continue
            source_row = row - (source_residue + taken - residue) // unit
            either, opened = pair
            source_value = value_of(either, index, source_family, budget - 1, source_row)  # a new window opens
            if source_value + cost == value:
                found[(source_family, _EITHER, budget - 1, source_row)] = source_value
            if runs_on and opened is not None:
                source_value = value_of(opened, index, source_family, budget, source_row, False)
                if source_value + cost == value:
                    found[(source_family, _OPEN, budget, source_row)] = source_value
    return found
