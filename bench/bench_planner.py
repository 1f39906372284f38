"""Prints how long the planner takes for 96 and 1,440 price intervals, and its plan's cost against an oracle.

Run from the repository root: `.venv/bin/python bench/bench_planner.py`. The 96 intervals are PSE's
recorded day (tests/fixtures/api-samples); the 1,440 are fifteen days made from it with seeded
noise. The oracles work minute by minute: every start for one window, a plain dynamic programme
over minutes for two windows.
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

from shared.domain.minute_prices import PRICE_SCALE, price_units  # noqa: E402
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


def bench(label: str, prices: list[float], need_minutes: int, max_windows: int, repeats: int) -> None:
    intervals = intervals_from(prices)
    deadline = intervals[-1].end
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
            now=START,
            deadline=deadline,
            prices=intervals,
            currency="PLN",
            timezone=WARSAW,
            max_windows=max_windows,
        )
        timings.append(time.perf_counter() - began)
    minute_prices = [price_units(p) for p in prices for _ in range(15)]
    plan_cost = sum(
        minute_prices[m]
        for w in plan.windows
        for m in range(round((w.start - START) / timedelta(minutes=1)), round((w.end - START) / timedelta(minutes=1)))
    )
    began = time.perf_counter()
    if max_windows == 1:
        oracle = oracle_one_window(minute_prices, plan.minutes)
    else:
        oracle = oracle_windows(minute_prices, plan.minutes, max_windows)
    oracle_seconds = time.perf_counter() - began
    to_pln = charger_kw / 60 / PRICE_SCALE  # each minute draws charger_kw / 60 kWh
    print(
        f"{label:<36} intervals={len(intervals):>5} windows<={max_windows} minutes={plan.minutes:>4} "
        f"plan={statistics.median(timings) * 1000:8.2f} ms  cost={plan_cost * to_pln:8.4f} PLN  "
        f"oracle={oracle * to_pln:8.4f} PLN  diff={(plan_cost - oracle) * to_pln:+.6f}  (oracle {oracle_seconds:.1f} s)"
    )


def main() -> None:
    day = recorded_day()
    rng = random.Random(2026)
    fortnight = [max(-0.05, p * rng.uniform(0.6, 1.4) + rng.uniform(-0.05, 0.05)) for _ in range(15) for p in day]
    print("cost = what the planned minutes cost at 11 kW; the oracle's is the cheapest possible")
    bench("recorded PSE day, 1 window", day, 455, 1, repeats=50)
    bench("recorded PSE day, 2 windows", day, 455, 2, repeats=3)
    bench("recorded PSE day, 3 windows", day, 600, 3, repeats=3)
    bench("15 days of quarter-hours, 1 window", fortnight, 455, 1, repeats=20)
    bench("15 days of quarter-hours, 2 windows", fortnight, 300, 2, repeats=1)


if __name__ == "__main__":
    main()
