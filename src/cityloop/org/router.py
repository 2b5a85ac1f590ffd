"""Auth and org endpoints."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.deps import Actor, current_actor, get_clock, get_session, get_settings_dep
from cityloop.geo.models import DutyGridInspector
from cityloop.org import service
from cityloop.org.models import Department
from cityloop.org.schemas import DepartmentOut, MeOut, TokenOut

router = APIRouter(prefix="/api/v1", tags=["org 组织与登录"])


@router.post("/auth/token", response_model=TokenOut)
def token(form: OAuth2PasswordRequestForm = Depends(), session: Session = Depends(get_session),
          settings=Depends(get_settings_dep), clock=Depends(get_clock)):
    """登录 / Log in with username and password (OAuth2 password form)."""
    access = service.login(session, settings, form.username, form.password, clock.now())
    return TokenOut(access_token=access, expires_in=settings.token_minutes * 60)


@router.get("/departments", response_model=list[DepartmentOut])
def departments(group: Literal["class1", "class2", "center"] | None = Query(None),
                session: Session = Depends(get_session), _: Actor = Depends(current_actor)):
    """专业部门列表 / Departments (class1 = 县直部门, class2 = 乡镇/街道)."""
    return service.list_departments(session, group)


@router.get("/me", response_model=MeOut)
def me(actor: Actor = Depends(current_actor), session: Session = Depends(get_session)):
    """当前用户 / The logged-in user, roles and duty grids."""
    dept = session.get(Department, actor.department_id) if actor.department_id else None
    grids = session.scalars(select(DutyGridInspector.duty_grid_code).where(DutyGridInspector.user_id == actor.id))
    return MeOut(id=actor.id, username=actor.username, display_name=actor.display_name, roles=sorted(actor.roles),
                 department_code=dept.code if dept else None, department_name=dept.name if dept else None,
                 duty_grids=list(grids))
