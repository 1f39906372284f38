"""DocumentStore on an embedded SQLite file: one table of JSON documents, safe across threads and processes.

Also home of the value rules every DocumentStore applies (`check_id`, `check_document`,
`matches_where`), so the local store, the fake and the Firestore adapter accept and match exactly
the same things Firestore does.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from shared.errors import StoreUnavailable
from shared.ports import Document

# Firestore reserves ids and field names shaped like `__name__`.
_RESERVED = re.compile(r"^__.*__$")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MISSING = object()


def check_id(kind: str, value: str) -> None:
    """Raise ValueError unless value is a valid Firestore collection or document id."""
    if not isinstance(value, str) or not value or "/" in value or value in (".", "..") or _RESERVED.match(value):
        raise ValueError(f"invalid {kind} id")
    if len(value.encode()) > 1500:
        raise ValueError(f"{kind} id longer than 1500 bytes")


def check_document(data: Mapping[str, Any]) -> Document:
    """A plain-JSON deep copy of data; ValueError when Firestore could not store it the same way.

    Rejected: non-string or empty or `__x__` keys, non-JSON types, NaN/infinity, integers outside
    int64, and arrays directly inside arrays (Firestore: "Cannot convert an array value in an array
    value"). The message names the field path, never the value.
    """
    if not isinstance(data, Mapping):
        raise ValueError("a document must be a mapping")
    return _copy_map(data, "")


def _copy_map(data: Mapping[Any, Any], path: str) -> dict[str, Any]:
    copied: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not key or _RESERVED.match(key):
            raise ValueError(f"invalid field name under '{path or '/'}'")
        copied[key] = _copy_value(value, f"{path}.{key}" if path else key, in_array=False)
    return copied


def _copy_value(value: Any, path: str, *, in_array: bool) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"integer out of int64 range at '{path}'")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"non-finite number at '{path}'")
        return value
    if isinstance(value, Mapping):
        return _copy_map(value, path)
    if isinstance(value, list | tuple):
        if in_array:
            raise ValueError(f"array directly inside an array at '{path}'")
        return [_copy_value(item, f"{path}[{i}]", in_array=True) for i, item in enumerate(value)]
    raise ValueError(f"value of type {type(value).__name__} at '{path}' is not plain JSON")


def json_equal(a: Any, b: Any) -> bool:
    """Equality as a Firestore `==` filter sees it: 1 == 1.0, but True != 1; deep for lists and maps."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def matches_where(document: Mapping[str, Any], where: Mapping[str, Any] | None) -> bool:
    """True when every top-level field named in where exists in document and equals its value."""
    return all(
        (found := document.get(field, _MISSING)) is not _MISSING and json_equal(found, wanted)
        for field, wanted in (where or {}).items()
    )


class SqliteDocumentStore:
    """Documents as JSON rows in one SQLite table (WAL); a connection per call, so threads and processes share it."""

    def __init__(self, path: Path, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Switching to WAL takes an exclusive lock without waiting on the busy timeout, so two
        # processes opening a new file at once can get SQLITE_BUSY: try again for a while.
        deadline = time.monotonic() + busy_timeout_s
        attempt = 0
        while True:
            try:
                self._initialise()
                return
            except StoreUnavailable:
                attempt += 1
                if time.monotonic() >= deadline:
                    raise
                time.sleep(min(0.05 * attempt, 0.5))

    def _initialise(self) -> None:
        with self._connection("open") as conn:
            # WAL lets readers run beside one writer; the setting is stored in the file itself.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS documents ("
                " collection TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,"
                " PRIMARY KEY (collection, id)) WITHOUT ROWID"
            )

    @contextmanager
    def _connection(self, operation: str) -> Iterator[sqlite3.Connection]:
        # isolation_level=None: autocommit, transactions only where we say BEGIN.
        try:
            with closing(sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)) as conn:
                yield conn
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"local document store: {operation} failed ({exc.sqlite_errorname})") from exc

    def get(self, collection: str, doc_id: str) -> Document | None:
        """The document, or None when it does not exist."""
        check_id("collection", collection)
        check_id("document", doc_id)
        with self._connection("get") as conn:
            return _read(conn, collection, doc_id)

    def set(self, collection: str, doc_id: str, data: Document) -> None:
        """Create or replace the document."""
        check_id("collection", collection)
        check_id("document", doc_id)
        text = _dumps(check_document(data))
        with self._connection("set") as conn:
            conn.execute(
                "INSERT INTO documents (collection, id, data) VALUES (?, ?, ?)"
                " ON CONFLICT (collection, id) DO UPDATE SET data = excluded.data",
                (collection, doc_id, text),
            )

    def delete(self, collection: str, doc_id: str) -> bool:
        """Delete the document; True when it existed."""
        check_id("collection", collection)
        check_id("document", doc_id)
        with self._connection("delete") as conn:
            cursor = conn.execute("DELETE FROM documents WHERE collection = ? AND id = ?", (collection, doc_id))
            return cursor.rowcount > 0

    def list(self, collection: str, where: Mapping[str, Any] | None = None) -> list[Document]:
        """All documents of the collection whose fields equal every `where` item, ordered by id."""
        check_id("collection", collection)
        filters = check_document(where or {})
        with self._connection("list") as conn:
            rows = conn.execute("SELECT data FROM documents WHERE collection = ? ORDER BY id", (collection,)).fetchall()
        # Filtering in Python keeps Firestore's equality rules in one place; collections here are small.
        documents = [json.loads(row[0]) for row in rows]
        return [doc for doc in documents if matches_where(doc, filters)]

    def update(self, collection: str, doc_id: str, fn: Callable[[Document | None], Document | None]) -> Document | None:
        """Atomically read the document, call fn(current) and write what it returns (BEGIN IMMEDIATE)."""
        check_id("collection", collection)
        check_id("document", doc_id)
        with self._connection("update") as conn:
            # IMMEDIATE takes the write lock before the read, so no other process can interleave.
            conn.execute("BEGIN IMMEDIATE")
            try:
                current = _read(conn, collection, doc_id)
                new = fn(current)
                if new is None:
                    conn.execute("ROLLBACK")
                    return current
                stored = check_document(new)
                conn.execute(
                    "INSERT INTO documents (collection, id, data) VALUES (?, ?, ?)"
                    " ON CONFLICT (collection, id) DO UPDATE SET data = excluded.data",
                    (collection, doc_id, _dumps(stored)),
                )
                conn.execute("COMMIT")
                return stored
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise


def _read(conn: sqlite3.Connection, collection: str, doc_id: str) -> Document | None:
    row = conn.execute("SELECT data FROM documents WHERE collection = ? AND id = ?", (collection, doc_id)).fetchone()
    return None if row is None else json.loads(row[0])


def _dumps(data: Document) -> str:
    return json.dumps(data, separators=(",", ":"), allow_nan=False)
