"""Several processes opening one new SQLite store at once (two workers starting together) all succeed."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from shared.adapters.local.sqlite_store import SqliteDocumentStore


def _open(path: str, start: multiprocessing.synchronize.Event, ok: multiprocessing.Queue) -> None:  # type: ignore[name-defined, type-arg]
    start.wait()
    try:
        SqliteDocumentStore(Path(path)).set("c", "d", {"x": 1})
        ok.put(True)
    except Exception:  # reported back as a failure
        ok.put(False)


def test_processes_opening_a_new_store_together_all_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    results: list[bool] = []
    for round_ in range(6):
        path = tmp_path / f"round{round_}.sqlite3"
        start, ok = context.Event(), context.Queue()
        processes = [context.Process(target=_open, args=(str(path), start, ok)) for _ in range(6)]
        for p in processes:
            p.start()
        start.set()
        for p in processes:
            p.join(timeout=60)
        results.extend(ok.get(timeout=10) for _ in processes)
    assert all(results) and len(results) == 36
