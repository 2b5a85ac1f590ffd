"""The shape of the code: the core never imports the web framework, no import circles, layers point down."""

from __future__ import annotations

import ast
import graphlib
import importlib.util
import re
from functools import cache
from pathlib import Path

import grimp
import pytest

# The HTTP and CLI edge: routers, pages and their request plumbing, the app shell. Everything else is the core.
EDGE = re.compile(r"^cityloop\.(app|deps|cli|areas|http(\..+)?|web(\..+)?|\w+\.(router(_\w+)?|pages(_\w+)?|http|cli))$")
FRAMEWORKS = ("fastapi", "starlette", "uvicorn", "sse_starlette")
# Bottom layers and what each may import from the project.
LAYERS = {
    "cityloop.config": (),
    "cityloop.shared": ("cityloop.config",),
    "cityloop.db": ("cityloop.config", "cityloop.shared", "cityloop.areas"),  # areas: the model registry
    "cityloop.state": ("cityloop.config", "cityloop.shared"),  # the areas' types only for type checking
}


@cache
def graph() -> grimp.ImportGraph:
    """The project's import graph, with the frameworks as external packages (imports for type checking only
    are left out: they never run)."""
    return grimp.build_graph("cityloop", include_external_packages=True, exclude_type_checking_imports=True)


def project_modules() -> list[str]:
    """Every module of the project."""
    return sorted(m for m in graph().modules if m == "cityloop" or m.startswith("cityloop."))


def imports(module: str) -> set[str]:
    """What `module` imports directly (function-level imports included)."""
    return set(graph().find_modules_directly_imported_by(module))


def test_the_core_does_not_import_the_web_framework_or_the_edge() -> None:
    wrong = sorted((m, i) for m in project_modules() if not EDGE.match(m) for i in imports(m)
                   if i.split(".")[0] in FRAMEWORKS or EDGE.match(i) and i != "cityloop.areas")
    assert wrong == [], "core modules importing the web framework or the HTTP/CLI edge"


def test_there_is_no_import_circle() -> None:
    deps = {m: {i for i in imports(m) if i.startswith("cityloop.")} for m in project_modules()}
    try:
        graphlib.TopologicalSorter(deps).prepare()
    except graphlib.CycleError as exc:
        pytest.fail("import circle: " + " → ".join(exc.args[1]))


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_bottom_layers_import_only_what_is_below_them(layer: str) -> None:
    allowed = (layer, *LAYERS[layer])
    inside = [m for m in project_modules() if m == layer or m.startswith(layer + ".")]
    wrong = sorted((m, i) for m in inside for i in imports(m)
                   if i.startswith("cityloop.") and not any(i == a or i.startswith(a + ".") for a in allowed))
    assert wrong == []


@pytest.mark.parametrize(("module", "expected"), [
    ("cityloop.cases.router", True), ("cityloop.public.pages_console", True), ("cityloop.channels.http", True),
    ("cityloop.web.menu", True), ("cityloop.http.problems", True), ("cityloop.geo.cli", True),
    ("cityloop.cases.service", False), ("cityloop.cases.routing", False), ("cityloop.shared.errors", False),
    ("cityloop.org.actor", False), ("cityloop.sensors.tasks", False),
])
def test_the_edge_pattern_names_the_right_modules(module: str, expected: bool) -> None:
    assert bool(EDGE.match(module)) is expected


def test_routers_and_pages_never_commit() -> None:
    """One place commits per use case: the service, never the HTTP edge."""
    wrong = []
    for module in project_modules():
        if not re.search(r"\.(router(_\w+)?|pages(_\w+)?|web\.\w+)$", module):
            continue
        path = graph_file(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit":
                wrong.append(f"{module}:{node.lineno}")
    assert wrong == []


def graph_file(module: str) -> Path:
    """The source file of a project module."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin)


def test_other_areas_use_the_cases_area_through_its_api() -> None:
    """Outside cityloop.cases, the cases area is imported from cityloop.cases.api alone: its one public module."""
    wrong = sorted((m, i) for m in project_modules()
                   if m != "cityloop.cases" and not m.startswith("cityloop.cases.")
                   for i in imports(m) if i.startswith("cityloop.cases.") and i != "cityloop.cases.api")
    assert wrong == [], "modules importing the cases area's internals instead of cityloop.cases.api"
