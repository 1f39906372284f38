"""The Secret Manager adapter against real-service semantics drongo does not reproduce, and its errors."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from google.api_core import exceptions as gex
from google.cloud import secretmanager

from shared.adapters.gcp.secret_manager_store import SecretManagerStore
from shared.errors import StoreUnavailable
from tests.conftest import ROOT

ENABLED = secretmanager.SecretVersion.State.ENABLED
DESTROYED = secretmanager.SecretVersion.State.DESTROYED


class RealSemanticsClient:
    """Secret Manager as documented over gRPC: `latest` is the newest version whatever its state."""

    def __init__(self) -> None:
        self.secrets: dict[str, list[SimpleNamespace]] = {}
        self.calls: list[str] = []

    def create_secret(self, parent: str, secret_id: str, secret: dict[str, Any], **_: Any) -> None:
        self.calls.append("create_secret")
        name = f"{parent}/secrets/{secret_id}"
        if name in self.secrets:
            raise gex.AlreadyExists(f"Secret [{name}] already exists.")
        assert secret == {"replication": {"automatic": {}}}
        self.secrets[name] = []

    def add_secret_version(self, parent: str, payload: dict[str, bytes], **_: Any) -> SimpleNamespace:
        self.calls.append("add_secret_version")
        if parent not in self.secrets:
            raise gex.NotFound(f"Secret [{parent}] not found.")
        versions = self.secrets[parent]
        version = SimpleNamespace(name=f"{parent}/versions/{len(versions) + 1}", state=ENABLED, data=payload["data"])
        versions.append(version)
        return version

    def _version(self, name: str) -> SimpleNamespace:
        secret, _, version_id = name.rpartition("/versions/")
        if secret not in self.secrets or not self.secrets[secret]:
            raise gex.NotFound(f"{name} not found")
        versions = self.secrets[secret]
        index = len(versions) if version_id == "latest" else int(version_id)
        if index > len(versions):
            raise gex.NotFound(f"{name} not found")
        return versions[index - 1]

    def access_secret_version(self, name: str, **_: Any) -> SimpleNamespace:
        self.calls.append(f"access {name.rsplit('/', 1)[-1]}")
        version = self._version(name)
        if version.state != ENABLED:
            raise gex.FailedPrecondition(f"{name} is in DESTROYED state")
        return SimpleNamespace(name=version.name, payload=SimpleNamespace(data=version.data))

    def list_secret_versions(self, request: dict[str, str], **_: Any) -> list[SimpleNamespace]:
        self.calls.append("list_secret_versions")
        if request["parent"] not in self.secrets:
            raise gex.NotFound("not found")
        # Listed newest first here, filter ignored (as drongo does): the adapter must sort and check state.
        return list(reversed(self.secrets[request["parent"]]))

    def destroy_secret_version(self, name: str, **_: Any) -> None:
        self.calls.append("destroy_secret_version")
        version = self._version(name)
        if version.state == DESTROYED:
            raise gex.FailedPrecondition(f"{name} is already DESTROYED")
        version.state = DESTROYED
        version.data = b""


@pytest.fixture
def client() -> RealSemanticsClient:
    return RealSemanticsClient()


@pytest.fixture
def store(client: RealSemanticsClient) -> SecretManagerStore:
    return SecretManagerStore("p", client=client)


def test_destroyed_newest_version_falls_back_to_newest_enabled(
    store: SecretManagerStore, client: RealSemanticsClient
) -> None:
    for payload in (b"one", b"two", b"three"):
        store.add_version("tokens", payload)
    store.destroy_version("tokens", "3")
    client.calls.clear()
    assert store.access_latest("tokens") == b"two"
    assert client.calls == ["access latest", "list_secret_versions", "access 2"]


def test_everything_destroyed_gives_none(store: SecretManagerStore) -> None:
    store.add_version("tokens", b"one")
    store.destroy_version("tokens", "1")
    store.destroy_version("tokens", "1")  # FAILED_PRECONDITION on the real service: ignored
    assert store.access_latest("tokens") is None
    assert store.list_enabled_versions("tokens") == []


def test_add_creates_the_secret_with_automatic_replication_once(
    store: SecretManagerStore, client: RealSemanticsClient
) -> None:
    assert store.add_version("tokens", b"one") == "1"
    assert store.add_version("tokens", b"two") == "2"
    assert client.calls == ["add_secret_version", "create_secret", "add_secret_version", "add_secret_version"]


def test_list_sorts_versions_numerically(store: SecretManagerStore) -> None:
    for n in range(11):
        store.add_version("tokens", str(n).encode())
    store.destroy_version("tokens", "5")
    assert store.list_enabled_versions("tokens") == [str(n) for n in (11, 10, 9, 8, 7, 6, 4, 3, 2, 1)]


class FailingClient:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> None:
            raise self.error

        return fail


@pytest.mark.parametrize(
    "error",
    [gex.ServiceUnavailable("down"), gex.PermissionDenied("no"), gex.InternalServerError("boom"), ConnectionError()],
)
def test_failures_become_store_unavailable_without_the_payload(error: Exception) -> None:
    store = SecretManagerStore("p", client=FailingClient(error))
    with pytest.raises(StoreUnavailable) as caught:
        store.add_version("tokens", b"refresh-token-SECRET")
    assert "add_version" in caught.value.message
    assert "tokens" in caught.value.message
    assert "SECRET" not in caught.value.message
    for call in (lambda: store.access_latest("tokens"), lambda: store.list_enabled_versions("tokens")):
        with pytest.raises(StoreUnavailable):
            call()


def test_unreachable_endpoint_is_store_unavailable() -> None:
    store = SecretManagerStore("p", endpoint="http://127.0.0.1:1")
    with pytest.raises(StoreUnavailable, match="access_latest of secret 'tokens' failed"):
        store.access_latest("tokens")
    with pytest.raises(StoreUnavailable, match="add_version"):
        store.add_version("tokens", b"refresh-token-SECRET")
    store.close()


def test_creating_the_store_does_not_import_the_client() -> None:
    code = (
        "import sys\n"
        "from shared.adapters.gcp.secret_manager_store import SecretManagerStore\n"
        "SecretManagerStore('p', endpoint='http://127.0.0.1:9393')\n"
        "assert 'google.cloud.secretmanager' not in sys.modules, 'imported eagerly'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
