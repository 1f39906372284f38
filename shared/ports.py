"""The interfaces between the services and the outside world.

Each port has a GCP adapter (official google-cloud client), an embedded local adapter and one
fake for tests; `tests/conformance/` runs the same suite against all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shared.domain.prices import PriceInterval

Document = dict[str, Any]


class DocumentStore(Protocol):
    """Collections of JSON-like documents keyed by id, with single-document transactions.

    Values are JSON types (str, int, float, bool, None, list, dict); datetimes are stored as
    ISO 8601 strings by the callers so both backends hold the same thing.
    """

    def get(self, collection: str, doc_id: str) -> Document | None:
        """The document, or None when it does not exist."""
        ...

    def set(self, collection: str, doc_id: str, data: Document) -> None:
        """Create or replace the document."""
        ...

    def delete(self, collection: str, doc_id: str) -> bool:
        """Delete the document; True when it existed."""
        ...

    def list(self, collection: str, where: Mapping[str, Any] | None = None) -> list[Document]:
        """All documents of the collection whose fields equal every `where` item, ordered by id."""
        ...

    def update(self, collection: str, doc_id: str, fn: Callable[[Document | None], Document | None]) -> Document | None:
        """Atomically read the document, call fn(current) and write what it returns.

        fn returning None writes nothing. fn may run more than once under contention (Firestore
        retries transactions), so it must not have side effects beyond its return value.
        Returns the document as stored afterwards. Raises StoreUnavailable when it gives up.
        """
        ...


class SecretStore(Protocol):
    """Versioned secrets (Secret Manager semantics): each add creates a new, enabled version."""

    def add_version(self, name: str, payload: bytes) -> str:
        """Store payload as the newest version (creating the secret if needed); returns the version id."""
        ...

    def access_latest(self, name: str) -> bytes | None:
        """The newest enabled version's payload, or None when the secret or any version is missing."""
        ...

    def list_enabled_versions(self, name: str) -> list[str]:
        """Ids of the enabled versions, newest first ([] when the secret does not exist)."""
        ...

    def destroy_version(self, name: str, version_id: str) -> None:
        """Destroy a version for good (destroyed versions are not billed, disabled ones are)."""
        ...


@dataclass(frozen=True)
class HttpJob:
    """A scheduled HTTP call, as Cloud Scheduler holds it.

    `name` is the short job id (e.g. `special-send-special-1-20261124-0700`). `body` is JSON.
    `oidc_service_account` is used on GCP; locally the embedded scheduler sends the worker's
    shared secret instead.
    """

    name: str
    schedule: str
    time_zone: str
    uri: str
    body: Mapping[str, Any] = field(default_factory=dict)
    http_method: str = "POST"
    description: str = ""
    oidc_service_account: str | None = None
    oidc_audience: str | None = None
    retry_count: int = 3
    attempt_deadline_seconds: int = 320

    def validate(self) -> None:
        """Refuse (ValidationError) what Cloud Scheduler would refuse, on every backend alike."""
        from shared.domain.cron import validate_job_fields

        validate_job_fields(
            self.name,
            self.schedule,
            self.time_zone,
            http_method=self.http_method,
            retry_count=self.retry_count,
            attempt_deadline_seconds=self.attempt_deadline_seconds,
        )


class JobScheduler(Protocol):
    """Create, list and delete HTTP jobs (Cloud Scheduler semantics)."""

    def create(self, job: HttpJob) -> bool:
        """Create the job; False (and nothing changed) when a job of that name already exists."""
        ...

    def get(self, name: str) -> HttpJob | None:
        """The job, or None."""
        ...

    def list(self, prefix: str = "") -> list[HttpJob]:
        """Jobs whose name starts with prefix, ordered by name."""
        ...

    def delete(self, name: str) -> bool:
        """Delete the job; True when it existed."""
        ...


class VehicleReader(Protocol):
    """The two reads the scout makes; it never wakes the car nor commands it."""

    def vehicle_state(self, vin: str) -> str:
        """`online`, `asleep` or `offline`; never wakes the car; not billed."""
        ...

    def vehicle_data(self, vin: str) -> dict[str, Any]:
        """`location_data` and `charge_state`; raises VehicleAsleep (408) when the car sleeps."""
        ...


class VehicleApi(VehicleReader, Protocol):
    """The Tesla Fleet API calls this system makes (contract section 8)."""

    def wake_up(self, vin: str, timeout_s: float = 90.0) -> bool:
        """Wake the car and poll its state (bounded) until online; True when it came online."""
        ...

    def set_charge_limit(self, vin: str, percent: int) -> dict[str, Any]: ...

    def add_charge_schedule(self, vin: str, schedule: Mapping[str, Any]) -> dict[str, Any]: ...

    def remove_charge_schedule(self, vin: str, schedule_id: int) -> dict[str, Any]: ...

    def location_readable(self) -> bool:
        """False when the token lacks the vehicle_location scope (vehicle_data then has no position)."""
        ...

    def check_commands(self, vin: str, commands: tuple[str, ...]) -> None:
        """Raise the owner-action error (signing, pairing, firmware) these commands would meet; sends nothing."""
        ...


class PriceSource(Protocol):
    """Prices for a time range, as contiguous or gapped intervals (gaps mean: unavailable)."""

    currency: str

    def prices(self, start: datetime, end: datetime) -> list[PriceInterval]:
        """Intervals overlapping [start, end), sorted by start, not overlapping each other."""
        ...
