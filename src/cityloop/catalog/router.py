"""Catalog endpoints: categories (部件/事项) with filing conditions, and component instances (部件)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from cityloop.audit import service as audit
from cityloop.catalog import service, suggest
from cityloop.catalog.schemas import CategoryOut, ComponentOut, ConditionPatch
from cityloop.config import Settings
from cityloop.deps import ActorDep, AdminDep, ClockDep, SessionDep, SettingsDep, StateDep
from cityloop.shared.errors import Invalid
from cityloop.http.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog 部件事项"])

CODE = r"^[0-9A-Za-z]{1,8}$"
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL


def _standard(settings: Settings, standard: str | None) -> str:
    return standard or settings.catalog_standard


@router.get("/categories", response_model=list[CategoryOut])
def list_categories(settings: SettingsDep, session: SessionDep, _: ActorDep,
                    kind: Literal["component", "matter"] | None = None,
                    major: str | None = Query(None, pattern=r"^[0-9A-Za-z]{1,4}$", description="大类代码，如 06"),
                    q: str | None = Query(None, max_length=50, pattern=NO_NUL, description="名称包含 / name contains"),
                    standard: str | None = Query(None, max_length=32, pattern=NO_NUL,
                                                 description="目录标准，默认为部署配置 / default: the deployment's"),
                    ) -> list[CategoryOut]:
    """部件与事项目录 / Component types and matters; matters with their filing conditions and limits."""
    return service.list_categories(session, _standard(settings, standard), kind, major, q, settings.admin_code)


@router.get("/suggest", response_model=None)
def suggest_categories(settings: SettingsDep, session: SessionDep,
                       text: str = Query(..., description="群众或坐席的口语描述 / a free-text description"),
                       limit: int = Query(5, ge=1, le=20)) -> dict[str, Any]:
    """按描述推荐事项 / Matters ranked for a free-text description, each with a score (0–1) and a reason.
    Public like the report page that calls it: it reveals only the catalog."""
    text = text.strip()
    if not text or len(text) > 500 or "\x00" in text:
        raise Invalid("suggest-text", "描述需为 1–500 个字符", "The text must be 1–500 characters")
    return {"items": suggest.suggest(session, _standard(settings, None), text, limit)}


@router.get("/picker", response_model=None)
def picker_list(settings: SettingsDep, response: Response, session: SessionDep) -> dict[str, Any]:
    """类别选择器数据 / Every active matter with pinyin initials and colloquial words, for the offline picker."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return {"items": suggest.picker(session, _standard(settings, None))}


@router.get("/categories/{code}", response_model=CategoryOut)
def get_category(settings: SettingsDep, session: SessionDep, _: ActorDep, code: str = Path(..., pattern=CODE),
                 kind: Literal["component", "matter"] = "matter",
                 standard: str | None = Query(None, max_length=32, pattern=NO_NUL)) -> CategoryOut:
    """单个事项 / One matter (or component type) with its filing conditions."""
    return service.get_category(session, _standard(settings, standard), code, kind, settings.admin_code)


@router.get("/components", response_model=Page[ComponentOut])
def list_components(pg: Annotated[PageParams, Depends(page_params)], session: SessionDep, _: ActorDep,
                    grid: str | None = Query(None, pattern=r"^[0-9]{1,15}$", description="单元网格代码"),
                    type_code: str | None = Query(None, alias="type", pattern=CODE, description="部件类型代码"),
                    near_lon: float | None = Query(None, ge=-180, le=180, description="WGS84 经度"),
                    near_lat: float | None = Query(None, ge=-90, le=90, description="WGS84 纬度"),
                    radius_m: float = Query(200, gt=0, le=5000, description="搜索半径（米）")
                    ) -> Page[ComponentOut]:
    """部件列表 / Component instances by grid and type, or the nearest first around a point."""
    if (near_lon is None) != (near_lat is None):
        raise Invalid("near-incomplete", "按位置查询需同时给出 near_lon 和 near_lat",
                      "Give both near_lon and near_lat to search around a point")
    near = (near_lon, near_lat) if near_lon is not None and near_lat is not None else None
    items, total = service.list_components(session, grid, type_code, near, radius_m, pg.page, pg.size)
    return Page[ComponentOut](items=items, total=total, page=pg.page, size=pg.size)


@router.get("/components/{component_id}", response_model=ComponentOut)
def get_component(session: SessionDep, _: ActorDep,
                  component_id: str = Path(..., pattern=r"^[0-9]{16,17}$", description="部件标识码"),
                  ) -> ComponentOut:
    """单个部件 / One component instance."""
    return service.get_component(session, component_id)


@router.patch("/categories/{code}/conditions/{condition_code}", response_model=CategoryOut)
def patch_condition(body: ConditionPatch, state: StateDep, settings: SettingsDep, clock: ClockDep,
                    session: SessionDep, actor: AdminDep,
                    code: str = Path(..., pattern=CODE),
                    condition_code: str = Path(..., pattern=r"^[0-9A-Za-z]{1,16}$")) -> CategoryOut:
    """修改立案条件 / Change a filing condition's handling limit, urgency or texts (admin)."""
    audit.record(session, actor, "catalog.condition", f"{code}/{condition_code}", body.model_dump(exclude_unset=True),
                 clock.now())
    out = service.update_condition(session, _standard(settings, None), code, condition_code,
                                   body.model_dump(exclude_unset=True), settings.admin_code)
    state.changes.announce("catalog")  # suggestions and intake's matters, on every host
    return out
