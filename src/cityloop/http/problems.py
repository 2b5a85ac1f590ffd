"""Errors as RFC 9457 problem details, zh-CN first with English by Accept-Language: the HTTP edge of
`cityloop.shared.errors`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from cityloop.shared.errors import AppError

PROBLEM_JSON = "application/problem+json"


_TITLES = {
    400: ("请求有误", "Bad request"), 401: ("未认证", "Unauthorized"), 403: ("无权操作", "Forbidden"),
    404: ("未找到", "Not found"), 405: ("方法不允许", "Method not allowed"), 409: ("状态冲突", "Conflict"),
    413: ("内容过大", "Payload too large"), 415: ("不支持的媒体类型", "Unsupported media type"),
    422: ("输入无效", "Invalid input"), 429: ("请求过于频繁", "Too many requests"),
    500: ("服务器内部错误", "Internal server error"), 503: ("服务暂不可用", "Service unavailable"),
}


def wants_english(request: Request) -> bool:
    """True when the client prefers English over Chinese."""
    lang = request.headers.get("accept-language", "").lower()
    return lang.startswith("en") or request.query_params.get("lang") == "en"


def problem(request: Request, status: int, code: str, zh: str, en: str, **extra: Any) -> JSONResponse:
    """Build a problem+json response in the caller's language."""
    english = wants_english(request)
    title = _TITLES.get(status, _TITLES[400])
    body = {
        "type": f"https://cityloop.dev/problems/{code}",
        "title": title[1] if english else title[0],
        "status": status,
        "detail": en if english else zh,
        "code": code,
        "instance": request.url.path,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _jsonable_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for err in errors:
        out.append({"loc": [str(x) for x in err.get("loc", ())], "msg": str(err.get("msg", "")),
                    "type": str(err.get("type", ""))})
    return out


def install_error_handlers(app: FastAPI, html_page: Callable[..., Response | None] | None = None) -> None:
    """Map every error kind to problem details so no input produces a bare 500; `html_page` may answer a
    browser's page navigation (a 404 for a mistyped address) with a page in the app's look instead."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        if html_page is not None and (page := html_page(request, exc.status, exc.zh, exc.en)) is not None:
            return page
        return problem(request, exc.status, exc.code, exc.zh, exc.en, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = _jsonable_errors(exc.errors())
        fields = ", ".join(".".join(e["loc"][1:]) or e["loc"][0] for e in errors if e["loc"]) or "-"
        return problem(request, 422, "invalid-input", f"输入无效：{fields}", f"Invalid input: {fields}",
                       errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        zh, en = _TITLES.get(exc.status_code, (str(exc.detail), str(exc.detail)))
        if html_page is not None and (page := html_page(request, exc.status_code, zh, en)) is not None:
            return page
        response = problem(request, exc.status_code, f"http-{exc.status_code}", zh, str(exc.detail) or en)
        response.headers.update(exc.headers or {})  # e.g. Allow on a 405
        return response

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        return Response(status_code=400)  # nobody is listening; nothing to log

    @app.exception_handler(sqlalchemy.exc.DataError)
    async def _unstorable(request: Request, exc: sqlalchemy.exc.DataError) -> Response:
        # The last line of defence for values the database cannot hold (NUL in PostgreSQL text, numbers out of
        # range) that slipped past a schema: the caller's input, so a 422, and the transaction is rolled back.
        return problem(request, 422, "unstorable-value", "输入包含无法保存的值（如 NUL 字符或超出范围的数字）",
                       "The input holds a value that cannot be stored (a NUL character, a number out of range)")

    @app.exception_handler(sqlalchemy.exc.TimeoutError)
    @app.exception_handler(sqlalchemy.exc.OperationalError)
    @app.exception_handler(sqlite3.OperationalError)  # raised unwrapped by the SQLite write lock (db.sqlite_lock)
    async def _db_unavailable(request: Request, exc: Exception) -> Response:
        import logging

        logging.getLogger("cityloop").warning("database unavailable on %s: %s", request.url.path, exc)
        response = problem(request, 503, "db-unavailable", "数据库繁忙或不可用，请稍后重试",
                           "The database is busy or unavailable; retry shortly")
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:  # pragma: no cover - last resort
        import logging

        logging.getLogger("cityloop").exception("unhandled error on %s", request.url.path)
        return problem(request, 500, "internal", "服务器内部错误", "Internal server error")
