"""SecretStore on Secret Manager (official client), created lazily: importing it costs ~0.4 s of CPU.

With `endpoint` set (SECRET_MANAGER_ENDPOINT, e.g. drongo) the client uses the REST transport with
anonymous credentials against that address. Over REST, errors map from HTTP codes only: a
FAILED_PRECONDITION arrives as BadRequest and ALREADY_EXISTS as Conflict, so the base classes are
caught. Failures become StoreUnavailable naming the operation and secret, never a payload.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from shared.adapters.gcp.clients import LazyClient, endpoint_options
from shared.adapters.local.file_secret_store import check_secret_name, check_version_id
from shared.errors import StoreUnavailable


class SecretManagerStore:
    """Versioned secrets in Secret Manager; `access_latest` means the newest *enabled* version."""

    call_timeout_s = 20.0

    def __init__(self, project: str, endpoint: str | None = None, client: Any = None) -> None:
        self.project = project
        self.endpoint = endpoint
        self._client: LazyClient[Any] = LazyClient(self._create_client, client)

    @property
    def client(self) -> Any:
        """The SecretManagerServiceClient, created on first use."""
        return self._client.get()

    def _create_client(self) -> Any:
        from google.cloud import secretmanager

        return secretmanager.SecretManagerServiceClient(**endpoint_options(self.endpoint))

    def close(self) -> None:
        """Close the client's transport, if a client was created."""
        if self._client.created is not None:
            self._client.created.transport.close()

    def add_version(self, name: str, payload: bytes) -> str:
        """Store payload as the newest version (creating the secret if needed); returns the version id."""
        from google.api_core import exceptions as gex

        check_secret_name(name)
        with translated_errors("add_version", name):
            try:
                version = self._add(name, payload)
            except gex.NotFound:
                # Conflict: created by someone else in the meantime (AlreadyExists is a Conflict).
                with suppress(gex.Conflict):
                    self.client.create_secret(
                        parent=f"projects/{self.project}",
                        secret_id=name,
                        secret={"replication": {"automatic": {}}},
                        timeout=self.call_timeout_s,
                    )
                version = self._add(name, payload)
        return str(version.name.rsplit("/", 1)[-1])

    def _add(self, name: str, payload: bytes) -> Any:
        return self.client.add_secret_version(
            parent=self._secret(name), payload={"data": bytes(payload)}, timeout=self.call_timeout_s
        )

    def access_latest(self, name: str) -> bytes | None:
        """The newest enabled version's payload, or None when the secret or any version is missing."""
        from google.api_core import exceptions as gex

        check_secret_name(name)
        with translated_errors("access_latest", name):
            try:
                return self._access(name, "latest")
            except gex.NotFound:
                return None
            except gex.BadRequest:
                # Real Secret Manager's `latest` is the newest version whatever its state, so a destroyed
                # or disabled newest version fails with FAILED_PRECONDITION (drongo instead skips to the
                # newest enabled one). Fall back to that explicitly so both agree with the port.
                pass
            for version_id in self._enabled_versions(name):
                try:
                    return self._access(name, version_id)
                except (gex.NotFound, gex.BadRequest):
                    continue  # destroyed since we listed it
            return None

    def _access(self, name: str, version_id: str) -> bytes:
        response = self.client.access_secret_version(
            name=f"{self._secret(name)}/versions/{version_id}", timeout=self.call_timeout_s
        )
        return bytes(response.payload.data)

    def list_enabled_versions(self, name: str) -> list[str]:
        """Ids of the enabled versions, newest first ([] when the secret does not exist)."""
        check_secret_name(name)
        with translated_errors("list_enabled_versions", name):
            return self._enabled_versions(name)

    def _enabled_versions(self, name: str) -> list[str]:
        from google.api_core import exceptions as gex
        from google.cloud import secretmanager

        enabled = secretmanager.SecretVersion.State.ENABLED
        try:
            # The server filter saves bandwidth where supported (drongo ignores it); the state check decides.
            versions = self.client.list_secret_versions(
                request={"parent": self._secret(name), "filter": "state:ENABLED"}, timeout=self.call_timeout_s
            )
            ids = [str(v.name.rsplit("/", 1)[-1]) for v in versions if v.state == enabled]
        except gex.NotFound:
            return []
        return sorted(ids, key=int, reverse=True)

    def destroy_version(self, name: str, version_id: str) -> None:
        """Destroy a version for good; a missing or already destroyed version is left as it is."""
        from google.api_core import exceptions as gex

        check_secret_name(name)
        check_version_id(version_id)
        with translated_errors("destroy_version", name):
            try:
                self.client.destroy_secret_version(
                    name=f"{self._secret(name)}/versions/{version_id}", timeout=self.call_timeout_s
                )
            except (gex.NotFound, gex.BadRequest):
                # NotFound: no such version. BadRequest/FAILED_PRECONDITION: already destroyed.
                return

    def _secret(self, name: str) -> str:
        return f"projects/{self.project}/secrets/{name}"


@contextmanager
def translated_errors(operation: str, name: str) -> Iterator[None]:
    """Turn google and transport errors into StoreUnavailable naming the operation and secret."""
    from google.api_core import exceptions as gex
    from google.auth import exceptions as auth_exceptions

    try:
        yield
    # OSError covers requests' connection errors on the REST transport.
    except (gex.GoogleAPIError, auth_exceptions.GoogleAuthError, OSError) as exc:
        raise StoreUnavailable(f"Secret Manager {operation} of secret '{name}' failed ({type(exc).__name__})") from exc
