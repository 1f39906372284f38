"""This month's usage so far: Fleet API calls by billing category and worker requests, counted in the store.

Nothing else counts them in production: Tesla's own dashboard lags a day and Google's bill a month.
One document per UTC calendar month (`usage/YYYY-MM`), each count one atomic `store.update`, so
every instance adds to the same figures. A count that cannot be written is logged and dropped:
losing one count is cheaper than failing the night it belongs to.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.clock import Clock
from shared.errors import StoreUnavailable
from shared.log import get_logger
from shared.ports import DocumentStore

log = get_logger("WORKER")
COLLECTION = "usage"
FLEET_CATEGORIES = ("data", "commands", "wakes")
CATEGORIES = (*FLEET_CATEGORIES, "worker_requests", "jobs_created")
# Tesla's pay-per-use prices since 2025-02-01 (FACTS): data $1/500, commands $1/1,000, wakes $1/50,
# before the $10 monthly discount per account.
TESLA_PRICE_USD = {"data": 1 / 500, "commands": 1 / 1000, "wakes": 1 / 50}
TESLA_MONTHLY_DISCOUNT_USD = 10.0


def month_of(moment: datetime) -> str:
    """The usage document's id for the UTC calendar month of moment (YYYY-MM)."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def count(store: DocumentStore, clock: Clock, category: str, n: int = 1) -> None:
    """Add n to this month's count of category (atomic; a store outage drops the count with a warning)."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown usage category {category}")
    now = clock.now()
    month = month_of(now)

    def add(current: dict[str, Any] | None) -> dict[str, Any]:
        doc = dict(current or {"month": month})
        doc[category] = int(doc.get(category, 0)) + n
        doc["updated_at"] = now.isoformat()
        return doc

    try:
        store.update(COLLECTION, month, add)
    except StoreUnavailable:
        log.warning(f"usage count lost: {category}", fields={"category": category})


def counter(store: DocumentStore, clock: Clock) -> Callable[[str], None]:
    """`count` bound to a store and clock: what CountingSession calls for each billed Fleet API answer."""
    return lambda category: count(store, clock, category)


def month_usage(store: DocumentStore, now: datetime) -> dict[str, Any]:
    """This month's counts, Tesla's price of them, and where the Google Cloud cost is shown."""
    month = month_of(now)
    doc = store.get(COLLECTION, month) or {}
    fleet: dict[str, Any] = {k: int(doc.get(k, 0)) for k in FLEET_CATEGORIES}
    fleet["cost_usd"] = round(sum(fleet[k] * TESLA_PRICE_USD[k] for k in FLEET_CATEGORIES), 4)
    fleet["monthly_discount_usd"] = TESLA_MONTHLY_DISCOUNT_USD
    fleet["prices_usd"] = {"data": "1 per 500", "commands": "1 per 1,000", "wakes": "1 per 50"}
    return {
        "month": month,
        "updated_at": doc.get("updated_at"),
        "fleet_api": fleet,
        "gcp": {
            "worker_requests": int(doc.get("worker_requests", 0)),
            "jobs_created": int(doc.get("jobs_created", 0)),
            "cost_note": "Google Cloud cost is not metered here: see the Costs table in README.md",
        },
    }
