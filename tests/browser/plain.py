"""The plain-Chinese check for any page: no internal code, raw id or empty value in the visible text, no percentage
above 100, and no console or script error. Use `watch(page)` right after opening a page, then `check(page)`."""

from __future__ import annotations

import re

from cityloop.cases.domain import CLOSE_TYPES, NODES, SOURCES, STAGES
from cityloop.org.domain import ROLES

# Identifiers the code uses for stages, roles, sources, nodes and close types: a Chinese page never shows them.
WORDS = sorted({*STAGES, *ROLES, *SOURCES, *NODES, *CLOSE_TYPES, "system", "rate", "shift_lead"} - {"open311"})
CODE = re.compile(r"(?<![\w/.:{-])(" + "|".join(map(re.escape, WORDS)) + r")(?![\w/.-])")
SNAKE = re.compile(r"(?<![\w/.:{-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w/.-])")  # temp_c, department_code, off_route
EMPTY = re.compile(r"(?<![\w.])(None|undefined|NaN|null|Invalid Date|\[object Object\])(?![\w])")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
PUBLIC_ID = re.compile(r"(?<![\w/])(?=[a-z2-7]*\d)(?=[a-z2-7]*[a-z])[a-z2-7]{16}(?![\w])")  # a case's 16-char public id
PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def watch(page) -> list[str]:
    """Start collecting console errors and uncaught script errors of a page (kept on page.errors)."""
    page.errors = []
    page.on("console", lambda m: page.errors.append(f"console: {m.text} {m.location.get('url', '')}".strip())
            if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(f"script: {e}"))
    return page.errors


def problems(text: str, codes: frozenset[str] | set[str] = frozenset(), words: bool = True) -> list[str]:
    """What is wrong with a page's visible text (empty when it reads as plain Chinese). `words=False` for pages
    that manage codes (the admin's tables of departments and users show codes and login names by design)."""
    found = [f"code {m}" for m in CODE.findall(text)] if words else []
    found += [f"key {m}" for m in SNAKE.findall(text)]
    found += [f"empty value {m}" for m in EMPTY.findall(text)]
    found += [f"raw id {m}" for m in UUID.findall(text) + PUBLIC_ID.findall(text)]
    found += [f"percentage {m}%" for m in PERCENT.findall(text) if float(m) > 100]
    if codes:  # raw department or other codes the caller knows (zjj, d01 …)
        pattern = re.compile(r"(?<![\w/.:#-])(" + "|".join(map(re.escape, sorted(codes))) + r")(?![\w/.-])")
        found += [f"raw code {m}" for m in pattern.findall(text)]
    return sorted(set(found))


# The visible text, leaving out what is deliberately literal (data-literal: login names on the demo's home page).
TEXT = """(sel) => {
  const skip = [...document.querySelectorAll("[data-literal]")].filter((e) => e.style.display !== "none");
  skip.forEach((e) => { e.dataset.was = e.style.display; e.style.display = "none"; });
  const text = document.querySelector(sel).innerText;
  skip.forEach((e) => { e.style.display = e.dataset.was; delete e.dataset.was; });
  return text;
}"""


def text(page, selector: str = "body") -> str:
    """What a person sees of the page (the inner text), without data-literal parts."""
    return page.evaluate(TEXT, selector)


def check(page, codes: frozenset[str] | set[str] = frozenset(), selector: str = "body", where: str = "") -> str:
    """Fail when the visible text of the page shows an internal code, or the console logged an error."""
    page.wait_for_load_state("networkidle")
    seen = text(page, selector)
    wrong = problems(seen, codes)
    assert not wrong, f"{where or page.url}: {wrong}"
    errors = getattr(page, "errors", [])
    assert not errors, f"{where or page.url}: {errors}"
    return seen
