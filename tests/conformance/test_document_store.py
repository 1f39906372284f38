"""One DocumentStore suite, run against the fake, SQLite and Firestore (the real emulator)."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.gcp.firestore_store import FirestoreDocumentStore
from shared.adapters.local.sqlite_store import SqliteDocumentStore
from shared.errors import StoreUnavailable
from shared.ports import Document, DocumentStore
from tests.conftest import EMULATOR_PROJECT
from tests.fakes.stores import InMemoryDocumentStore

NESTED: Document = {
    "text": "zażółć ✓",
    "count": 3,
    "ratio": 0.25,
    "whole_float": 2.0,
    "negative": -(2**63),
    "flag": False,
    "nothing": None,
    "list": [1, "two", None, True, {"deep": [1.5, {"deeper": "yes"}]}],
    "map": {"a.b": 1, "empty": {}, "empty_list": []},
    "timestamp": "2026-11-23T21:00:00+00:00",
}


@pytest.fixture(params=["fake", "sqlite", pytest.param("firestore", marks=pytest.mark.gcp)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DocumentStore]:
    if request.param == "fake":
        yield InMemoryDocumentStore()
    elif request.param == "sqlite":
        yield SqliteDocumentStore(tmp_path / "documents.sqlite3")
    else:
        request.getfixturevalue("firestore_env")
        firestore = FirestoreDocumentStore(EMULATOR_PROJECT)
        yield firestore
        firestore.close()


def _increment(doc: Document | None) -> Document:
    return {"n": (doc or {"n": 0})["n"] + 1}


def test_get_missing_document_is_none(store: DocumentStore) -> None:
    assert store.get("sessions", "nope") is None


def test_set_then_get_round_trips_nested_json(store: DocumentStore) -> None:
    store.set("sessions", "s1", NESTED)
    assert store.get("sessions", "s1") == NESTED


def test_round_trip_keeps_int_and_float_apart(store: DocumentStore) -> None:
    store.set("sessions", "s1", {"i": 2, "f": 2.0})
    got = store.get("sessions", "s1")
    assert got is not None
    assert type(got["i"]) is int
    assert type(got["f"]) is float


def test_set_replaces_the_whole_document(store: DocumentStore) -> None:
    store.set("sessions", "s1", {"a": 1, "b": 2})
    store.set("sessions", "s1", {"c": 3})
    assert store.get("sessions", "s1") == {"c": 3}


def test_tuples_are_stored_as_lists(store: DocumentStore) -> None:
    store.set("sessions", "s1", {"pair": (1, 2)})
    assert store.get("sessions", "s1") == {"pair": [1, 2]}


def test_changing_a_returned_document_does_not_change_the_store(store: DocumentStore) -> None:
    data: Document = {"inner": {"n": 1}}
    store.set("sessions", "s1", data)
    data["inner"]["n"] = 2
    got = store.get("sessions", "s1")
    assert got is not None
    got["inner"]["n"] = 3
    assert store.get("sessions", "s1") == {"inner": {"n": 1}}


def test_collections_are_separate(store: DocumentStore) -> None:
    store.set("a", "same", {"from": "a"})
    store.set("b", "same", {"from": "b"})
    assert store.get("a", "same") == {"from": "a"}
    assert store.list("b") == [{"from": "b"}]


def test_delete_reports_whether_the_document_existed(store: DocumentStore) -> None:
    store.set("sessions", "s1", {"a": 1})
    assert store.delete("sessions", "s1") is True
    assert store.get("sessions", "s1") is None
    assert store.delete("sessions", "s1") is False
    assert store.delete("never", "there") is False


def test_list_orders_by_id_and_filters_by_equality(store: DocumentStore) -> None:
    store.set("jobs", "c", {"id": "c", "state": "done", "n": 1})
    store.set("jobs", "a", {"id": "a", "state": "open", "n": 1})
    store.set("jobs", "b", {"id": "b", "state": "open", "n": 2})
    assert [d["id"] for d in store.list("jobs")] == ["a", "b", "c"]
    assert [d["id"] for d in store.list("jobs", {"state": "open"})] == ["a", "b"]
    assert [d["id"] for d in store.list("jobs", {"state": "open", "n": 2})] == ["b"]
    assert store.list("jobs", {"state": "gone"}) == []
    assert store.list("empty") == []
    assert store.list("jobs", {}) == store.list("jobs")


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        (1, ["float_one", "int_one"]),  # Firestore compares numbers by value
        (1.0, ["float_one", "int_one"]),
        (True, ["true"]),  # but a bool never equals a number
        (None, ["null"]),  # a missing field does not match None
        ([1, 2], ["list"]),
        ({"a": 1}, ["map"]),
        ("1", ["string"]),
        (0, []),
    ],
)
def test_where_equality_follows_firestore(store: DocumentStore, wanted: Any, expected: list[str]) -> None:
    values: dict[str, Any] = {
        "int_one": 1,
        "float_one": 1.0,
        "true": True,
        "null": None,
        "list": [1, 2],
        "map": {"a": 1},
        "string": "1",
    }
    for key, value in values.items():
        store.set("values", key, {"key": key, "v": value})
    store.set("values", "missing", {"key": "missing"})
    assert [d["key"] for d in store.list("values", {"v": wanted})] == expected


def test_where_field_with_a_dot_is_one_top_level_name(store: DocumentStore) -> None:
    store.set("docs", "flat", {"a.b": 1})
    store.set("docs", "nested", {"a": {"b": 1}})
    assert store.list("docs", {"a.b": 1}) == [{"a.b": 1}]


def test_where_takes_a_tuple_for_a_stored_list(store: DocumentStore) -> None:
    store.set("docs", "d", {"pair": [1, 2]})
    assert store.list("docs", {"pair": (1, 2)}) == [{"pair": [1, 2]}]
    with pytest.raises(ValueError):
        store.list("docs", {"": 1})


@pytest.mark.parametrize(
    "bad",
    [
        {"grid": [[1, 2], [3]]},  # Firestore: "Cannot convert an array value in an array value"
        {"big": 2**63},
        {"nan": float("nan")},
        {"": 1},
        {"__name__": 1},
        {1: "not a string key"},
        {"when": object()},
        {"raw": b"bytes"},
    ],
)
def test_values_firestore_cannot_hold_are_refused_everywhere(store: DocumentStore, bad: Any) -> None:
    with pytest.raises(ValueError):
        store.set("docs", "bad", bad)
    with pytest.raises(ValueError):
        store.update("docs", "bad", lambda _: bad)
    assert store.get("docs", "bad") is None


@pytest.mark.parametrize("bad_id", ["", "a/b", ".", "..", "__x__"])
def test_invalid_ids_are_refused_everywhere(store: DocumentStore, bad_id: str) -> None:
    with pytest.raises(ValueError):
        store.get("docs", bad_id)
    with pytest.raises(ValueError):
        store.set(bad_id, "doc", {"a": 1})


def test_update_creates_a_missing_document(store: DocumentStore) -> None:
    seen: list[Document | None] = []

    def create(doc: Document | None) -> Document:
        seen.append(doc)
        return {"n": 1, "tags": ["new"]}

    assert store.update("counters", "c", create) == {"n": 1, "tags": ["new"]}
    assert seen[-1] is None
    assert store.get("counters", "c") == {"n": 1, "tags": ["new"]}


def test_update_modifies_the_current_document(store: DocumentStore) -> None:
    store.set("counters", "c", {"n": 41, "keep": "me"})
    assert store.update("counters", "c", lambda doc: {**(doc or {}), "n": (doc or {})["n"] + 1}) == {
        "n": 42,
        "keep": "me",
    }
    assert store.get("counters", "c") == {"n": 42, "keep": "me"}


def test_update_returning_none_writes_nothing(store: DocumentStore) -> None:
    assert store.update("counters", "missing", lambda doc: None) is None
    assert store.get("counters", "missing") is None
    store.set("counters", "c", {"n": 1})
    assert store.update("counters", "c", lambda doc: None) == {"n": 1}
    assert store.get("counters", "c") == {"n": 1}


def test_update_error_from_fn_propagates_and_writes_nothing(store: DocumentStore) -> None:
    store.set("counters", "c", {"n": 1})

    class Refused(Exception):
        pass

    def refuse(doc: Document | None) -> Document:
        raise Refused("no")

    with pytest.raises(Refused):
        store.update("counters", "c", refuse)
    assert store.get("counters", "c") == {"n": 1}


def test_update_is_atomic_under_thread_concurrency(store: DocumentStore) -> None:
    # The emulator settles each clash of transactions on one document with a 2 s lock timeout, as the
    # real service aborts them: one round of 8 keeps the test short; the adapter retries the losers.
    threads, per_thread = (8, 1) if isinstance(store, FirestoreDocumentStore) else (8, 25)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(per_thread):
                store.update("counters", "shared", _increment)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert store.get("counters", "shared") == {"n": threads * per_thread}


def _increment_in_process(path: str, times: int) -> None:
    store = SqliteDocumentStore(Path(path))
    for _ in range(times):
        store.update("counters", "shared", _increment)


def test_sqlite_update_is_atomic_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "documents.sqlite3"
    SqliteDocumentStore(path).set("counters", "shared", {"n": 0})
    # spawn, not fork: forking a pytest process that may hold gRPC threads can deadlock.
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_increment_in_process, args=(str(path), 50)) for _ in range(3)]
    for process in processes:
        process.start()
    _increment_in_process(str(path), 50)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert SqliteDocumentStore(path).get("counters", "shared") == {"n": 200}


def test_sqlite_store_reopens_existing_data(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "documents.sqlite3"
    SqliteDocumentStore(path).set("sessions", "s1", NESTED)
    assert SqliteDocumentStore(path).get("sessions", "s1") == NESTED


def test_fake_injects_failures_and_counts_like_firestore_bills() -> None:
    fake = InMemoryDocumentStore()
    fake.fail_next("update", StoreUnavailable("contention"), times=2)
    for _ in range(2):
        with pytest.raises(StoreUnavailable):
            fake.update("counters", "c", _increment)
    assert fake.get("counters", "c") is None
    fake.update("counters", "c", _increment)
    fake.set("counters", "d", {"n": 5})
    assert len(fake.list("counters")) == 2
    fake.list("empty")
    fake.delete("counters", "d")
    assert fake.calls["update"] == 3
    assert (fake.reads, fake.writes, fake.deletes) == (1 + 1 + 2 + 1, 2, 1)


def test_fake_can_rerun_update_functions_like_a_retried_transaction() -> None:
    fake = InMemoryDocumentStore()
    fake.update_reruns = 2
    seen: list[Document | None] = []

    def remember(doc: Document | None) -> Document:
        seen.append(doc)
        return {"n": 1}

    fake.update("counters", "c", remember)
    assert seen == [None, None, None]
    assert fake.get("counters", "c") == {"n": 1}
