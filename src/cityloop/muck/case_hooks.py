"""A new 道路遗撒 (spill) report is matched at once to the muck truck that passed, in the report's transaction."""

from __future__ import annotations

from typing import Any

from cityloop.cases.api import Case
from cityloop.muck.service import match_spill
from cityloop.config import Settings
from sqlalchemy.orm import Session


def on_case_events(session: Session, settings: Settings, items: list[tuple[Case, dict[str, Any]]]) -> None:
    """Match each reported spill case; a report no truck passed stays unmatched (the API can retry later)."""
    for case, event in items:
        if event.get("action") != "report":
            continue
        if case.category_code in settings.spill_categories:
            match_spill(session, settings, case, event["at"], event["at"])
