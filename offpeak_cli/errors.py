"""The command line's one error: a sentence for the owner and the exit code that goes with it."""

from __future__ import annotations

USAGE, RUNTIME = 2, 1


class CliError(Exception):
    """Stops the command with one line on stderr; `exit_code` is USAGE for what was typed, RUNTIME otherwise."""

    def __init__(self, message: str, *, exit_code: int = RUNTIME, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.status = status  # the worker's HTTP status, when the worker answered
