"""Tesla failures, translated once at the HTTP boundary into the project's error hierarchy.

All derive from UpstreamError (an Exception, never BaseException), so `except Exception` and the
worker's error handler both see them. Messages never contain tokens.
"""

from __future__ import annotations

from shared.errors import UpstreamError


class TeslaError(UpstreamError):
    """Any Tesla Fleet API or token-endpoint failure; `tesla_status` is Tesla's HTTP status, if any."""

    code = "tesla_error"

    def __init__(self, message: str, *, tesla_status: int | None = None) -> None:
        super().__init__(message)
        self.tesla_status = tesla_status


class VehicleAsleep(TeslaError):
    """408: the car is asleep or offline; wake it (or wait) before reading data or sending commands."""

    code = "vehicle_asleep"

    def __init__(self, message: str = "vehicle is asleep or offline", *, tesla_status: int | None = 408) -> None:
        super().__init__(message, tesla_status=tesla_status)


class TeslaAuthError(TeslaError):
    """401 even after a forced token refresh, or the token endpoint refused the app's credentials."""

    code = "tesla_auth_error"


class TokenRejected(TeslaAuthError):
    """The token endpoint said invalid_grant / login_required: the owner must authorise the app again."""

    code = "tesla_token_rejected"


class TeslaRateLimited(TeslaError):
    """429; `retry_after` is Tesla's Retry-After in seconds (None when it sent none)."""

    status = 503
    code = "tesla_rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, tesla_status: int | None = 429) -> None:
        super().__init__(message, tesla_status=tesla_status)
        self.retry_after = retry_after


class TeslaUnavailable(TeslaError):
    """5xx answers, connection failures or timeouts, after the bounded retries."""

    status = 503
    code = "tesla_unavailable"


class TeslaCommandFailed(TeslaError):
    """A command answered 200 with `result: false`; `reason` is the car's reason."""

    code = "tesla_command_failed"

    def __init__(self, command: str, reason: str) -> None:
        super().__init__(f"Tesla command {command} failed: {reason or 'no reason given'}", tesla_status=200)
        self.command = command
        self.reason = reason


class OwnerActionRequired(TeslaError):
    """Tesla refused for a reason only the owner can fix; never retried as if transient.

    `remedy` is one sentence telling the owner what to do (it may carry the pairing link).
    HTTP 409 so a caller sees it is not the service being down.
    """

    status = 409
    code = "owner_action_required"

    def __init__(self, message: str, *, remedy: str, tesla_status: int | None = None) -> None:
        super().__init__(message, tesla_status=tesla_status)
        self.remedy = remedy


class SigningRequired(OwnerActionRequired):
    """The car accepts only signed commands and no command key is configured (or signing is `never`)."""

    code = "signing_required"


class KeyNotPaired(OwnerActionRequired):
    """The car does not know our command key (fleet_status `unpaired_vins`, KEY_NOT_ON_WHITELIST, unknown key)."""

    code = "key_not_paired"


class FirmwareTooOld(OwnerActionRequired):
    """The car's firmware predates what the command needs (charge schedules need 2024.26)."""

    code = "firmware_too_old"


class MissingScope(OwnerActionRequired):
    """The access token lacks an OAuth scope the call needs (403 "Unauthorized missing scopes")."""

    code = "missing_scope"

    def __init__(self, message: str, *, scope: str, remedy: str, tesla_status: int | None = 403) -> None:
        super().__init__(message, remedy=remedy, tesla_status=tesla_status)
        self.scope = scope


class WrongRegion(TeslaError):
    """421: the account lives in another region; `base_url` is the one Tesla named, when it did."""

    code = "wrong_region"

    def __init__(self, message: str, *, base_url: str | None, tesla_status: int | None = 421) -> None:
        super().__init__(message, tesla_status=tesla_status)
        self.base_url = base_url


class SignedCommandFault(TeslaError):
    """The car refused a signed message at the protocol layer (MessageFault_E); `fault` is its name."""

    code = "signed_command_fault"

    def __init__(self, message: str, *, fault: str) -> None:
        super().__init__(message, tesla_status=200)
        self.fault = fault
