"""What the three GCP adapters share: clients made on first use, and the local stand-in endpoint.

Importing google-cloud clients costs about half a second of CPU (FACTS), so no adapter builds its
client before the first call; the scout may never need some of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class LazyClient(Generic[T]):
    """A client built by `create` on the first get(), once, even under concurrent first calls."""

    def __init__(self, create: Callable[[], T], client: T | None = None) -> None:
        self._create = create
        self._client = client
        self._lock = threading.Lock()

    def get(self) -> T:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._create()
        return self._client

    @property
    def created(self) -> T | None:
        """The client if one exists already (for close()), else None."""
        return self._client


def endpoint_options(endpoint: str | None) -> dict[str, Any]:
    """Client keyword arguments: none for Google; REST with anonymous credentials for a local stand-in."""
    if not endpoint:
        return {}
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials

    return {
        "transport": "rest",
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "client_options": ClientOptions(api_endpoint=endpoint),
    }
