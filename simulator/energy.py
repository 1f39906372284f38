"""Energy delivered at home and what it cost: the plan actually run, and two ways the owner could have charged instead.

The car charges at constant power within each stretch of its charge log, so a stretch's cost is
the integral of the price over it. The alternatives deliver the same energy in each plug-in
session (plugged in … driven away):
- charge on arrival: from the moment it is plugged in, at full power, until that energy is in;
- Tesla's own fixed off-peak window: from the next 22:00 (or at once when plugged in between
  22:00 and 06:00), as a car with scheduled charging and no prices would — possibly delivering
  less when the car leaves before it is done (reported as `shortfall_kwh`).
Also: the cheapest the same energy could have been (perfect foresight, any minutes of the
session), and what the car drew at once on being plugged in, before a schedule of ours was there.
For judging the plan (issue 15): the charging at home outside every schedule window, and the
cheapest a planner held to the worker's own rules (ready by READY_BY, MAX_WINDOWS windows) could do.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from shared.domain.prices import PriceInterval
from shared.domain.ready_by import DAILY, DepartureDays, planning_end

FIXED_WINDOW_START = time(22, 0)
FIXED_WINDOW_END = time(6, 0)
AT_PLUG_IN = timedelta(minutes=1)  # charging that starts this soon after plugging in began by itself

Segment = tuple[datetime, datetime, float]  # start, end, grid kWh at constant power


@dataclass(frozen=True)
class PlugSession:
    """The car plugged in at home from `start` until it drove away (`end`)."""

    start: datetime
    end: datetime


class PriceCurve:
    """Contiguous price intervals with a fast integral of price over time."""

    def __init__(self, intervals: Sequence[PriceInterval]) -> None:
        self.intervals = list(intervals)
        self._starts = [i.start for i in self.intervals]

    def average(self, start: datetime, end: datetime) -> float:
        """Time-weighted mean price over [start, end); ValueError outside the curve."""
        seconds = (end - start).total_seconds()
        if seconds <= 0:
            return 0.0
        return self.integral(start, end) / seconds

    def integral(self, start: datetime, end: datetime) -> float:
        """Σ price × seconds over [start, end)."""
        if not self.intervals or start < self.intervals[0].start or end > self.intervals[-1].end:
            raise ValueError(f"no prices for {start.isoformat()} to {end.isoformat()}")
        total = 0.0
        index = max(0, bisect.bisect_right(self._starts, start) - 1)
        while index < len(self.intervals) and self.intervals[index].start < end:
            interval = self.intervals[index]
            overlap = (min(end, interval.end) - max(start, interval.start)).total_seconds()
            if overlap > 0:
                total += overlap * interval.price_per_kwh
            index += 1
        return total


def segments_cost(segments: Sequence[Segment], prices: PriceCurve) -> float:
    """What the charging stretches cost: each at constant power, priced minute by minute."""
    total = 0.0
    for start, end, kwh in segments:
        seconds = (end - start).total_seconds()
        if seconds > 0 and kwh > 0:
            total += kwh * prices.average(start, end)
    return total


def clip(segments: Sequence[Segment], start: datetime, end: datetime) -> list[Segment]:
    """The parts of the segments inside [start, end), energy split in proportion to time."""
    clipped = []
    for a, b, kwh in segments:
        lo, hi = max(a, start), min(b, end)
        if hi > lo and b > a:
            clipped.append((lo, hi, kwh * (hi - lo) / (b - a)))
    return clipped


def charge_from(start: datetime, kwh: float, power_kw: float, until: datetime) -> Segment | None:
    """Charging `kwh` at `power_kw` from `start`, cut at `until`; None when nothing fits."""
    if kwh <= 0 or start >= until:
        return None
    end = min(start + timedelta(hours=kwh / power_kw), until)
    return (start, end, power_kw * (end - start).total_seconds() / 3600)


def fixed_window_start(plugged: datetime, timezone: tzinfo) -> datetime:
    """When a car with a fixed 22:00–06:00 scheduled charge starts after being plugged in."""
    local = plugged.astimezone(timezone)
    if local.time() >= FIXED_WINDOW_START or local.time() < FIXED_WINDOW_END:
        return plugged
    return datetime.combine(local.date(), FIXED_WINDOW_START, tzinfo=timezone)


def cheapest_possible_cost(session: PlugSession, kwh: float, power_kw: float, prices: PriceCurve) -> float:
    """A lower bound: `kwh` bought in the cheapest moments of the session at `power_kw` (perfect foresight)."""
    pieces = sorted(
        (i.price_per_kwh, (min(i.end, session.end) - max(i.start, session.start)).total_seconds() / 3600)
        for i in prices.intervals
        if i.end > session.start and i.start < session.end
    )
    cost, left = 0.0, kwh
    for price, hours in pieces:
        if left <= 0:
            break
        take = min(left, hours * power_kw)
        cost, left = cost + take * price, left - take
    return cost


@dataclass(frozen=True)
class SessionFigures:
    """One plug-in session: the energy the car drew in it, what that cost, and what the alternatives would have."""

    start: datetime
    end: datetime
    kwh: float
    planned_cost: float
    arrival_cost: float
    fixed_window_cost: float
    cheapest_cost: float


@dataclass(frozen=True)
class EnergyFigures:
    """kWh and cost of the plan run, of the two alternatives, and the cheapest possible."""

    planned_kwh: float
    planned_cost: float
    arrival_kwh: float
    arrival_cost: float
    fixed_window_kwh: float
    fixed_window_cost: float
    fixed_window_shortfall_kwh: float
    sessions: int
    cheapest_possible_cost: float = 0.0
    at_plug_in_kwh: float = 0.0  # drawn the moment the car was plugged in, before a schedule of ours was there
    at_plug_in_cost: float = 0.0
    per_session: tuple[SessionFigures, ...] = ()


def energy_figures(
    charge_log: Sequence[Segment],
    sessions: Sequence[PlugSession],
    prices: PriceCurve,
    power_kw: float,
    timezone: tzinfo,
) -> EnergyFigures:
    """Energy and cost of what the car really drew, and of charging on arrival or in a fixed window instead."""
    planned_kwh = planned_cost = arrival_kwh = arrival_cost = fixed_kwh = fixed_cost = shortfall = 0.0
    cheapest = plug_in_kwh = plug_in_cost = 0.0
    per_session: list[SessionFigures] = []
    for session in sessions:
        drawn = clip(charge_log, session.start, session.end)
        kwh = sum(s[2] for s in drawn)
        session_cost = segments_cost(drawn, prices)
        session_cheapest = cheapest_possible_cost(session, kwh, power_kw, prices)
        planned_kwh += kwh
        planned_cost += session_cost
        cheapest += session_cheapest
        at_once = [d for d in drawn if d[0] - session.start < AT_PLUG_IN]
        plug_in_kwh += sum(d[2] for d in at_once)
        plug_in_cost += segments_cost(at_once, prices)
        arrival = charge_from(session.start, kwh, power_kw, session.end)
        session_arrival = segments_cost([arrival], prices) if arrival is not None else 0.0
        if arrival is not None:
            arrival_kwh += arrival[2]
            arrival_cost += session_arrival
        fixed = charge_from(fixed_window_start(session.start, timezone), kwh, power_kw, session.end)
        got = fixed[2] if fixed is not None else 0.0
        session_fixed = segments_cost([fixed], prices) if fixed is not None else 0.0
        if fixed is not None:
            fixed_kwh += got
            fixed_cost += session_fixed
        shortfall += max(0.0, kwh - got)
        per_session.append(
            SessionFigures(
                session.start, session.end, kwh, session_cost, session_arrival, session_fixed, session_cheapest
            )
        )
    return EnergyFigures(
        planned_kwh,
        planned_cost,
        arrival_kwh,
        arrival_cost,
        fixed_kwh,
        fixed_cost,
        shortfall,
        len(sessions),
        cheapest,
        plug_in_kwh,
        plug_in_cost,
        tuple(per_session),
    )


def outside_windows(
    unscheduled: Sequence[Segment], home_stays: Sequence[PlugSession], since: datetime | None
) -> list[Segment]:
    """The charging outside every schedule window that happened at home from `since` on (None: none counts)."""
    if since is None:
        return []
    found: list[Segment] = []
    for stay in home_stays:
        if stay.end > since:
            found += clip(unscheduled, max(stay.start, since), stay.end)
    return sorted(found)


def ready_by_deadline(
    plugged: datetime, until: datetime, ready_by: time, timezone: tzinfo, days: DepartureDays = DAILY
) -> datetime:
    """Where the everyday cycle's plan made at `plugged` ends (shared/domain/ready_by), at most `until`."""
    return min(planning_end(plugged, ready_by, days, timezone), until)


