"""Business areas are the subpackages of cityloop; each may bring models, a router, pages, a CLI and server tasks,
plus a `templates/` folder (found by the one Jinja environment) and a `static/` folder (served at /static/<area>/).

The app, the CLI and Alembic find them here, so adding an area edits no central list."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from functools import cache
from pathlib import Path
from types import ModuleType

import cityloop

# Routers are mounted in this order first (the web pages' catch-all paths come last); others follow by name.
# Every request is matched against the routes in mounting order (a few microseconds each, ~300 routes), so the
# busiest paths come first: reports through the core API, then through Open311 (an area whose routes all lie under
# /open311/v2/, so it shadows no other area's).
FIRST = ("org", "cases", "open311", "catalog", "geo", "routing", "sla")
LAST = ("web",)
NOT_AREAS = ("shared", "demo", "db", "http")  # plumbing packages, not business areas


@cache
def names() -> tuple[str, ...]:
    """Area package names in mounting order."""
    found = [m.name for m in pkgutil.iter_modules(cityloop.__path__) if m.ispkg and m.name not in NOT_AREAS]
    middle = sorted(n for n in found if n not in FIRST and n not in LAST)
    return tuple(n for n in FIRST if n in found) + tuple(middle) + tuple(n for n in LAST if n in found)


def modules(kind: str, exclude: tuple[str, ...] | list[str] = ()) -> list[ModuleType]:
    """The `cityloop.<area>.<kind>` modules that exist, e.g. modules("router"), except excluded areas."""
    out = []
    for area in names():
        if area in exclude:
            continue
        name = f"cityloop.{area}.{kind}"
        if importlib.util.find_spec(name) is not None:
            out.append(importlib.import_module(name))
    return out


@cache
def folders(name: str) -> dict[str, Path]:
    """Each area's `<name>/` folder that exists ("templates", "static"), by area name, in mounting order."""
    root = Path(cityloop.__file__).resolve().parent
    return {area: root / area / name for area in names() if (root / area / name).is_dir()}
