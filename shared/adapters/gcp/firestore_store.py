"""DocumentStore on Firestore (official client), created lazily: importing the client costs ~0.5 s of CPU.

Every call carries a bounded retry: the client's own default retries an unreachable backend for
300 s. Google errors are translated here, once: contention and outages → StoreUnavailable (message
names the operation, never data); an argument Firestore rejects → ValueError.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from shared.adapters.gcp.clients import LazyClient
from shared.adapters.local.sqlite_store import check_document, check_id
from shared.errors import StoreUnavailable
from shared.ports import Document

T = TypeVar("T")


class FirestoreDocumentStore:
    """Documents in Firestore collections; `update` is a Firestore transaction retried on contention."""

    # Firestore locks documents pessimistically: concurrent updates of one document abort all but
    # one (the emulator after a 2 s lock timeout). Fresh attempts with jittered backoff get through.
    update_attempts = 8
    call_timeout_s = 20.0

    def __init__(self, project: str, database: str = "(default)", client: Any = None) -> None:
        self.project = project
        self.database = database
        self._client: LazyClient[Any] = LazyClient(self._create_client, client)

    def _create_client(self) -> Any:
        from google.cloud import firestore

        return firestore.Client(project=self.project, database=self.database)

    @property
    def client(self) -> Any:
        """The google.cloud.firestore.Client, created on first use."""
        return self._client.get()

    def close(self) -> None:
        """Close the client's channels, if a client was created."""
        if self._client.created is not None:
            self._client.created.close()

    def get(self, collection: str, doc_id: str) -> Document | None:
        """The document, or None when it does not exist."""
        with translated_errors("get"):
            snapshot = self._ref(collection, doc_id).get(retry=self._retry(), timeout=self.call_timeout_s)
        return snapshot.to_dict() if snapshot.exists else None

    def set(self, collection: str, doc_id: str, data: Document) -> None:
        """Create or replace the document."""
        stored = check_document(data)
        with translated_errors("set"):
            self._ref(collection, doc_id).set(stored, retry=self._retry(), timeout=self.call_timeout_s)

    def delete(self, collection: str, doc_id: str) -> bool:
        """Delete the document; True when it existed (one call: a delete with an exists precondition)."""
        from google.api_core import exceptions as gex

        with translated_errors("delete"):
            ref = self._ref(collection, doc_id)
            try:
                ref.delete(
                    option=self.client.write_option(exists=True), retry=self._retry(), timeout=self.call_timeout_s
                )
            except gex.NotFound:
                return False
        return True

    def list(self, collection: str, where: Mapping[str, Any] | None = None) -> list[Document]:
        """All documents of the collection whose fields equal every `where` item, ordered by id."""
        from google.cloud.firestore_v1 import FieldFilter
        from google.cloud.firestore_v1.field_path import FieldPath

        check_id("collection", collection)
        filters = check_document(where or {})
        with translated_errors("list"):
            query = self.client.collection(collection)
            for field, value in filters.items():
                # Quoting keeps a field name with a dot from being read as a nested path.
                query = query.where(filter=FieldFilter(FieldPath(field).to_api_repr(), "==", value))
            snapshots = list(query.stream(retry=self._retry(), timeout=self.call_timeout_s))
        return [snapshot.to_dict() for snapshot in sorted(snapshots, key=lambda s: s.id)]

    def update(self, collection: str, doc_id: str, fn: Callable[[Document | None], Document | None]) -> Document | None:
        """Atomically read the document, call fn(current) and write what it returns; fn may run again."""
        from google.cloud import firestore

        check_id("collection", collection)
        check_id("document", doc_id)

        @firestore.transactional
        def read_modify_write(transaction: Any) -> Document | None:
            ref = self._ref(collection, doc_id)
            snapshot = ref.get(transaction=transaction, retry=self._retry(), timeout=self.call_timeout_s)
            current = snapshot.to_dict() if snapshot.exists else None
            new = fn(current)
            if new is None:
                return current
            stored = check_document(new)
            transaction.set(ref, stored)
            return stored

        def attempt() -> Document | None:
            # One commit attempt per transaction: our loop backs off between attempts, the client's does not.
            return read_modify_write(self.client.transaction(max_attempts=1))

        with translated_errors("update"):
            return retry_contention("update", attempt, self.update_attempts)

    def _ref(self, collection: str, doc_id: str) -> Any:
        check_id("collection", collection)
        check_id("document", doc_id)
        return self.client.collection(collection).document(doc_id)

    def _retry(self) -> Any:
        from google.api_core import exceptions as gex
        from google.api_core import retry

        return retry.Retry(
            initial=0.1,
            maximum=2.0,
            multiplier=2.0,
            timeout=self.call_timeout_s,
            predicate=retry.if_exception_type(
                gex.DeadlineExceeded, gex.InternalServerError, gex.ServiceUnavailable, gex.ResourceExhausted
            ),
        )


def is_contention(exc: BaseException) -> bool:
    """True for a transaction aborted by a competing one (directly, or wrapped by the client's retry loop)."""
    from google.api_core import exceptions as gex

    if isinstance(exc, gex.Aborted):
        return True
    # The client wraps the last Aborted in ValueError("Failed to commit transaction in N attempts.").
    return isinstance(exc, ValueError) and isinstance(exc.__cause__, gex.Aborted)


def retry_contention(
    operation: str, attempt: Callable[[], T], attempts: int, sleep: Callable[[float], None] = time.sleep
) -> T:
    """Run attempt(), again after a jittered backoff while it loses to contention; StoreUnavailable at the end."""
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except Exception as exc:
            if not is_contention(exc):
                raise
            if number == attempts:
                raise StoreUnavailable(
                    f"Firestore {operation} gave up after {attempts} attempts under contention"
                ) from exc
        sleep(random.uniform(0, min(1.0, 0.05 * 2**number)))
    raise AssertionError("unreachable")


@contextmanager
def translated_errors(operation: str) -> Iterator[None]:
    """Turn google errors into StoreUnavailable (or ValueError for a rejected argument)."""
    from google.api_core import exceptions as gex
    from google.auth import exceptions as auth_exceptions

    try:
        yield
    except gex.InvalidArgument as exc:
        raise ValueError(f"Firestore {operation} rejected an argument") from exc
    except (gex.GoogleAPIError, auth_exceptions.GoogleAuthError) as exc:
        raise StoreUnavailable(f"Firestore {operation} failed ({type(exc).__name__})") from exc
