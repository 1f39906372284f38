"""What charging on arrival would cost: the same energy at full power from the moment the car was read (pure).

The status page sets this beside the plan's estimate so the owner sees what planning saved; the
simulation's month summary compares the same two figures (simulator/energy.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from shared.domain.prices import PriceInterval

# A feed whose intervals end a few microseconds short still counts as covering the span.
COVERAGE_SLACK = timedelta(seconds=1)


def cost_charging_from(
    prices: Sequence[PriceInterval], start: datetime, energy_kwh: float, charger_kw: float
) -> float | None:
    """The cost of drawing energy_kwh at charger_kw from start on; None when the prices leave part of it uncovered."""
    if energy_kwh <= 0:
        return 0.0
    if charger_kw <= 0:
        raise ValueError("charger power must be positive")
    end = start + timedelta(hours=energy_kwh / charger_kw)
    covered = timedelta(0)
    cost = 0.0
    for interval in prices:
        low, high = max(interval.start, start), min(interval.end, end)
        if high > low:
            covered += high - low
            cost += (high - low).total_seconds() / 3600 * charger_kw * interval.price_per_kwh
    if covered < end - start - COVERAGE_SLACK:
        return None
    return cost
