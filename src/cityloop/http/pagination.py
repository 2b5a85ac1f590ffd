"""Offset pagination parameters and the page envelope."""

from __future__ import annotations

from typing import Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

T = TypeVar("T")


class PageParams(BaseModel):
    page: int = 1
    size: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


async def page_params(
    page: int = Query(1, ge=1, le=100_000, description="页码 / page number"),
    size: int = Query(50, ge=1, le=500, description="每页条数 / page size"),
) -> PageParams:
    """FastAPI dependency for ?page=&size=."""
    return PageParams(page=page, size=size)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int
