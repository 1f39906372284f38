"""The in-memory DocumentStore and SecretStore every test shares; the conformance suites keep them honest.

Both count calls (`calls[method]`) and operations the way the services bill them, and take
injected failures: `fail_next("update", StoreUnavailable("..."), times=2)`.
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Callable, Mapping
from typing import Any

from shared.adapters.local.file_secret_store import check_secret_name, check_version_id
from shared.adapters.local.sqlite_store import check_document, check_id, matches_where
from shared.ports import Document
from tests.fakes.faults import FaultInjection


class InMemoryDocumentStore(FaultInjection):
    """DocumentStore in dicts, applying Firestore's value rules.

    `reads`, `writes` and `deletes` count like Firestore bills: a get or update reads one document,
    a list reads each document returned (at least one). Set `update_reruns` to call an update's fn
    that many extra times, as Firestore does under contention, to catch fns with side effects.
    """

    METHODS = ("get", "set", "delete", "list", "update")

    def __init__(self) -> None:
        super().__init__()
        self.collections: dict[str, dict[str, Document]] = {}
        self.reads = 0
        self.writes = 0
        self.deletes = 0
        self.update_reruns = 0

    def get(self, collection: str, doc_id: str) -> Document | None:
        """The document, or None when it does not exist."""
        _check_ids(collection, doc_id)
        self._enter("get")
        with self._lock:
            self.reads += 1
            return copy.deepcopy(self.collections.get(collection, {}).get(doc_id))

    def set(self, collection: str, doc_id: str, data: Document) -> None:
        """Create or replace the document."""
        _check_ids(collection, doc_id)
        stored = check_document(data)
        self._enter("set")
        with self._lock:
            self.writes += 1
            self.collections.setdefault(collection, {})[doc_id] = stored

    def delete(self, collection: str, doc_id: str) -> bool:
        """Delete the document; True when it existed."""
        _check_ids(collection, doc_id)
        self._enter("delete")
        with self._lock:
            self.deletes += 1
            return self.collections.get(collection, {}).pop(doc_id, None) is not None

    def list(self, collection: str, where: Mapping[str, Any] | None = None) -> builtins.list[Document]:
        """All documents of the collection whose fields equal every `where` item, ordered by id."""
        check_id("collection", collection)
        filters = check_document(where or {})
        self._enter("list")
        with self._lock:
            documents = self.collections.get(collection, {})
            found = [copy.deepcopy(documents[i]) for i in sorted(documents) if matches_where(documents[i], filters)]
            self.reads += max(1, len(found))
            return found

    def update(self, collection: str, doc_id: str, fn: Callable[[Document | None], Document | None]) -> Document | None:
        """Atomically read the document, call fn(current) and write what it returns."""
        _check_ids(collection, doc_id)
        self._enter("update")
        with self._lock:
            self.reads += 1
            current = self.collections.get(collection, {}).get(doc_id)
            for _ in range(self.update_reruns):
                fn(copy.deepcopy(current))
            new = fn(copy.deepcopy(current))
            if new is None:
                return copy.deepcopy(current)
            stored = check_document(new)
            self.writes += 1
            self.collections.setdefault(collection, {})[doc_id] = stored
            return copy.deepcopy(stored)


class InMemorySecretStore(FaultInjection):
    """SecretStore in a dict with Secret Manager semantics; counts accesses, adds, destroys and lists."""

    METHODS = ("add_version", "access_latest", "list_enabled_versions", "destroy_version")

    def __init__(self) -> None:
        super().__init__()
        # name -> versions in order; a destroyed version keeps its place with payload None.
        self.secrets: dict[str, builtins.list[bytes | None]] = {}
        self.accesses = 0
        self.adds = 0
        self.destroys = 0
        self.lists = 0

    def add_version(self, name: str, payload: bytes) -> str:
        """Store payload as the newest version (creating the secret if needed); returns the version id."""
        check_secret_name(name)
        self._enter("add_version")
        with self._lock:
            self.adds += 1
            versions = self.secrets.setdefault(name, [])
            versions.append(bytes(payload))
            return str(len(versions))

    def access_latest(self, name: str) -> bytes | None:
        """The newest enabled version's payload, or None when the secret or any version is missing."""
        check_secret_name(name)
        self._enter("access_latest")
        with self._lock:
            self.accesses += 1
            return next((p for p in reversed(self.secrets.get(name, [])) if p is not None), None)

    def list_enabled_versions(self, name: str) -> builtins.list[str]:
        """Ids of the enabled versions, newest first ([] when the secret does not exist)."""
        check_secret_name(name)
        self._enter("list_enabled_versions")
        with self._lock:
            self.lists += 1
            versions = self.secrets.get(name, [])
            return [str(i) for i in range(len(versions), 0, -1) if versions[i - 1] is not None]

    def destroy_version(self, name: str, version_id: str) -> None:
        """Destroy a version for good; a missing or already destroyed version is left as it is."""
        check_secret_name(name)
        check_version_id(version_id)
        self._enter("destroy_version")
        with self._lock:
            versions = self.secrets.get(name, [])
            index = int(version_id) - 1
            if index < len(versions) and versions[index] is not None:
                self.destroys += 1
                versions[index] = None

    def enabled_payloads(self, name: str) -> builtins.list[bytes]:
        """Test helper: the payloads still enabled, oldest first (what Secret Manager would bill)."""
        with self._lock:
            return [p for p in self.secrets.get(name, []) if p is not None]


def _check_ids(collection: str, doc_id: str) -> None:
    check_id("collection", collection)
    check_id("document", doc_id)
