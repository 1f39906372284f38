"""Fleet API regions: `GET /api/1/users/region` and the 421 a server of the wrong region answers.

An account lives in one region; each region has its own base URL (FACTS: regional bases). The
region endpoint answers from any region (vehicle-command issue 28: the EU server told an NA user
`{"region": "na", "fleet_api_base_url": "https://fleet-api.prd.na.vn.cloud.tesla.com"}`); every other
call to the wrong region answers 421 Misdirected Request with the body users report (evcc issue
14801, 2024; PowerSync issue 72, 2026, whose link is the one copied here) and an `Alt-Svc:
h2=https://<host>` header, which Tesla's proxy follows (pkg/proxy/proxy.go, forwardRequest).

In the simulator: `SimConfig(account_region=..., served_region=...)` or `TeslaSim.set_regions(...)`
(`POST /sim/region`); when the two differ, every /api/1 call but users/region answers 421.
"""

from __future__ import annotations

from typing import Any

BASE_URLS = {
    "na": "https://fleet-api.prd.na.vn.cloud.tesla.com",
    "eu": "https://fleet-api.prd.eu.vn.cloud.tesla.com",
    "cn": "https://fleet-api.prd.cn.vn.cloud.tesla.cn",
}
REGIONS_DOC = "https://developer.tesla.com/docs/fleet-api/getting-started/regions-countries"


def checked(region: str) -> str:
    """The region, lower case; ValueError for one Tesla does not have."""
    name = region.lower()
    if name not in BASE_URLS:
        raise ValueError(f"unknown region {region!r}; one of {', '.join(BASE_URLS)}")
    return name


def region_answer(region: str) -> dict[str, Any]:
    """The `response` of GET /api/1/users/region."""
    return {"region": region, "fleet_api_base_url": BASE_URLS[region]}


def out_of_region_error(account_region: str) -> str:
    """Tesla's 421 error text, naming the base URL the account belongs to."""
    return f"user out of region, use base URL: {BASE_URLS[account_region]}, see {REGIONS_DOC}"


def alt_svc(account_region: str) -> str:
    """The Alt-Svc header of a 421, in the form Tesla's proxy reads (`h2=https://<host>`)."""
    return f"h2={BASE_URLS[account_region]}"
