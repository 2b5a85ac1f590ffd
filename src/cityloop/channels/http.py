"""Request plumbing the channel endpoints share: a JSON-or-form body with files, the use-case context, the caller."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from cityloop.cases.api import save, screen_all, Ctx
from cityloop.config import Settings
from cityloop.org.actor import Actor
from cityloop.shared.errors import Invalid, TooLarge
from cityloop.sla.domain import WorkCalendar
from cityloop.sla.service import work_calendar
from cityloop.state import AppState

M = TypeVar("M", bound=BaseModel)


def invalid_from(exc: ValidationError) -> Invalid:
    """A pydantic error as a 422 naming the fields."""
    fields = ", ".join(".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors())
    return Invalid("invalid-input", f"输入无效：{fields}", f"Invalid input: {fields}",
                   errors=[{"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()])


def validate(model: type[M], data: dict[str, Any] | str) -> M:
    """Validate a dict or JSON text against a model, or raise a 422."""
    try:
        return model.model_validate_json(data) if isinstance(data, str) else model.model_validate(data)
    except ValidationError as exc:
        raise invalid_from(exc) from exc


async def read_body(request: Request, settings: Settings, file_field: str, max_files: int
                    ) -> tuple[str, list[tuple[str, bytes]]]:
    """The body as JSON text, or a form: a `data` JSON field or plain fields, plus uploads under `file_field`.

    Uploads are read to one byte past the limit, so a huge file is refused (413) without being held in memory."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raw = (await request.body()).decode("utf-8", "replace")
        if not raw.strip():
            raise Invalid("body-required", "请求体不能为空", "A body is required")
        return raw, []
    form = await request.form(max_files=max_files + 1, max_fields=40)
    files: list[tuple[str, bytes]] = []
    for item in form.getlist(file_field):
        if not isinstance(item, UploadFile):
            if item == "":
                continue  # an empty file input sends an empty string
            raise Invalid("bad-file-field", f"{file_field} 字段必须是文件", f"{file_field} must be files")
        data = await item.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise TooLarge("photo-too-large", f"照片 {item.filename} 超过 {settings.max_upload_bytes // 1048576} MB",
                           f"Photo {item.filename} is larger than {settings.max_upload_bytes} bytes")
        if data:
            files.append((item.filename or "", data))
    if "data" in form:
        data_field = form["data"]
        if not isinstance(data_field, str):
            raise Invalid("bad-data-field", "data 字段必须是 JSON 文本", "data must be a JSON string")
        return data_field, files
    fields = {k: v for k, v in form.multi_items() if k != file_field and isinstance(v, str) and v != ""}
    return json.dumps(fields, ensure_ascii=False), files


def cal(state: AppState) -> WorkCalendar:
    """The working calendar (read without waiting for the write lock)."""
    return work_calendar(state.read_session_factory, state.settings)


def make_ctx(state: AppState, session: Session, actor: Actor, raw_photos: Sequence[tuple[str, bytes]] = (),
             reads: Session | None = None) -> Ctx:
    """A use-case context; photos are screened (count, size, format) here, decoded only when the use case records
    them, and written by save_photos() after it was accepted. With `reads` (a read session) lookups use it and a
    new report is written by the process's group committer (cases/batcher.py)."""
    settings = state.settings
    photos = screen_all(settings, list(raw_photos))
    fast = reads is not None
    return Ctx(session, settings, cal(state), state.clock.now(), actor, photos, read_session=reads,
               committer=state.intake if fast else None, matters=state.matters.get if fast else None)


def save_photos(ctx: Ctx) -> None:
    """Write the photos of an accepted, committed use case."""
    save(ctx.settings, ctx.photos)


def client_ip(request: Request) -> str:
    """The caller's address (uvicorn applies X-Forwarded-For from trusted proxies itself)."""
    return request.client.host if request.client else "unknown"


def base_url(request: Request, settings: Settings) -> str:
    """The public base URL of this deployment, without a trailing slash."""
    configured = settings.public_base_url
    return (configured or str(request.base_url)).rstrip("/")
