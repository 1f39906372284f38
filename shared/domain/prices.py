"""Priced time intervals: the common currency of every price source and the planner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PriceInterval:
    """Energy costs price_per_kwh from start (inclusive) to end (exclusive); both aware."""

    start: datetime
    end: datetime
    price_per_kwh: float
