"""ENTSO-E day-ahead prices for one bidding zone (OFFPEAK_SOURCE=entsoe), one request per planning run.

`GET https://web-api.tp.entsoe.eu/api?securityToken=...&documentType=A44&in_Domain=<EIC>&out_Domain=<EIC>
&periodStart=yyyyMMddHHmm&periodEnd=yyyyMMddHHmm` (UTC) answers the prices of the whole delivery days
in that period that are published (day D around 13:00 CET on D-1); `entsoe_document` reads them.

Currency: the platform gives each TimeSeries its own currency (EUR for the coupled day-ahead market;
the recorded Polish answer of 2017 has EUR and PLN days side by side). Prices are kept in the
document's currency, exactly as published, and `currency` says which. With OFFPEAK_EUR_PLN set,
EUR amounts are converted to PLN at that fixed rate: the platform publishes no exchange rate, a
fixed one scales every energy price alike (so alone it changes no plan, only the cost shown), and
it is needed only to add PLN charges (OFFPEAK_DISTRIBUTION) to the energy price.

The token travels in the query string, so no message and no log line here ever contains the URL,
and the token is scrubbed from any text the platform sends back.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import requests

from shared.domain.prices import PriceInterval
from shared.prices.entsoe_document import EntsoeAcknowledgement, EntsoePrice, parse_a44
from shared.prices.errors import InvalidPriceData, PriceSourceRefused, PriceSourceUnavailable
from shared.prices.fetch import DEFAULT_TIMEOUT

ENTSOE_URL = "https://web-api.tp.entsoe.eu/api"
MIN_PRICE, MAX_PRICE = -10.0, 100.0  # per kWh after conversion, as for the feed
_HOUR = timedelta(hours=1)


class EntsoePriceSource:
    """PriceSource over the ENTSO-E Transparency Platform (document A44) for one bidding zone."""

    def __init__(
        self,
        *,
        token: str,
        area: str,
        area_name: str | None = None,
        eur_pln: float | None = None,
        session: requests.Session | None = None,
        base_url: str = ENTSOE_URL,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self._token = token
        self._area = area
        self._area_name = area_name or area
        self._eur_pln = eur_pln
        self._session = session or requests.Session()
        self._base_url = base_url
        self._timeout = timeout
        self._fetched: list[tuple[datetime, datetime, list[PriceInterval]]] = []
        self._currency = "PLN" if eur_pln else "EUR"

    @property
    def currency(self) -> str:
        """The currency of the prices returned last (EUR before the first answer, PLN when converting)."""
        return self._currency

    @currency.setter
    def currency(self, value: str) -> None:  # the PriceSource port declares a plain attribute
        raise AttributeError("the currency comes from the platform's answer")

    def prices(self, start: datetime, end: datetime) -> list[PriceInterval]:
        """Day-ahead prices overlapping [start, end), in order; unpublished time is left out."""
        if end <= start:
            return []
        for fetched_start, fetched_end, intervals in self._fetched:
            if fetched_start <= start and end <= fetched_end:
                return [i for i in intervals if i.end > start and i.start < end]
        period_start = _whole_hour(start, up=False)
        period_end = _whole_hour(end, up=True)
        intervals = self._fetch(period_start, period_end)
        self._fetched.append((period_start, period_end, intervals))
        return [i for i in intervals if i.end > start and i.start < end]

    def _fetch(self, start: datetime, end: datetime) -> list[PriceInterval]:
        what = f"ENTSO-E day-ahead prices for {self._area_name} from {start:%Y-%m-%d %H:%M}Z to {end:%Y-%m-%d %H:%M}Z"
        params = {
            "securityToken": self._token,
            "documentType": "A44",
            "in_Domain": self._area,
            "out_Domain": self._area,
            "periodStart": f"{start:%Y%m%d%H%M}",
            "periodEnd": f"{end:%Y%m%d%H%M}",
        }
        try:
            response = self._session.get(
                self._base_url, params=params, timeout=self._timeout, headers={"Accept": "application/xml"}
            )
        except requests.Timeout:
            raise PriceSourceUnavailable(f"{what}: no answer within {self._timeout[1]:g} s") from None
        except requests.RequestException as error:
            raise PriceSourceUnavailable(
                f"{what}: the platform could not be reached ({type(error).__name__})"
            ) from None
        if response.status_code == 401:
            raise PriceSourceRefused(
                "ENTSOE_API_TOKEN was refused by the ENTSO-E Transparency Platform (HTTP 401): check the token, and"
                " that the account has Restful API access (ask transparency@entsoe.eu)"
            )
        if response.status_code == 429:
            raise PriceSourceUnavailable(f"{what}: the platform's rate limit was hit (HTTP 429); try again later")
        try:
            prices = parse_a44(response.content) if response.content else []
        except EntsoeAcknowledgement as refusal:
            reason = self._scrub(refusal.reason)[:300]
            if response.status_code == 200 and "no matching data" in reason.lower():
                raise PriceSourceUnavailable(f"{what}: nothing published for that time ({reason})") from None
            raise PriceSourceRefused(
                f"{what}: the platform refused the request (HTTP {response.status_code}): {reason}"
            ) from None
        except InvalidPriceData:
            if response.status_code != 200:
                raise PriceSourceUnavailable(f"{what}: the platform answered HTTP {response.status_code}") from None
            raise
        if response.status_code != 200:
            raise PriceSourceUnavailable(f"{what}: the platform answered HTTP {response.status_code}")
        if not prices:
            raise PriceSourceUnavailable(f"{what}: the answer holds no prices")
        currency, intervals = to_price_intervals(prices, self._eur_pln, what)
        self._currency = currency
        return intervals

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def to_price_intervals(
    prices: list[EntsoePrice], eur_pln: float | None, what: str = "ENTSO-E prices"
) -> tuple[str, list[PriceInterval]]:
    """One currency and per-kWh intervals from per-MWh prices; EUR becomes PLN when a rate is given."""
    if eur_pln is not None and not (math.isfinite(eur_pln) and eur_pln > 0):
        raise ValueError("the EUR to PLN rate must be a positive number")
    converted: list[tuple[EntsoePrice, float, str]] = []
    for price in prices:
        if eur_pln is not None and price.currency == "EUR":
            converted.append((price, price.per_mwh * eur_pln, "PLN"))
        else:
            converted.append((price, price.per_mwh, price.currency))
    currencies = sorted({currency for _, _, currency in converted})
    if not currencies:
        return ("PLN" if eur_pln is not None else "EUR"), []
    if len(currencies) > 1:
        hint = "; set OFFPEAK_EUR_PLN to convert EUR to PLN" if set(currencies) == {"EUR", "PLN"} else ""
        raise InvalidPriceData(f"{what} mix currencies ({', '.join(currencies)}){hint}")
    intervals = []
    for price, per_mwh, _ in converted:
        per_kwh = per_mwh / 1000
        if not MIN_PRICE <= per_kwh <= MAX_PRICE:
            raise InvalidPriceData(f"{what}: {per_kwh:g} per kWh at {price.start:%Y-%m-%dT%H:%MZ} is absurd")
        intervals.append(PriceInterval(price.start, price.end, per_kwh))
    return currencies[0], intervals


def _whole_hour(moment: datetime, *, up: bool) -> datetime:
    """The moment in UTC, on the hour: down for a period's start, up for its end."""
    moment = moment.astimezone(UTC)
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor + _HOUR if up and floor < moment else floor
