"""The one HTTP GET the price sources make: a timeout, errors translated once, JSON decoded.

Messages name the source (`what`), never its URL: a feed URL may carry an access key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from shared.prices.errors import InvalidPriceData, PriceSourceUnavailable

DEFAULT_TIMEOUT = (5.0, 20.0)  # seconds to connect, seconds to wait for the answer


def get_json(
    session: requests.Session,
    url: str,
    *,
    what: str,
    params: Mapping[str, str] | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> Any:
    """GET url and return its decoded JSON; PriceSourceUnavailable or InvalidPriceData otherwise."""
    try:
        response = session.get(url, params=params, timeout=timeout, headers={"Accept": "application/json"})
    except requests.Timeout:
        raise PriceSourceUnavailable(f"{what} did not answer within {timeout[1]:g} s") from None
    except requests.RequestException as error:
        raise PriceSourceUnavailable(f"{what} could not be reached ({type(error).__name__})") from None
    if response.status_code != 200:
        raise PriceSourceUnavailable(f"{what} answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise InvalidPriceData(f"{what} answered with something that is not JSON") from None
