"""The audit MAC key: from CITYLOOP_AUDIT_KEY, a key file, or derived from the secret key; never in the database."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from pathlib import Path

from cityloop.config import Settings

PURPOSE = b"cityloop/audit-chain/v1"
MIN_BYTES = 32


class AuditKeyError(ValueError):
    """The configured audit key is missing, unreadable or too short."""


def audit_key(settings: Settings) -> bytes:
    """The key every audit MAC is computed with (cached per configuration)."""
    given = settings.audit_key.get_secret_value() if settings.audit_key else None
    return _key(given, str(settings.audit_key_file) if settings.audit_key_file else None, settings.secret_key)


@lru_cache(maxsize=8)
def _key(given: str | None, path: str | None, secret: str) -> bytes:
    if path:
        try:
            raw = Path(path).read_bytes().strip()
        except OSError as exc:
            raise AuditKeyError(f"审计密钥文件无法读取 / cannot read the audit key file {path}: {exc}") from exc
    elif given:
        raw = given.encode()
    else:
        # A distinct purpose: the token-signing key itself never keys the audit chain.
        return hmac.new(secret.encode(), PURPOSE, hashlib.sha256).digest()
    if len(raw) < MIN_BYTES:
        raise AuditKeyError(f"审计密钥至少 {MIN_BYTES} 字节 / the audit key needs at least {MIN_BYTES} bytes")
    return raw
