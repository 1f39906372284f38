"""SecretStore in a private directory: one JSON file of versions per secret, Secret Manager semantics.

Files are replaced atomically (temp file + os.replace) with mode 0600 in a 0700 directory; writers
take an fcntl lock on `.lock`, so threads and processes can add and destroy versions at once.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shared.errors import StoreUnavailable

# Secret Manager's rule for secret ids; it also keeps names safe as file names.
SECRET_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
VERSION_ID = re.compile(r"^[1-9][0-9]{0,17}$")


def check_secret_name(name: str) -> None:
    """Raise ValueError unless name is a valid Secret Manager secret id."""
    if not isinstance(name, str) or not SECRET_NAME.match(name):
        raise ValueError("invalid secret name (letters, digits, '-' and '_', at most 255)")


def check_version_id(version_id: str) -> None:
    """Raise ValueError unless version_id is a version number such as "3"."""
    if not isinstance(version_id, str) or not VERSION_ID.match(version_id):
        raise ValueError("invalid secret version id")


class FileSecretStore:
    """Versioned secrets as files in `directory` (mode 0700), each file mode 0600."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # mkdir's mode is masked by the umask and ignored for an existing directory.
        os.chmod(self.directory, 0o700)

    def add_version(self, name: str, payload: bytes) -> str:
        """Store payload as the newest version (creating the secret if needed); returns the version id."""
        check_secret_name(name)
        with self._locked("add_version"):
            versions = self._read(name)
            version_id = str(len(versions) + 1)
            versions.append(
                {"id": version_id, "state": "ENABLED", "payload": base64.b64encode(bytes(payload)).decode("ascii")}
            )
            self._write(name, versions)
        return version_id

    def access_latest(self, name: str) -> bytes | None:
        """The newest enabled version's payload, or None when the secret or any version is missing."""
        check_secret_name(name)
        for version in reversed(self._read(name)):
            if version["state"] == "ENABLED":
                return base64.b64decode(version["payload"])
        return None

    def list_enabled_versions(self, name: str) -> list[str]:
        """Ids of the enabled versions, newest first ([] when the secret does not exist)."""
        check_secret_name(name)
        return [v["id"] for v in reversed(self._read(name)) if v["state"] == "ENABLED"]

    def destroy_version(self, name: str, version_id: str) -> None:
        """Destroy a version for good: it keeps its number, loses its payload; a missing one is ignored."""
        check_secret_name(name)
        check_version_id(version_id)
        with self._locked("destroy_version"):
            versions = self._read(name)
            index = int(version_id) - 1
            if index >= len(versions) or versions[index]["state"] == "DESTROYED":
                return
            versions[index] = {"id": version_id, "state": "DESTROYED", "payload": None}
            self._write(name, versions)

    def _path(self, name: str) -> Path:
        return self.directory / f"{name}.json"

    def _read(self, name: str) -> list[dict[str, Any]]:
        try:
            text = self._path(name).read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreUnavailable(f"local secret store: cannot read secret '{name}' ({exc.strerror})") from None
        versions: list[dict[str, Any]] = json.loads(text)["versions"]
        return versions

    def _write(self, name: str, versions: list[dict[str, Any]]) -> None:
        # mkstemp creates the file 0600; replacing is atomic, so readers never see half a file.
        try:
            fd, temp = tempfile.mkstemp(dir=self.directory, prefix=f".{name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump({"versions": versions}, handle)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp, self._path(name))
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StoreUnavailable(f"local secret store: cannot write secret '{name}' ({exc.strerror})") from None

    @contextmanager
    def _locked(self, operation: str) -> Iterator[None]:
        try:
            fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreUnavailable(f"local secret store: {operation} cannot take the lock ({exc.strerror})") from None
        try:
            # flock locks belong to the open file description: separate opens exclude threads too.
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
