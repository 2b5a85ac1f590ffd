"""Shapes of the geocoding answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Kind = Literal["address", "intersection", "road", "poi", "community", "town"]


class GeocodeOut(BaseModel):
    id: int | None = None  # a gazetteer entry's id (an Open311 address_id); none for roads, door plates, crossings
    name: str
    kind: Kind
    address: str | None = None  # the town or community it is known in
    lon: float
    lat: float
    score: int  # 0–100
    approximate: bool = False  # a house number placed along the road's number range, no door plate
    grid_code: str | None = None


class ReverseOut(BaseModel):
    name: str  # "永阳路 88号附近"
    kind: Literal["address", "road", "poi"]
    road: str | None
    number: int | None
    lon: float  # the place found (door plate, nearest point of the road, POI)
    lat: float
    distance_m: float
    grid_code: str | None = None
