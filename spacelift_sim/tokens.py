"""API-key exchange and bearer tokens: real three-part HS256 JWTs signed with a per-process key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Mints and checks the JWTs that `apiKeyUser` hands out.

    Claims follow section 9.1 of the API notes: `aud` is a one-element list holding the
    simulator's base URL, `iss` is "api-key", and `exp` equals the `validUntil` returned.
    Tokens die with the process (the signing key is random), and `revoke_all` kills every
    token issued so far, which is what an operator deleting the key looks like to a client.
    """

    def __init__(
        self,
        key_id: str,
        key_secret: str,
        ttl: int,
        clock: Callable[[], float],
        user_name: str,
    ) -> None:
        self.key_id = key_id
        self.key_secret = key_secret
        self.ttl = ttl
        self.clock = clock
        self.user_name = user_name
        self.issued = 0
        self._signing_key = secrets.token_bytes(32)
        self._live: set[str] = set()
        self._revoked: set[str] = set()

    def exchange(self, key_id: str, secret: str, audience: str) -> tuple[str, int] | None:
        """A (jwt, valid_until) pair; None for an unknown key id; ValueError for a bad secret."""
        if key_id != self.key_id:
            return None
        if not hmac.compare_digest(secret.encode(), self.key_secret.encode()):
            raise ValueError("unauthorized")
        now = int(self.clock())
        valid_until = now + self.ttl
        jti = secrets.token_hex(12)
        claims = {
            "aud": [audience],
            "iss": "api-key",
            "sub": f"api::{self.key_id}",
            "iat": now,
            "nbf": now,
            "exp": valid_until,
            "jti": jti,
            "name": self.user_name,
        }
        header = {"alg": "HS256", "typ": "JWT"}
        signing_input = (
            _b64(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = hmac.new(self._signing_key, signing_input.encode(), hashlib.sha256).digest()
        self.issued += 1
        self._live.add(jti)
        return f"{signing_input}.{_b64(signature)}", valid_until

    def verify(self, token: str) -> dict | None:
        """The claims of a valid, unexpired, unrevoked token; None otherwise."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        signing_input = f"{parts[0]}.{parts[1]}"
        expected = hmac.new(self._signing_key, signing_input.encode(), hashlib.sha256).digest()
        try:
            signature = _unb64(parts[2])
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(signature, expected) or not isinstance(claims, dict):
            return None
        now = self.clock()
        if claims.get("jti") in self._revoked:
            return None
        if not claims.get("nbf", 0) <= now < claims.get("exp", 0):
            return None
        return claims

    def revoke_all(self) -> int:
        count = len(self._live)
        self._revoked |= self._live
        self._live = set()
        return count
