"""The published API description says what every operation really answers on errors: problem details (RFC 9457)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from cityloop.http.problems import PROBLEM_JSON

PROBLEM = {
    "title": "Problem",
    "description": "问题详情 / problem details (RFC 9457)",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "code": {"type": "string"}, "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
# Any operation may refuse a caller or input, or find the database busy; these apply where an operation says nothing.
COMMON = {"4XX": "请求被拒绝 / the request was refused", "503": "服务暂不可用 / the database is busy, retry"}


def _describe_problems(schema: dict[str, Any]) -> None:
    ref = {"$ref": "#/components/schemas/Problem"}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM
    for path, item in schema.get("paths", {}).items():
        if path.startswith("/open311/"):  # GeoReport v2 answers its own error format (open311/router.py)
            continue
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for code, response in responses.items():
                if code[0] in "45":  # FastAPI documents 422 as HTTPValidationError; we answer problem details
                    response["content"] = {PROBLEM_JSON: {"schema": ref}}
            for code, text in COMMON.items():
                responses.setdefault(code, {"description": text, "content": {PROBLEM_JSON: {"schema": ref}}})


def _hoist_defs(schema: dict[str, Any]) -> None:
    """A request body given as `Model.model_json_schema(ref_template="#/components/schemas/{model}")` carries its
    nested models in `$defs`: move them to the components its references point at."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {}) if isinstance(operation, dict) else {}
            for media in content.values():
                body = media.get("schema", {})
                for name, definition in body.pop("$defs", {}).items():
                    components.setdefault(name, definition)
                if body.get("title") and body.get("properties"):  # the model itself, by reference
                    components.setdefault(body["title"], dict(body))
                    media["schema"] = {"$ref": f"#/components/schemas/{body['title']}"}


def document_problems(app: FastAPI) -> None:
    """Make /openapi.json declare problem+json for the errors each operation can answer."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()  # build() caches the schema on the app; we amend it once
            _describe_problems(schema)
            _hoist_defs(schema)
            return schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to amend the schema


BINARY = {"type": "string", "format": "binary"}
# Before OpenAPI 3.2 an event stream's schema describes each event.
SSE_EVENT = {"type": "object", "properties": {"event": {"type": "string"}, "data": {"type": "string"},
                                               "id": {"type": "string"}, "retry": {"type": "integer"}}}


def file_of(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for an operation that answers a file of one of these types instead of JSON."""
    return {200: {"description": "文件 / the file",
                  "content": {media: {"schema": SSE_EVENT if media == "text/event-stream" else BINARY}
                              for media in media_types}}}
