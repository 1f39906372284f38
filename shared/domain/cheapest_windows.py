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
3. Otherwise the exact dynamic programme of `windows_dp` decides (its docstring gives the argument):
   O(n * k * (need / u - k + 4)) for n segments whose lengths are multiples of u minutes (15 for
   quarter-hour prices), so O(n * k) when k is near need / u; 36 hours of quarter-hours with k = 24
   take 12-20 ms in CPython. No exact method is O(n * k) in general: with segments of any lengths
   the problem contains subset sum (windows_dp says how).
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.domain.cheapest_window import Selection, cheapest_window, joined, runs
from shared.domain.minute_prices import Segment
from shared.domain.windows_dp import windows_by_dynamic_programme


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
    return windows_by_dynamic_programme(segments, fit, max_windows)


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
    return Selection(joined(pieces), cost)
