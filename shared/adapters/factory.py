"""Builds the adapters the settings ask for; clients are imported only for the backend in use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.clock import Clock
from shared.ports import DocumentStore, JobScheduler, SecretStore
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.adapters.local.embedded_scheduler import EmbeddedScheduler


def _project(settings: Settings) -> str:
    return settings.google_cloud_project or "tesla-offpeak-local"


def build_document_store(settings: Settings) -> DocumentStore:
    """Firestore on GCP, SQLite under STATE_DIR locally."""
    if settings.backend == "gcp":
        from shared.adapters.gcp.firestore_store import FirestoreDocumentStore

        return FirestoreDocumentStore(_project(settings))
    from shared.adapters.local.sqlite_store import SqliteDocumentStore

    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return SqliteDocumentStore(settings.state_dir / "documents.sqlite3")


def build_secret_store(settings: Settings) -> SecretStore:
    """Secret Manager on GCP, 0600 files under STATE_DIR/secrets locally."""
    if settings.backend == "gcp":
        from shared.adapters.gcp.secret_manager_store import SecretManagerStore

        return SecretManagerStore(_project(settings), endpoint=settings.secret_manager_endpoint)
    from shared.adapters.local.file_secret_store import FileSecretStore

    return FileSecretStore(settings.state_dir / "secrets")


def build_job_scheduler(settings: Settings, clock: Clock, **embedded_options: Any) -> JobScheduler:
    """Cloud Scheduler on GCP, the embedded scheduler (SQLite, fires over HTTP) locally."""
    if settings.backend == "gcp":
        from shared.adapters.gcp.cloud_scheduler import CloudSchedulerJobs

        return CloudSchedulerJobs(
            _project(settings), settings.google_cloud_location, endpoint=settings.cloud_scheduler_endpoint
        )
    return build_embedded_scheduler(settings, clock, **embedded_options)


def build_embedded_scheduler(settings: Settings, clock: Clock, **options: Any) -> EmbeddedScheduler:
    """The local scheduler, sending the worker's shared secret like Cloud Scheduler sends OIDC."""
    from shared.adapters.local.embedded_scheduler import EmbeddedScheduler

    settings.state_dir.mkdir(parents=True, exist_ok=True)
    token = settings.worker_api_token if settings.worker_auth_mode == "shared-secret" else None
    return EmbeddedScheduler(settings.state_dir / "scheduler.sqlite3", clock, auth_token=token, **options)
