"""One exception hierarchy; the worker's error handler turns each into the contract's JSON error."""

from __future__ import annotations


class AppError(Exception):
    """Base of every error the services raise on purpose."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class ConfigError(AppError):
    """A missing or malformed setting; the message names the variable, never its value."""

    code = "config_error"


class ValidationError(AppError):
    status = 400
    code = "invalid_request"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class Conflict(AppError):
    status = 409
    code = "conflict"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class UpstreamError(AppError):
    """A dependency (Tesla, a cloud service) failed; callers may retry later."""

    status = 502
    code = "upstream_error"


class StoreUnavailable(UpstreamError):
    """The document, secret or job store could not be reached or gave up under contention."""

    status = 503
    code = "store_unavailable"
