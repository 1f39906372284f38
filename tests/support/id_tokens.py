"""Locally signed Google-style ID tokens, so auth tests never reach Google."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt

KEY_ID = "test-key-1"


class TokenFactory:
    """Signs ID tokens with a fresh RSA key and serves the matching certificate map."""

    def __init__(self, key_id: str = KEY_ID) -> None:
        self.key_id = key_id
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.public_pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        self._signer = crypt.RSASigner.from_string(self._private_pem, key_id=key_id)

    def certs(self) -> Mapping[str, str]:
        return {self.key_id: self.public_pem}

    def token(
        self,
        *,
        audience: str,
        email: str,
        issued_at: float,
        lifetime_s: int = 3600,
        issuer: str = "https://accounts.google.com",
        omit: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        payload = {
            "iss": issuer,
            "aud": audience,
            "email": email,
            "email_verified": True,
            "iat": int(issued_at),
            "exp": int(issued_at) + lifetime_s,
            "sub": "1234",
            **claims,
        }
        for name in omit:
            payload.pop(name, None)
        return jwt.encode(self._signer, payload).decode()


def strip_signature(token: str) -> str:
    """What Cloud Run forwards after verifying a token at its edge."""
    header, payload, _ = token.split(".")
    return f"{header}.{payload}.SIGNATURE_REMOVED_BY_GOOGLE"


def forged(claims: Mapping[str, Any]) -> str:
    """An unsigned token carrying any claims (what an attacker could send)."""

    def part(data: Mapping[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'kid': KEY_ID})}.{part(claims)}.c2lnbmF0dXJl"
