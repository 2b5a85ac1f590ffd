"""Password hashing (argon2 via pwdlib) and bearer tokens (PyJWT)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

import jwt
from pwdlib import PasswordHash

ALGORITHM = "HS256"


@lru_cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    """Argon2 hash of a password."""
    return _hasher().hash(password)


def verify_password(password: str, hashed: str) -> bool:
    """True when the password matches the hash."""
    try:
        return _hasher().verify(password, hashed)
    except Exception:  # a malformed stored hash is a failed login, never a 500
        return False


def issue_token(secret: str, user_id: int, username: str, now: datetime, minutes: int, version: int = 0) -> str:
    """A signed bearer token for one user, under the user's current token version."""
    payload = {"sub": str(user_id), "name": username, "ver": version, "iat": int(now.timestamp()),
               "exp": int((now + timedelta(minutes=minutes)).timestamp())}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


# Tokens whose signature and claims passed, by (secret, token): (user id, version, expiry). Verifying the same token
# again on its next request would give the same answer (only its expiry, checked every time, depends on the time
# after that: a token not yet valid by its iat or nbf is refused and never kept). Bounded: emptied when full.
_VERIFIED: dict[tuple[str, str], tuple[int, int, int]] = {}
VERIFIED_MAX = 4096


def read_token(secret: str, token: str, now: datetime) -> tuple[int, int] | None:
    """(user id, token version) of a token that is signed by us and not expired at `now` (the app's clock), else
    None. The caller still checks the version against the user's: logout or a new password bumps it."""
    claims = _VERIFIED.get((secret, token))
    if claims is None:
        claims = _verify(secret, token)
        if claims is None:
            return None
        if len(_VERIFIED) >= VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[secret, token] = claims
    user_id, version, expires = claims
    return (user_id, version) if expires > now.timestamp() else None


def _verify(secret: str, token: str) -> tuple[int, int, int] | None:
    """(user id, token version, expiry) of a token signed with `secret`, its claims well formed, else None."""
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM],
                             options={"require": ["exp", "sub"], "verify_exp": False})
        version = payload.get("ver", 0)
        if type(version) is not int:
            return None
        return int(payload["sub"]), version, int(payload["exp"])
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        return None
