"""Access tokens as Tesla issues them: JWTs whose claims say who, where and which scopes (or opaque strings).

Claim names and values follow decoded Tesla access tokens in public code (FACTS: "an access token
is a JWT whose `scp` claim lists the granted scopes"): `iss` https://auth.tesla.com/oauth2/v3/nts,
`aud` both Fleet API bases and the userinfo URL, `sub` the user, `azp` the client id, `scp`, `amr`,
`exp`, `iat`, `ou_code` (the region, upper case), `locale`, `account_type`, `open_source`. Tesla's
proxy reads `aud` and `ou_code` to pick the regional server (pkg/account/account.go).

Tesla signs with RS256 and a published key; nobody but Tesla verifies, so the simulator signs
HS256 with a secret of its own and checks tokens by lookup. `jti` is the simulator's addition: two
tokens issued in the same second must still differ.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from simulator.tesla_sim.regions import BASE_URLS

ISSUER = "https://auth.tesla.com/oauth2/v3/nts"
USERINFO = "https://auth.tesla.com/oauth2/v3/userinfo"
TOKEN_FORMATS = ("jwt", "opaque")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encode_jwt(claims: dict[str, Any], secret: bytes) -> str:
    """header.payload.signature, each base64url without padding."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "tesla-sim"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def jwt_claims(token: str | None) -> dict[str, Any] | None:
    """The payload of a JWT-shaped token, unverified; None when the token is not one."""
    parts = (token or "").split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def new_access_token(
    token_format: str,
    *,
    secret: bytes,
    subject: str,
    client_id: str,
    scopes: Iterable[str],
    region: str,
    now: datetime,
    expires_at: datetime,
) -> str:
    """A fresh access token in the configured format."""
    if token_format == "opaque":
        return "sim-at." + secrets.token_urlsafe(32)
    claims = {
        "iss": ISSUER,
        "azp": client_id,
        "sub": subject,
        "aud": [BASE_URLS["na"], BASE_URLS["eu"], USERINFO],
        "scp": list(scopes),
        "amr": ["pwd", "mfa"],
        "exp": int(expires_at.timestamp()),
        "iat": int(now.timestamp()),
        "ou_code": region.upper(),
        "locale": "en-US",
        "account_type": "person",
        "open_source": False,
        "jti": secrets.token_hex(8),
    }
    return encode_jwt(claims, secret)
