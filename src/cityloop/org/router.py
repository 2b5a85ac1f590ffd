"""Auth and org endpoints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from cityloop.audit import service as audit
from cityloop.deps import ActorDep, AdminDep, ClockDep, SessionDep, SettingsDep, StateDep
from cityloop.geo.models import DutyGridInspector
from cityloop.org import pages, service, throttle
from cityloop.org.models import Department
from cityloop.org.schemas import DepartmentOut, MeOut, TokenOut, UserIn, UserOut, UserPatch
from cityloop.shared.errors import Invalid
from cityloop.shared.ids import MAX_ID

router = APIRouter(prefix="/api/v1", tags=["org 组织与登录"])
extra_routers = [pages.router]  # the administration pages


@router.post("/auth/token", response_model=TokenOut)
def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep,
          settings: SettingsDep, clock: ClockDep, state: StateDep) -> TokenOut:
    """登录 / Log in with username and password (OAuth2 password form). Attempts are limited per client IP and per
    account, with a growing delay (429); an unknown name and a wrong password get the same 401."""
    from cityloop.channels.http import client_ip

    with state.read_session_factory() as reads:
        access = service.login(reads, session, settings, form.username, form.password, clock.now(),
                               client_ip(request))
    return TokenOut(access_token=access, expires_in=settings.token_minutes * 60)


@router.post("/auth/logout", status_code=204)
def logout(session: SessionDep, actor: ActorDep, state: StateDep) -> None:
    """退出登录 / Log out: every token issued to this user so far stops working, on every worker at once."""
    assert actor.id is not None  # a logged-in actor is a user
    service.logout(session, actor.id)
    state.changes.announce("actor", str(actor.id))


@router.get("/departments", response_model=list[DepartmentOut])
def departments(session: SessionDep, _: ActorDep,
                group: Literal["class1", "class2", "center"] | None = Query(None)) -> list[Department]:
    """专业部门列表 / Departments (class1 = 县直部门, class2 = 乡镇/街道)."""
    return service.list_departments(session, group)


@router.get("/me", response_model=MeOut)
def me(actor: ActorDep, session: SessionDep) -> MeOut:
    """当前用户 / The logged-in user, roles and duty grids."""
    assert actor.id is not None  # a logged-in actor is a user
    dept = session.get(Department, actor.department_id) if actor.department_id else None
    grids = session.scalars(select(DutyGridInspector.duty_grid_code).where(DutyGridInspector.user_id == actor.id))
    return MeOut(id=actor.id, username=actor.username, display_name=actor.display_name, roles=sorted(actor.roles),
                 department_code=dept.code if dept else None, department_name=dept.name if dept else None,
                 duty_grids=list(grids), district_code=actor.district_code)




@router.get("/users", response_model=list[UserOut])
def users(session: SessionDep, _: AdminDep, clock: ClockDep, role: str | None = Query(None, max_length=16),
          q: str | None = Query(None, max_length=64)) -> list[dict[str, Any]]:
    """用户列表 / Users with their roles (admin)."""
    locked = throttle.locked_names(session, clock.now())
    return [service.user_out(u, locked) for u in service.list_users(session, role, q)]


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(body: UserIn, session: SessionDep, actor: AdminDep, clock: ClockDep) -> dict[str, Any]:
    """新增用户 / Add a user (admin)."""
    return service.user_out(service.create_user(session, actor, body, clock.now()), set())


@router.patch("/users/{user_id}", response_model=UserOut)
def patch_user(body: UserPatch, session: SessionDep, actor: AdminDep, state: StateDep,
               user_id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    """修改用户 / Change roles, department, password or active flag; `unlock` lifts the login delay on the account
    from every IP (admin). A new password or deactivation ends the user's tokens."""
    if user_id == actor.id and body.active is False:
        raise Invalid("cannot-deactivate-self", "不能停用自己的账号", "You cannot deactivate your own account")
    changes = body.model_dump(exclude_unset=True)
    audit.record(session, actor, "user.change", str(user_id),
                 {k: v for k, v in changes.items() if k != "password"} | ({"password": "***"} if body.password else {}),
                 state.clock.now())
    user = service.update_user(session, user_id, changes)
    state.changes.announce("actor", str(user_id))  # roles or active changed: no stale actor on any host
    return service.user_out(user, throttle.locked_names(session, state.clock.now()))
