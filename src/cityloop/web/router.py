"""Health check and the landing page (the consoles arrive with the web issue)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import text
from sqlalchemy.orm import Session

from cityloop.deps import get_session
from cityloop.shared.errors import AppError

router = APIRouter(tags=["system 系统"])


@router.get("/healthz")
def healthz(session: Session = Depends(get_session)):
    """健康检查 / Liveness and database reachability."""
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # the database is down: say so, don't crash
        raise AppError("db-down", "数据库不可用", "Database unreachable", status=503) from exc
    return {"status": "ok"}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request):
    """A landing page that points at the API and, in demo mode, lists the demo logins."""
    demo = request.app.state.settings.demo
    logins = ("<p>演示账号（密码均为 <code>demo</code>）/ demo logins (password <code>demo</code>): "
              "admin, operator1, lead1, dispatcher1, leader1, inspector01…inspector15, 部门代码 department codes</p>"
              if demo else "")
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>CityLoop 数字城管</title></head>
<body style="font-family:sans-serif;max-width:48rem;margin:2rem auto">
<h1>CityLoop 数字城管</h1>
<p>受理 → 核实 → 立案 → 派遣 → 处置 → 核查 → 结案</p>{logins}
<ul><li><a href="/docs">API 文档 / API docs (OpenAPI)</a></li><li><a href="/healthz">/healthz</a></li></ul>
</body></html>"""
