"""Discovery, the service list (service_code = matter code, group = major class) and service definitions (the matter's
filing conditions as a single-value list, its closing condition as information)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.catalog.cache import Matter
from cityloop.catalog.models import Category
from cityloop.config import Settings
from cityloop.open311.formats import Open311Error

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-25T00:00:00Z"  # bump when the shape of services or definitions changes
T = TypeVar("T")


def discovery(settings: Settings, base: str) -> dict[str, Any]:
    """The Service Discovery document."""
    return {
        "changeset": CHANGESET,
        "contact": settings.open311_contact,
        "key_service": "向监督指挥中心申请 API key（cityloop channels keys add open311 NAME）",
        "endpoints": [{"specification": SPECIFICATION, "url": f"{base}/open311/v2", "changeset": CHANGESET,
                       "type": "test" if settings.demo else "production",
                       "formats": ["text/xml", "application/json"]}],
    }


def matters(session: Session, standard: str, code: str | None = None) -> list[Category]:
    """Active matters of the deployment's catalog (one code, or all), in code order."""
    stmt = select(Category).where(Category.standard == standard, Category.kind == "matter",
                                  Category.active.is_(True)).order_by(Category.code)
    return list(session.scalars(stmt.where(Category.code == code) if code is not None else stmt))


def _checked(code: str | None, found: T | None) -> T:
    if not code:
        raise Open311Error(400, "service_code was not provided")
    if found is None:
        raise Open311Error(404, f"service_code '{code[:20]}' was not found")
    return found


def matter_or_404(session: Session, standard: str, code: str | None) -> Category:
    """The matter a service_code names, with its conditions: 400 when missing, 404 when unknown."""
    found = matters(session, standard, code) if code and len(code) <= 8 else []
    return _checked(code, found[0] if found else None)


def cached_matter_or_404(find: Callable[[str], Matter | None], code: str | None) -> Matter:
    """matter_or_404 from the process's matter cache (catalog/cache.py): what a new request needs, no query."""
    return _checked(code, find(code) if code and len(code) <= 8 else None)


def service(cat: Category) -> dict[str, Any]:
    """One entry of the service list."""
    keywords = ",".join(k for k in (cat.major_name, cat.name, cat.name_en) if k)
    return {"service_code": cat.code, "service_name": cat.name,
            "description": cat.closing_condition or f"{cat.major_name} · {cat.name}",
            "metadata": bool(cat.conditions), "type": "realtime", "keywords": keywords, "group": cat.major_name}


def definition(cat: Category) -> dict[str, Any]:
    """The service definition: which filing condition applies (optional), and what counts as done."""
    attributes: list[dict[str, Any]] = []
    if cat.conditions:
        attributes.append({
            "variable": True, "code": "condition", "datatype": "singlevaluelist", "required": False,
            "datatype_description": "立案条件 / filing condition", "order": 1,
            "description": "问题属于哪种情形？ / Which of these describes the problem?",
            "values": [{"key": c.code, "name": c.description} for c in cat.conditions]})
        closing = "；".join(f"{c.description}：{c.closing_condition}" for c in cat.conditions if c.closing_condition)
        if closing:
            attributes.append({"variable": False, "code": "closing_condition", "datatype": "text", "required": False,
                               "datatype_description": "结案条件 / when the case is closed", "order": 2,
                               "description": closing})
    return {"service_code": cat.code, "attributes": attributes}
