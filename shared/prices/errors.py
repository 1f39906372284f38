"""Errors of the price sources: the source could not be reached, or what it sent is not usable."""

from __future__ import annotations

from shared.errors import UpstreamError


class PriceSourceUnavailable(UpstreamError):
    """The price source did not answer, or answered with an HTTP error; planning may be retried later."""

    code = "price_source_unavailable"


class InvalidPriceData(UpstreamError):
    """The price source answered with data the planner must not use (gaps, overlaps, bad numbers...)."""

    code = "invalid_price_data"


class PriceSourceRefused(UpstreamError):
    """The price source refused our credentials or our request; retrying will not help until the settings change."""

    code = "price_source_refused"
