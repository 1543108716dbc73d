"""The connection saved on the administration page: one row of the table `spacelift_settings`.

The API key secret is stored encrypted with Fernet (AES-128-CBC and HMAC-SHA256), under a key
derived from `backend.secret` with HKDF-SHA256 and a fixed `info` string, so the database alone
never reveals it. Changing `backend.secret` makes a saved secret unreadable: the plugin then
says so (`SecretBox.decrypt` raises `InvalidToken`) and the admin saves the secret again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Fixed HKDF `info` strings: one key per purpose, both from backend.secret.
SECRET_KEY_INFO = b"greenroom/spacelift/settings-secret/v1"
IDENTITY_KEY_INFO = b"greenroom/spacelift/connection-identity/v1"

ROW_ID = 1  # one saved connection per portal

__all__ = ["IDENTITY_KEY_INFO", "SECRET_KEY_INFO", "InvalidToken", "SavedSettings", "SecretBox",
           "SettingsStore", "derive_key"]  # fmt: skip


def derive_key(backend_secret: str, info: bytes) -> bytes:
    """32 bytes for one purpose (`info`), derived from backend.secret with HKDF-SHA256."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
        backend_secret.encode("utf-8")
    )


class SecretBox:
    """Encrypts the saved API secret, and names connections without revealing their secret."""

    def __init__(self, backend_secret: str):
        self._fernet = Fernet(base64.urlsafe_b64encode(derive_key(backend_secret, SECRET_KEY_INFO)))
        self._identity_key = derive_key(backend_secret, IDENTITY_KEY_INFO)

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The plain secret; raises InvalidToken when `token` was made under another key."""
        return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")

    def identity(self, host: str, api_key: str, api_secret: str) -> str:
        """A short keyed hash of the connection: the prefix of its token and response cache
        keys, so a new connection never reads the old one's token or answers. The secret is
        part of it (a corrected secret must not keep a token issued before), and the key is
        secret, so the hash reveals nothing of it."""
        message = "\0".join((host, api_key, api_secret)).encode("utf-8")
        return hmac.new(self._identity_key, message, hashlib.sha256).hexdigest()[:20]


@dataclass(frozen=True)
class SavedSettings:
    """The saved row, as stored: the secret still encrypted."""

    host_url: str
    api_key: str
    secret_token: str = field(repr=False)  # Fernet token
    read_only: bool
    saved_at: float  # Unix seconds
    saved_by: str

    def as_cached(self) -> dict[str, object]:
        return {"hostUrl": self.host_url, "apiKey": self.api_key, "secret": self.secret_token,
                "readOnly": self.read_only, "savedAt": self.saved_at, "savedBy": self.saved_by}  # fmt: skip

    @classmethod
    def from_cached(cls, value: object) -> SavedSettings | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(str(value["hostUrl"]), str(value["apiKey"]), str(value["secret"]),
                       bool(value["readOnly"]), float(value["savedAt"]), str(value["savedBy"]))  # fmt: skip
        except (KeyError, TypeError, ValueError):
            return None


def _epoch(value: datetime | None) -> float:
    if value is None:
        return 0.0
    if value.tzinfo is None:  # SQLite keeps no zone: we always write UTC
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


class SettingsStore:
    """Reads and writes the saved connection (`<plugin id>_settings`)."""

    def __init__(self, db: Any):  # the plugin's ctx.db
        self.db = db
        self.table = db.table(
            "settings",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("host_url", sa.String(300), nullable=False),
            sa.Column("api_key", sa.String(200), nullable=False),
            sa.Column("api_secret_encrypted", sa.Text, nullable=False),
            sa.Column("read_only", sa.Boolean, nullable=False, default=False),
            sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("saved_by", sa.String(200), nullable=False),
        )

    def load(self) -> SavedSettings | None:
        t = self.table
        with self.db.begin() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == ROW_ID)).first()
        if row is None:
            return None
        return SavedSettings(row.host_url, row.api_key, row.api_secret_encrypted,
                             bool(row.read_only), _epoch(row.saved_at), row.saved_by)  # fmt: skip

    def save(self, saved: SavedSettings) -> None:
        t = self.table
        values = {
            "host_url": saved.host_url,
            "api_key": saved.api_key,
            "api_secret_encrypted": saved.secret_token,
            "read_only": saved.read_only,
            "saved_at": datetime.fromtimestamp(saved.saved_at, UTC),
            "saved_by": saved.saved_by,
        }
        for attempt in (1, 2):
            try:
                with self.db.begin() as conn:
                    updated = conn.execute(t.update().where(t.c.id == ROW_ID).values(**values))
                    if not updated.rowcount:
                        conn.execute(t.insert().values(id=ROW_ID, **values))
                return
            except sa.exc.IntegrityError:
                # Another admin inserted the row first: the second attempt updates it.
                if attempt == 2:
                    raise

    def delete(self) -> bool:
        """Forget the saved connection; True when there was one."""
        with self.db.begin() as conn:
            return bool(conn.execute(self.table.delete().where(self.table.c.id == ROW_ID)).rowcount)
