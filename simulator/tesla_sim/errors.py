"""Error answers of the simulated Fleet API and proxy, with the texts Tesla's servers and proxy send.

Sources: the 408 text and the proxy's 500 for a sleeping car (FACTS; vehicle-command issue 186); the
403 for unsigned commands (FACTS, copied verbatim); the proxy's texts from pkg/proxy/proxy.go,
pkg/account/account.go and pkg/protocol/error.go in teslamotors/vehicle-command.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ASLEEP_ERROR = "vehicle unavailable: vehicle is offline or asleep"
SIGNED_COMMAND_ERROR = (
    "Tesla Vehicle Command Protocol required, please refer to the documentation here: "
    "https://developer.tesla.com/docs/fleet-api#2023-10-09-rest-api-vehicle-commands-endpoint-deprecation-warning"
)
UNSIGNED_HARDLOCKED = "unsigned_cmds_hardlocked"
KEY_NOT_PAIRED_ERROR = "vehicle rejected request: your public key has not been paired with the vehicle"
PROXY_NO_TOKEN = "client did not provide an OAuth token"
PROXY_MALFORMED_TOKEN = "client provided malformed OAuth token"
PROXY_REFUSAL_PREFIX = "car could not execute command: "
PARSE_ERROR = "error occurred while parsing request parameters"


class SimError(Exception):
    """An error answer of the simulated API; `body()` is Tesla's JSON for it."""

    # `billed` overrides the rule "every answer below 500 is billed": False for answers the proxy
    # gives without reaching Tesla, True for a proxy 500 behind which Tesla answered (and billed) a 408.

    def __init__(
        self,
        status: int,
        error: str,
        description: str = "",
        *,
        oauth: bool = False,
        billed: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.status, self.error, self.description, self.oauth = status, error, description, oauth
        self.billed = billed
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        if self.oauth:
            return {"error": self.error, "error_description": self.description}
        return {"response": None, "error": self.error, "error_description": self.description}
