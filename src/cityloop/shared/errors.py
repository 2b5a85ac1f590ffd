"""Domain errors: what went wrong, in zh-CN and English, with the HTTP status the edge maps it to."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """A business error with a status, a stable code and a message in both languages."""

    status = 400

    def __init__(self, code: str, zh: str, en: str, status: int | None = None, **extra: Any) -> None:
        super().__init__(en)
        self.code, self.zh, self.en, self.extra = code, zh, en, extra
        if status is not None:
            self.status = status


class NotFound(AppError):
    status = 404


class Conflict(AppError):
    status = 409


class Forbidden(AppError):
    status = 403


class Unauthorized(AppError):
    status = 401


class Invalid(AppError):
    status = 422


class TooLarge(AppError):
    status = 413


class UnsupportedMedia(AppError):
    status = 415


class TooManyRequests(AppError):
    status = 429
