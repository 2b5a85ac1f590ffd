"""Each truck violation kind is filed under the matter docs/fleet.md documents for it (not all under 08011)."""

from __future__ import annotations

import re
from pathlib import Path

from cityloop.config import Settings
from cityloop.fleet.domain import KINDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "fleet.md"


def documented() -> dict[str, str]:
    """kind → "code[/condition]" (or "") from the table between the fleet-matters markers."""
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("<!-- fleet-matters -->"):text.index("<!-- /fleet-matters -->")]
    out = {}
    for line in table.splitlines()[3:]:
        kind, matter = (cell.strip() for cell in line.strip("|").split("|")[:2])
        code = re.match(r"(\d{5}(?:/\d{2})?)", matter)
        out[kind.split()[0]] = code.group(1) if code else ""
    return out


def test_every_kind_maps_to_its_documented_matter():
    table = documented()
    assert set(table) == set(KINDS)
    assert Settings.model_fields["fleet_matters"].default_factory() == table
    assert table["unsealed"] == "08011/01"
    assert sum(v.startswith("08011") for v in table.values()) == 1  # only the unsealed body is 未安装密闭装置


def test_every_documented_matter_is_in_the_catalog():
    catalog = (Path(__file__).resolve().parents[2] / "src/cityloop/catalog/data/gbt47678_5_2026_components_matters.csv")
    matters = {line.split(",")[3] for line in catalog.read_text(encoding="utf-8").splitlines() if line.startswith("matter,")}
    assert {v.split("/")[0] for v in documented().values() if v} <= matters
