"""The private key the worker signs car commands with: a PEM file locally, a secret on GCP.

Locally `TESLA_COMMAND_KEY_FILE` names the PEM (`make run` and `make demo` generate one into
STATE_DIR when it is unset: `STATE_DIR/tesla-command-key.pem`). On GCP the key lives in the
Secret Manager secret `TESLA_COMMAND_KEY_SECRET` (default `tesla-command-key`), which only the
worker's service account may read. The key never reaches a log line or an error message.
"""

from __future__ import annotations

import os
from pathlib import Path

from shared.errors import ConfigError
from shared.log import get_logger
from shared.ports import SecretStore
from shared.settings import Settings

log = get_logger("TESLA")

LOCAL_KEY_NAME = "tesla-command-key.pem"


def local_key_path(settings: Settings) -> Path:
    """Where the local key is: TESLA_COMMAND_KEY_FILE, else STATE_DIR/tesla-command-key.pem."""
    return settings.tesla_command_key_file or settings.state_dir / LOCAL_KEY_NAME


def load_command_key(settings: Settings, secrets: SecretStore) -> bytes | None:
    """The PEM of the command key, or None when none is configured (then no car can be signed for)."""
    if settings.backend == "gcp" and settings.tesla_command_key_file is None:
        pem = secrets.access_latest(settings.tesla_command_key_secret)
        if pem is None:
            log.warning(
                f"no command key in the secret {settings.tesla_command_key_secret}: cars that need signed "
                "commands cannot be charged (see deploy/README.md, 'Command key')"
            )
        return pem
    path = local_key_path(settings)
    if not path.exists():
        if settings.tesla_command_key_file is not None:
            raise ConfigError("TESLA_COMMAND_KEY_FILE names a file that does not exist")
        return None
    return path.read_bytes()


def generate_local_key(path: Path) -> bool:
    """Write a new P-256 private key (PEM, 0600) unless one exists; True when a key was made."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another local process made it first
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return True


def public_key_pem(private_pem: bytes) -> bytes:
    """The public half, as the app hosts it at /.well-known/appspecific/com.tesla.3p.public-key.pem."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_pem, password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
