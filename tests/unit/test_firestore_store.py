"""The Firestore adapter's own rules: lazy client, bounded contention retries, errors translated once."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from google.api_core import exceptions as gex

from shared.adapters.gcp.firestore_store import FirestoreDocumentStore, retry_contention, translated_errors
from shared.errors import StoreUnavailable
from tests.conftest import ROOT


def test_creating_the_store_does_not_import_the_client() -> None:
    # Cold start matters: the ~0.5 s import must wait for the first call.
    code = (
        "import sys\n"
        "from shared.adapters.gcp.firestore_store import FirestoreDocumentStore\n"
        "FirestoreDocumentStore('p')\n"
        "assert 'google.cloud.firestore' not in sys.modules, 'imported eagerly'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_contention_is_retried_until_an_attempt_wins() -> None:
    outcomes: list[Exception | str] = [gex.Aborted("lock timeout"), _exhausted(), "committed"]
    sleeps: list[float] = []

    def attempt() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert retry_contention("update", attempt, attempts=5, sleep=sleeps.append) == "committed"
    assert len(sleeps) == 2
    assert all(0 <= s <= 1.0 for s in sleeps)


def test_contention_gives_up_with_store_unavailable_after_the_bound() -> None:
    calls = 0

    def attempt() -> None:
        nonlocal calls
        calls += 1
        raise gex.Aborted("Transaction lock timeout.")

    with pytest.raises(StoreUnavailable, match="update gave up after 3 attempts"):
        retry_contention("update", attempt, attempts=3, sleep=lambda _: None)
    assert calls == 3


def test_errors_from_fn_are_not_retried_or_translated() -> None:
    calls = 0

    def attempt() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("the caller's own problem")

    with pytest.raises(ValueError, match="caller's own"):
        retry_contention("update", attempt, attempts=5, sleep=lambda _: None)
    assert calls == 1


@pytest.mark.parametrize(
    "error",
    [
        gex.ServiceUnavailable("secret-ish detail"),
        gex.DeadlineExceeded("secret-ish detail"),
        gex.RetryError("secret-ish detail", cause=None),
        gex.PermissionDenied("secret-ish detail"),
    ],
)
def test_google_errors_become_store_unavailable_naming_the_operation(error: Exception) -> None:
    with pytest.raises(StoreUnavailable) as caught, translated_errors("get"):
        raise error
    assert caught.value.message.startswith("Firestore get failed")
    assert "secret-ish" not in caught.value.message
    assert caught.value.status == 503


def test_a_rejected_argument_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Firestore set rejected an argument"), translated_errors("set"):
        raise gex.InvalidArgument("Cannot convert an array value in an array value.")


def test_unreachable_firestore_fails_fast_with_store_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1")
    store = FirestoreDocumentStore("unreachable")
    store.call_timeout_s = 1.0
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="Firestore get failed"):
        store.get("sessions", "s1")
    with pytest.raises(StoreUnavailable, match="Firestore list failed"):
        store.list("sessions", {"state": "open"})
    assert time.monotonic() - started < 10
    store.close()


def _exhausted() -> ValueError:
    # What the client raises when its own attempts run out: ValueError from the last Aborted.
    try:
        try:
            raise gex.Aborted("Transaction lock timeout.")
        except gex.Aborted as aborted:
            raise ValueError("Failed to commit transaction in 1 attempts.") from aborted
    except ValueError as exc:
        return exc
