"""Prints how long the planner takes for 96, 144 and 1,440 price intervals, and its plan's cost against an oracle.

Run from the repository root: `.venv/bin/python bench/bench_planner.py`. The 96 intervals are PSE's
recorded day (tests/fixtures/api-samples); the 144 (36 hours of quarter-hours) and the 1,440
(fifteen days) are made from it with seeded noise. The oracles work minute by minute: every start
for one window, a plain dynamic programme over minutes for more (NumPy for k = 24; NumPy is only
a development dependency, pulled in by matplotlib, and nothing deployed uses it).

The 36-hour, k = 24 lines are the issue's benchmark: the noise is strong enough that the cheapest
minutes form more than 24 windows, so the exact dynamic programme (not the sort) decides; `sort`
says how many windows the cheapest minutes alone would need.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.domain.cheapest_windows import cheapest_minutes  # noqa: E402
from shared.domain.minute_prices import PRICE_SCALE, minute_grid, price_units, to_segments  # noqa: E402
from shared.domain.planner import plan_cheapest_charging  # noqa: E402
from shared.domain.prices import PriceInterval  # noqa: E402

WARSAW = ZoneInfo("Europe/Warsaw")
SAMPLE = ROOT / "tests" / "fixtures" / "api-samples" / "pse_rce-pln_2026-06-15.json"
START = datetime(2026, 6, 14, 22, 0, tzinfo=UTC)  # local midnight of the recorded day


def recorded_day() -> list[float]:
    return [record["rce_pln"] / 1000 for record in json.loads(SAMPLE.read_text())["value"]]


def intervals_from(prices: list[float]) -> list[PriceInterval]:
    step = timedelta(minutes=15)
    return [PriceInterval(START + i * step, START + (i + 1) * step, p) for i, p in enumerate(prices)]


def oracle_one_window(minute_prices: list[int], need: int) -> int:
    prefix = [0]
    for price in minute_prices:
        prefix.append(prefix[-1] + price)
    return min(prefix[s + need] - prefix[s] for s in range(len(minute_prices) - need + 1))


def oracle_windows(minute_prices: list[int], need: int, k: int) -> int:
    """Least cost of `need` minutes in at most k windows, minute by minute."""
    inf = float("inf")
    closed = [[inf] * (need + 1) for _ in range(k + 1)]  # closed[j][c]: j windows used, c minutes, not charging now
    opened = [[inf] * (need + 1) for _ in range(k + 1)]
    closed[0][0] = 0
    for price in minute_prices:
        new_closed = [[min(a, b) for a, b in zip(closed[j], opened[j], strict=True)] for j in range(k + 1)]
        new_opened = [[inf] * (need + 1) for _ in range(k + 1)]
        for j in range(k + 1):
            for c in range(1, need + 1):
                stay = opened[j][c - 1]
                start = closed[j - 1][c - 1] if j > 0 else inf
                best = min(stay, start)
                if best < inf:
                    new_opened[j][c] = best + price
        closed, opened = new_closed, new_opened
    return int(min(min(closed[j][need], opened[j][need]) for j in range(k + 1)))


def oracle_windows_numpy(minute_prices: list[int], need: int, k: int) -> int:
    """The same minute-by-minute programme as oracle_windows, vectorised over (windows, minutes) with NumPy."""
    import numpy as np

    inf = np.inf
    closed = np.full((k + 1, need + 1), inf)
    opened = np.full((k + 1, need + 1), inf)
    closed[0, 0] = 0.0
    for price in minute_prices:
        new_closed = np.minimum(closed, opened)
        new_opened = np.full((k + 1, need + 1), inf)
        # stay in the open window (same count) or open a new one (one more), one more minute either way
        new_opened[:, 1:] = opened[:, :-1]
        new_opened[1:, 1:] = np.minimum(new_opened[1:, 1:], closed[:-1, :-1])
        closed, opened = new_closed, new_opened + price  # exact: every sum stays far below 2**53
    return int(min(closed[:, need].min(), opened[:, need].min()))


def bench(
    label: str, prices: list[float], need_minutes: int, max_windows: int, repeats: int, offset_minutes: int = 0
) -> None:
    intervals = intervals_from(prices)
    deadline = intervals[-1].end
    now = START + timedelta(minutes=offset_minutes)  # off the quarter-hour grid: the first segment is cut short
    charger_kw = 11.0
    battery_kwh = 200.0  # large enough for every case below; efficiency 1 keeps minutes = energy / power
    target = 10 + (need_minutes - 0.5) * charger_kw / 60 / battery_kwh * 100
    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        plan = plan_cheapest_charging(
            current_soc=10,
            target_soc=target,
            battery_kwh=battery_kwh,
            charger_kw=charger_kw,
            efficiency=1.0,
            now=now,
            deadline=deadline,
            prices=intervals,
            currency="PLN",
            timezone=WARSAW,
            max_windows=max_windows,
        )
        timings.append(time.perf_counter() - began)
    minute_prices = [price_units(p) for p in prices for _ in range(15)][offset_minutes:]
    plan_cost = sum(
        minute_prices[m]
        for w in plan.windows
        for m in range(round((w.start - now) / timedelta(minutes=1)), round((w.end - now) / timedelta(minutes=1)))
    )
    origin, horizon = minute_grid(now, deadline)
    sort_windows = len(cheapest_minutes(to_segments(intervals, origin, horizon), plan.minutes).windows)
    began = time.perf_counter()
    if max_windows == 1:
        oracle = oracle_one_window(minute_prices, plan.minutes)
    elif max_windows <= 3:
        oracle = oracle_windows(minute_prices, plan.minutes, max_windows)
    else:
        oracle = oracle_windows_numpy(minute_prices, plan.minutes, max_windows)
    oracle_seconds = time.perf_counter() - began
    to_pln = charger_kw / 60 / PRICE_SCALE  # each minute draws charger_kw / 60 kWh
    print(
        f"{label:<48} intervals={len(intervals):>5} windows<={max_windows:<2} (sort: {sort_windows:>2}, plan: "
        f"{len(plan.windows):>2}) minutes={plan.minutes:>4} plan={statistics.median(timings) * 1000:8.2f} ms  "
        f"cost={plan_cost * to_pln:8.4f} PLN  oracle={oracle * to_pln:8.4f} PLN  "
        f"diff={(plan_cost - oracle) * to_pln:+.6f}  (oracle {oracle_seconds:.1f} s)"
    )


def main() -> None:
    day = recorded_day()
    rng = random.Random(2026)
    fortnight = [max(-0.05, p * rng.uniform(0.6, 1.4) + rng.uniform(-0.05, 0.05)) for _ in range(15) for p in day]
    # 36 hours of quarter-hours, mostly seeded noise over the day's shape: the cheapest minutes scatter
    # over more than 24 windows, so the dynamic programme has to decide.
    scatter = random.Random(37)
    noisy = [0.3 * p + 0.7 * scatter.uniform(0.0, 0.8) for p in (day + day)[:144]]
    print("cost = what the planned minutes cost at 11 kW; the oracle's is the cheapest possible")
    bench("recorded PSE day, 1 window", day, 455, 1, repeats=50)
    bench("recorded PSE day, 2 windows", day, 455, 2, repeats=3)
    bench("recorded PSE day, 3 windows", day, 600, 3, repeats=3)
    bench("36 h of quarter-hours, 24 windows", noisy, 455, 24, repeats=9)
    bench("36 h of quarter-hours, 24 windows, now 7 min in", noisy, 455, 24, repeats=9, offset_minutes=7)
    bench("36 h of quarter-hours, 24 windows, 900 min", noisy, 900, 24, repeats=5)
    bench("15 days of quarter-hours, 1 window", fortnight, 455, 1, repeats=20)
    bench("15 days of quarter-hours, 2 windows", fortnight, 300, 2, repeats=1)


if __name__ == "__main__":
    main()
