"""One SecretStore suite, run against the fake, the file store and Secret Manager (drongo)."""

from __future__ import annotations

import multiprocessing
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.adapters.gcp.secret_manager_store import SecretManagerStore
from shared.adapters.local.file_secret_store import FileSecretStore
from shared.errors import StoreUnavailable
from shared.ports import SecretStore
from tests.conftest import EMULATOR_PROJECT
from tests.fakes.stores import InMemorySecretStore

NAME = "tesla-tokens"


@pytest.fixture(params=["fake", "file", pytest.param("secret_manager", marks=pytest.mark.gcp)])
def secrets(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SecretStore]:
    if request.param == "fake":
        yield InMemorySecretStore()
    elif request.param == "file":
        yield FileSecretStore(tmp_path / "secrets")
    else:
        store = SecretManagerStore(EMULATOR_PROJECT, endpoint=request.getfixturevalue("drongo"))
        yield store
        store.close()


def test_missing_secret_has_no_payload_and_no_versions(secrets: SecretStore) -> None:
    assert secrets.access_latest(NAME) is None
    assert secrets.list_enabled_versions(NAME) == []


def test_versions_are_numbered_from_one_and_latest_is_newest(secrets: SecretStore) -> None:
    assert secrets.add_version(NAME, b"first") == "1"
    assert secrets.add_version(NAME, b"second") == "2"
    assert secrets.add_version(NAME, b"third") == "3"
    assert secrets.access_latest(NAME) == b"third"
    assert secrets.list_enabled_versions(NAME) == ["3", "2", "1"]


def test_binary_payload_round_trips(secrets: SecretStore) -> None:
    payload = bytes(range(256)) + '{"refresh_token": "zażółć"}'.encode()
    secrets.add_version(NAME, payload)
    assert secrets.access_latest(NAME) == payload


def test_secrets_are_independent(secrets: SecretStore) -> None:
    secrets.add_version("one", b"1")
    secrets.add_version("two", b"2")
    secrets.add_version("two", b"22")
    assert secrets.access_latest("one") == b"1"
    assert secrets.list_enabled_versions("one") == ["1"]
    assert secrets.list_enabled_versions("two") == ["2", "1"]


def test_destroying_an_old_version_keeps_the_latest(secrets: SecretStore) -> None:
    for payload in (b"a", b"b", b"c"):
        secrets.add_version(NAME, payload)
    secrets.destroy_version(NAME, "1")
    secrets.destroy_version(NAME, "2")
    assert secrets.list_enabled_versions(NAME) == ["3"]
    assert secrets.access_latest(NAME) == b"c"


def test_destroying_the_newest_version_falls_back_to_the_newest_enabled(secrets: SecretStore) -> None:
    # The port promises the newest *enabled* version. drongo's `latest` skips destroyed versions;
    # real Secret Manager's `latest` fails on them (FAILED_PRECONDITION) and the adapter falls back.
    secrets.add_version(NAME, b"old")
    secrets.add_version(NAME, b"new")
    secrets.destroy_version(NAME, "2")
    assert secrets.access_latest(NAME) == b"old"
    assert secrets.list_enabled_versions(NAME) == ["1"]


def test_all_versions_destroyed_means_no_payload(secrets: SecretStore) -> None:
    secrets.add_version(NAME, b"a")
    secrets.add_version(NAME, b"b")
    secrets.destroy_version(NAME, "2")
    secrets.destroy_version(NAME, "1")
    assert secrets.access_latest(NAME) is None
    assert secrets.list_enabled_versions(NAME) == []


def test_destroyed_versions_keep_their_numbers(secrets: SecretStore) -> None:
    secrets.add_version(NAME, b"a")
    secrets.add_version(NAME, b"b")
    secrets.destroy_version(NAME, "1")
    secrets.destroy_version(NAME, "2")
    assert secrets.add_version(NAME, b"c") == "3"
    assert secrets.list_enabled_versions(NAME) == ["3"]
    assert secrets.access_latest(NAME) == b"c"


def test_destroying_twice_or_a_missing_version_is_harmless(secrets: SecretStore) -> None:
    secrets.add_version(NAME, b"a")
    secrets.add_version(NAME, b"b")
    secrets.destroy_version(NAME, "1")
    secrets.destroy_version(NAME, "1")
    secrets.destroy_version(NAME, "9")
    secrets.destroy_version("never-created", "1")
    assert secrets.list_enabled_versions(NAME) == ["2"]
    assert secrets.access_latest("never-created") is None


