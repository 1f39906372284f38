"""JobScheduler on Cloud Scheduler (google-cloud-scheduler, scheduler_v1).

The client library is imported and the client built on first use: importing it costs ~0.4 s of
CPU, which a cold start at 0.167 vCPU pays several times over (FACTS, cold start). With an
endpoint (CLOUD_SCHEDULER_ENDPOINT, e.g. drongo) the client talks REST with anonymous credentials.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from shared.adapters.gcp.clients import LazyClient, endpoint_options
from shared.domain.cron import MAX_BACKOFF_SECONDS, MAX_DOUBLINGS, MIN_BACKOFF_SECONDS
from shared.errors import AppError, StoreUnavailable, ValidationError
from shared.log import get_logger
from shared.ports import HttpJob

if TYPE_CHECKING:
    from google.cloud import scheduler_v1

log = get_logger("SCHEDULER")
T = TypeVar("T")

_DEFAULT_ATTEMPT_DEADLINE_S = 180  # Cloud Scheduler's default when a job has none
_ATTEMPT_TIMEOUT_S = 10.0  # one API call; the library's own default is 600 s
_CREATE_TIMEOUT_S = 30.0  # create is not retried (see create), so it gets one longer attempt
_RETRY_TIMEOUT_S = 30.0  # retries of idempotent calls (get, list, delete) on 503 / deadline


def build_job(project: str, location: str, job: HttpJob) -> scheduler_v1.Job:
    """The Cloud Scheduler Job for an HttpJob: JSON POST, OIDC when a service account is set, retry policy."""
    from google.cloud import scheduler_v1

    job.validate()
    method = scheduler_v1.HttpMethod.__members__.get(job.http_method.upper())
    if method is None or method == scheduler_v1.HttpMethod.HTTP_METHOD_UNSPECIFIED:
        raise ValidationError(f"unsupported HTTP method {job.http_method!r}")
    target = scheduler_v1.HttpTarget(
        uri=job.uri,
        http_method=method,
        headers={"Content-Type": "application/json"},
    )
    if method in (scheduler_v1.HttpMethod.POST, scheduler_v1.HttpMethod.PUT, scheduler_v1.HttpMethod.PATCH):
        target.body = json.dumps(dict(job.body)).encode()
    if job.oidc_service_account:
        # Without an audience Cloud Scheduler uses the full URI (path included), which the worker's
        # audience check (WORKER_SERVICE_URL) refuses; default to the URI's origin instead.
        target.oidc_token = scheduler_v1.OidcToken(
            service_account_email=job.oidc_service_account,
            audience=job.oidc_audience or _origin(job.uri),
        )
    return scheduler_v1.Job(
        name=job_path(project, location, job.name),
        description=job.description,
        schedule=job.schedule,
        time_zone=job.time_zone,
        http_target=target,
        retry_config=scheduler_v1.RetryConfig(
            retry_count=job.retry_count,
            min_backoff_duration=timedelta(seconds=MIN_BACKOFF_SECONDS),
            max_backoff_duration=timedelta(seconds=MAX_BACKOFF_SECONDS),
            max_doublings=MAX_DOUBLINGS,
        ),
        attempt_deadline=timedelta(seconds=job.attempt_deadline_seconds),
    )


def parse_job(job: scheduler_v1.Job) -> HttpJob:
    """The HttpJob a Cloud Scheduler Job stands for (short name, JSON body)."""
    from google.cloud import scheduler_v1

    target = job.http_target
    oidc = target.oidc_token if "oidc_token" in target else None
    deadline = job.attempt_deadline
    return HttpJob(
        name=job.name.rsplit("/jobs/", 1)[-1],
        schedule=job.schedule,
        time_zone=job.time_zone,
        uri=target.uri,
        body=json.loads(target.body) if target.body else {},
        http_method=scheduler_v1.HttpMethod(target.http_method).name,
        description=job.description,
        oidc_service_account=(oidc.service_account_email or None) if oidc else None,
        oidc_audience=(oidc.audience or None) if oidc else None,
        retry_count=job.retry_config.retry_count,
        attempt_deadline_seconds=int(deadline.total_seconds()) if deadline else _DEFAULT_ATTEMPT_DEADLINE_S,
    )


def job_path(project: str, location: str, name: str) -> str:
    """The full resource name of a job."""
    return f"projects/{project}/locations/{location}/jobs/{name}"


class CloudSchedulerJobs:
    """JobScheduler backed by Cloud Scheduler; invalid jobs raise ValidationError, outages StoreUnavailable."""

    def __init__(self, project: str, location: str, *, endpoint: str | None = None, client: Any = None) -> None:
        self._project = project
        self._location = location
        self._endpoint = endpoint
        self._client: LazyClient[Any] = LazyClient(self._create_client, client)

    @property
    def _parent(self) -> str:
        return f"projects/{self._project}/locations/{self._location}"

    def create(self, job: HttpJob) -> bool:
        """Create the job; False (and nothing changed) when a job of that name already exists."""
        from google.api_core import exceptions

        built = build_job(self._project, self._location, job)
        try:
            # No retry: a retried create that had in fact succeeded would come back as "exists".
            self._call(
                "create", job.name, lambda c: c.create_job(parent=self._parent, job=built, timeout=_CREATE_TIMEOUT_S)
            )
        except _ApiError as exc:
            # drongo answers a plain 409 Conflict, the real service AlreadyExists (a Conflict);
            # Aborted is a Conflict too but means "try again", not "exists".
            if isinstance(exc.cause, exceptions.Conflict) and not isinstance(exc.cause, exceptions.Aborted):
                return False
            raise exc.translated() from exc.cause
        log.info(f"job created: {job.name}", fields={"job": job.name, "schedule": job.schedule})
        return True

    def get(self, name: str) -> HttpJob | None:
        """The job, or None."""
        from google.api_core import exceptions

        path = job_path(self._project, self._location, name)
        try:
            found = self._call("get", name, lambda c: c.get_job(name=path, retry=_retry(), timeout=_ATTEMPT_TIMEOUT_S))
        except _ApiError as exc:
            if isinstance(exc.cause, exceptions.NotFound):
                return None
            raise exc.translated() from exc.cause
        return parse_job(found)

    def list(self, prefix: str = "") -> builtins.list[HttpJob]:
        """Jobs whose name starts with prefix, ordered by name."""

        def fetch(client: Any) -> builtins.list[Any]:
            # ListJobs has no filter: page through everything and filter here (a handful of jobs).
            return builtins.list(client.list_jobs(parent=self._parent, retry=_retry(), timeout=_ATTEMPT_TIMEOUT_S))

        try:
            found = self._call("list", prefix or "*", fetch)
        except _ApiError as exc:
            raise exc.translated() from exc.cause
        jobs = [parse_job(job) for job in found]
        return sorted((job for job in jobs if job.name.startswith(prefix)), key=lambda job: job.name)

    def delete(self, name: str) -> bool:
        """Delete the job; True when it existed."""
        from google.api_core import exceptions

        path = job_path(self._project, self._location, name)
        try:
            self._call("delete", name, lambda c: c.delete_job(name=path, retry=_retry(), timeout=_ATTEMPT_TIMEOUT_S))
        except _ApiError as exc:
            if isinstance(exc.cause, exceptions.NotFound):
                return False
            raise exc.translated() from exc.cause
        log.info(f"job deleted: {name}", fields={"job": name})
        return True

    def _call(self, operation: str, name: str, fn: Callable[[Any], T]) -> T:
        """Run one API call; every failure comes out as _ApiError carrying the library's exception."""
        from google.api_core import exceptions
        from google.auth import exceptions as auth_exceptions
        from requests import RequestException

        try:
            return fn(self._client.get())
        except (exceptions.GoogleAPIError, auth_exceptions.GoogleAuthError, RequestException) as exc:
            raise _ApiError(operation, name, exc) from exc

    def _create_client(self) -> Any:
        from google.cloud import scheduler_v1

        return scheduler_v1.CloudSchedulerClient(**endpoint_options(self._endpoint))


