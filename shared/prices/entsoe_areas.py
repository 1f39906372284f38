"""ENTSO-E bidding zones by short name and EIC code (ENTSO-E Transparency Platform API guide, area codes).

ENTSOE_AREA takes a short name (`PL`, `DE-LU`, `SE4`...) or an EIC code. A code not listed here is
accepted when it is shaped like an EIC (16 characters): the platform then says whether it knows it.
"""

from __future__ import annotations

import re

from shared.errors import ConfigError

BIDDING_ZONES: dict[str, str] = {
    "PL": "10YPL-AREA-----S",
    "DE-LU": "10Y1001A1001A82H",
    "CZ": "10YCZ-CEPS-----N",
    "SK": "10YSK-SEPS-----K",
    "LT": "10YLT-1001A0008Q",
    "LV": "10YLV-1001A00074",
    "EE": "10Y1001A1001A39I",
    "AT": "10YAT-APG------L",
    "HU": "10YHU-MAVIR----U",
    "SI": "10YSI-ELES-----O",
    "HR": "10YHR-HEP------M",
    "RO": "10YRO-TEL------P",
    "BG": "10YCA-BULGARIA-R",
    "GR": "10YGR-HTSO-----Y",
    "NL": "10YNL----------L",
    "BE": "10YBE----------2",
    "FR": "10YFR-RTE------C",
    "CH": "10YCH-SWISSGRIDZ",
    "ES": "10YES-REE------0",
    "PT": "10YPT-REN------W",
    "FI": "10YFI-1--------U",
    "DK1": "10YDK-1--------W",
    "DK2": "10YDK-2--------M",
    "SE1": "10Y1001A1001A44P",
    "SE2": "10Y1001A1001A45N",
    "SE3": "10Y1001A1001A46L",
    "SE4": "10Y1001A1001A47J",
    "NO1": "10YNO-1--------2",
    "NO2": "10YNO-2--------T",
    "NO3": "10YNO-3--------J",
    "NO4": "10YNO-4--------9",
    "NO5": "10Y1001A1001A48H",
    "IT-NORD": "10Y1001A1001A73I",
    "IT-CNOR": "10Y1001A1001A70O",
    "IT-CSUD": "10Y1001A1001A71M",
    "IT-SUD": "10Y1001A1001A788",
    "IT-SICI": "10Y1001A1001A75E",
    "IT-SARD": "10Y1001A1001A74G",
}
_EIC = re.compile(r"^[0-9]{2}[A-Z0-9-]{14}$")


def resolve_area(text: str) -> tuple[str, str]:
    """(short name, EIC code) for ENTSOE_AREA; ConfigError naming the variable when it is neither."""
    value = text.strip().upper().replace("_", "-")
    if value in BIDDING_ZONES:
        return value, BIDDING_ZONES[value]
    names = {code: name for name, code in BIDDING_ZONES.items()}
    if value in names:
        return names[value], value
    if _EIC.fullmatch(value):
        return value, value
    known = ", ".join(BIDDING_ZONES)
    raise ConfigError(f"ENTSOE_AREA is not a bidding zone this source knows: use one of {known}, or an EIC code")