@pytest.mark.parametrize("bad_name", ["", "a/b", "../escape", "dot.ted", "x" * 256, "spa ce"])
def test_invalid_secret_names_are_refused(secrets: SecretStore, bad_name: str) -> None:
    with pytest.raises(ValueError):
        secrets.add_version(bad_name, b"x")
    with pytest.raises(ValueError):
        secrets.access_latest(bad_name)


@pytest.mark.parametrize("bad_version", ["", "0", "latest", "-1", "1/2"])
def test_invalid_version_ids_are_refused(secrets: SecretStore, bad_version: str) -> None:
    secrets.add_version(NAME, b"a")
    with pytest.raises(ValueError):
        secrets.destroy_version(NAME, bad_version)
    assert secrets.list_enabled_versions(NAME) == ["1"]


def test_concurrent_adds_get_distinct_versions(secrets: SecretStore) -> None:
    # The secret does not exist yet: every thread's first add races to create it.
    ids: list[str] = []
    lock = threading.Lock()

    def add(worker: int) -> None:
        for i in range(10):
            version = secrets.add_version(NAME, f"{worker}-{i}".encode())
            with lock:
                ids.append(version)

    workers = [threading.Thread(target=add, args=(w,)) for w in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(ids, key=int) == [str(n) for n in range(1, 61)]
    assert secrets.list_enabled_versions(NAME) == [str(n) for n in range(60, 0, -1)]


# --- the file store's own promises ---------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_store_is_private_even_with_a_permissive_umask(tmp_path: Path) -> None:
    directory = tmp_path / "secrets"
    directory.mkdir(mode=0o777)
    os.chmod(directory, 0o777)  # noqa: S103 - the store must tighten it
    previous = os.umask(0)
    try:
        store = FileSecretStore(directory)
        store.add_version(NAME, b"token")
        store.add_version(NAME, b"token2")
        store.destroy_version(NAME, "1")
    finally:
        os.umask(previous)
    assert _mode(directory) == 0o700
    files = sorted(p.name for p in directory.iterdir())
    assert files == [".lock", f"{NAME}.json"]  # no temp files left behind
    for path in directory.iterdir():
        assert _mode(path) == 0o600, path.name


def test_file_store_destroy_removes_the_payload_from_disk(tmp_path: Path) -> None:
    store = FileSecretStore(tmp_path)
    store.add_version(NAME, b"refresh-token-AAAA")
    store.add_version(NAME, b"refresh-token-BBBB")
    store.destroy_version(NAME, "1")
    text = (tmp_path / f"{NAME}.json").read_text()
    assert "refresh-token-AAAA" not in text
    assert "cmVmcmVzaC10b2tlbi1BQUFB" not in text  # nor its base64
    assert FileSecretStore(tmp_path).access_latest(NAME) == b"refresh-token-BBBB"


def _add_in_process(directory: str, worker: int, times: int) -> None:
    store = FileSecretStore(Path(directory))
    for i in range(times):
        store.add_version(NAME, f"{worker}-{i}".encode())


def test_file_store_adds_are_safe_across_processes(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_add_in_process, args=(str(tmp_path), w, 20)) for w in range(3)]
    for process in processes:
        process.start()
    _add_in_process(str(tmp_path), 9, 20)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    store = FileSecretStore(tmp_path)
    assert store.list_enabled_versions(NAME) == [str(n) for n in range(80, 0, -1)]


def test_fake_injects_failures_and_counts_calls() -> None:
    fake = InMemorySecretStore()
    fake.fail_next("access_latest", StoreUnavailable("down"))
    with pytest.raises(StoreUnavailable):
        fake.access_latest(NAME)
    fake.add_version(NAME, b"a")
    fake.add_version(NAME, b"b")
    assert fake.access_latest(NAME) == b"b"
    fake.destroy_version(NAME, "1")
    fake.destroy_version(NAME, "1")
    assert (fake.accesses, fake.adds, fake.destroys) == (1, 2, 1)
    assert fake.calls["access_latest"] == 2
    assert fake.calls["destroy_version"] == 2
    assert fake.enabled_payloads(NAME) == [b"b"]
    with pytest.raises(ValueError):
        fake.fail_next("no_such_method", RuntimeError())