class _ApiError(Exception):
    """A failed call, kept until the caller decides whether it is an answer (exists, missing) or an outage."""

    def __init__(self, operation: str, name: str, cause: Exception) -> None:
        super().__init__(operation)
        self.operation = operation
        self.name = name
        self.cause = cause

    def translated(self) -> AppError:
        """ValidationError for a request the service refused as invalid, StoreUnavailable for the rest."""
        from google.api_core import exceptions

        # The class and status code only: library messages can echo request URLs and bodies.
        code = getattr(self.cause, "code", None)
        detail = f"{type(self.cause).__name__}" + (f" ({int(code)})" if isinstance(code, int) else "")
        log.warning(f"Cloud Scheduler {self.operation} failed: {detail}", fields={"job": self.name})
        message = f"Cloud Scheduler {self.operation} of job {self.name} failed: {detail}"
        if isinstance(self.cause, exceptions.InvalidArgument):
            return ValidationError(message)
        return StoreUnavailable(message)


def _retry() -> Any:
    from google.api_core import exceptions, retry

    return retry.Retry(
        initial=0.2,
        maximum=5.0,
        multiplier=2.0,
        timeout=_RETRY_TIMEOUT_S,
        predicate=retry.if_exception_type(exceptions.ServiceUnavailable, exceptions.DeadlineExceeded),
    )


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"
