"""Roads (lines with house-number ranges) and door-plate addresses; POIs, communities and towns stay in the
channels' gazetteer_entries table, which the hotline and Open311 already use."""

from __future__ import annotations

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.db import Base


class PlaceRoad(Base):
    """A named road (or one stretch of it) as a WGS84 GeoJSON line with its house-number ranges."""

    __tablename__ = "place_roads"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    town: Mapped[str | None] = mapped_column(String(100))  # the town or community it is known in, if given
    geometry: Mapped[str] = mapped_column(Text)  # LineString | MultiLineString
    # House numbers along the line's direction: left side from→to, right side from→to (one parity per side).
    left_from: Mapped[int | None] = mapped_column(Integer)
    left_to: Mapped[int | None] = mapped_column(Integer)
    right_from: Mapped[int | None] = mapped_column(Integer)
    right_to: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32), index=True)


class PlaceAddress(Base):
    """A door plate (门牌): a road name, a number and a WGS84 point."""

    __tablename__ = "place_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    road: Mapped[str] = mapped_column(String(100), index=True)
    number: Mapped[int] = mapped_column(Integer)
    town: Mapped[str | None] = mapped_column(String(100))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(32), index=True)
