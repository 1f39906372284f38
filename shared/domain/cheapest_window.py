"""The cheapest contiguous charging window of a given length, exact at minute resolution.

Why looking at a few candidates is enough: for a window of fixed length D starting at minute x,
cost(x) = P(x + D) - P(x), where P (the cumulative cost) is piecewise linear with a kink at every
segment boundary. So cost(x) is piecewise linear in x, with kinks only where x or x + D meets a
boundary. A piecewise-linear function on a closed range takes its minimum at a kink or at an end
of the range, and when the minimum is reached inside a piece the piece is flat, so its right end
(the later start) reaches it too. Checking x = boundary and x = boundary - D (plus the ends of
each run of available minutes) therefore finds the cheapest window and, among equally cheap
ones, the latest: O(n log n) for n segments. Boundaries are whole minutes, so the answer is too.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from shared.domain.minute_prices import Segment


@dataclass(frozen=True)
class Selection:
    """Chosen charging windows as minute offsets [start, end), in order, and their summed minute prices."""

    windows: tuple[tuple[int, int], ...]
    cost: int

    @property
    def minutes(self) -> int:
        return sum(end - start for start, end in self.windows)


def joined(pieces: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Minute pieces as windows, in order: pieces that touch become one window."""
    windows: list[tuple[int, int]] = []
    for start, end in sorted(pieces):
        if windows and windows[-1][1] == start:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return tuple(windows)


def runs(segments: Sequence[Segment]) -> list[list[Segment]]:
    """Maximal chains of back-to-back segments: the stretches a single window may use."""
    chains: list[list[Segment]] = []
    for segment in segments:
        if chains and chains[-1][-1].end == segment.start:
            chains[-1].append(segment)
        else:
            chains.append([segment])
    return chains


def cheapest_window(segments: Sequence[Segment], length: int) -> Selection | None:
    """The cheapest `length` contiguous available minutes (the latest of equally cheap ones); None if none fit."""
    if length <= 0:
        return Selection((), 0)
    best: tuple[int, int] | None = None  # (cost, start)
    for run in runs(segments):
        found = _cheapest_in_run(run, length)
        if found is not None and (best is None or found[0] <= best[0]):
            best = found  # runs come in time order, so `<=` keeps the later window on a tie
    if best is None:
        return None
    cost, start = best
    return Selection(((start, start + length),), cost)


def _cheapest_in_run(run: list[Segment], length: int) -> tuple[int, int] | None:
    first, last = run[0].start, run[-1].end
    if last - first < length:
        return None
    starts = [segment.start for segment in run]
    prefix = [0]
    for segment in run:
        prefix.append(prefix[-1] + segment.length * segment.price)

    def cumulative(x: int) -> int:
        """Cost of minutes [first, x)."""
        i = min(bisect_right(starts, x) - 1, len(run) - 1)
        return prefix[i] + (x - run[i].start) * run[i].price

    boundaries = [*starts, last]
    candidates = {b for b in boundaries if b + length <= last} | {b - length for b in boundaries if b - length >= first}
    best: tuple[int, int] | None = None
    for x in sorted(candidates):
        cost = cumulative(x + length) - cumulative(x)
        if best is None or cost <= best[0]:
            best = (cost, x)
    return best