def one_window_cost(session: PlugSession, kwh: float, power_kw: float, prices: PriceCurve) -> float | None:
    """The cheapest `kwh` at `power_kw` in ONE contiguous stretch of the session; None when it does not fit.

    The cost of a stretch of fixed length is piecewise linear in its start, so the best start is one
    where the stretch begins or ends at a price change (or at the session's edges).
    """
    if kwh <= 0:
        return 0.0
    length = timedelta(hours=kwh / power_kw)
    latest = session.end - length
    if latest < session.start:
        return None
    edges = [i.start for i in prices.intervals if session.start < i.start < session.end]
    candidates = {session.start, latest, *edges, *(edge - length for edge in edges)}
    best = min(prices.integral(t, t + length) for t in candidates if session.start <= t <= latest)
    return best / length.total_seconds() * kwh


def best_under_rules(
    session: PlugSession,
    kwh: float,
    power_kw: float,
    prices: PriceCurve,
    deadline: datetime,
    max_windows: int | None,
) -> float:
    """The cheapest the session's energy could be bought by `deadline` in at most `max_windows` windows (None: any).

    A planner with perfect knowledge of the night's prices, held to the worker's rules. More than
    one window is not limited here (a lower bound). Energy that cannot fit by the deadline is
    judged on the whole session instead, as the cheapest possible is.
    """
    by_deadline = PlugSession(session.start, deadline)
    if timedelta(hours=kwh / power_kw) > deadline - session.start:
        return cheapest_possible_cost(session, kwh, power_kw, prices)
    if max_windows == 1:
        cost = one_window_cost(by_deadline, kwh, power_kw, prices)
        if cost is not None:
            return cost
    return cheapest_possible_cost(by_deadline, kwh, power_kw, prices)
