"""A new 道路遗撒 (spill) report is matched at once to the muck truck that passed, in the report's transaction."""

from __future__ import annotations

from cityloop.config import Settings, get_settings
from cityloop.muck.service import match_spill


def _settings() -> Settings:
    try:
        return get_settings()
    except ValueError:  # an environment the server would refuse: the defaults still match spills
        return Settings.model_construct()


def on_case_events(session, items) -> None:
    """Match each reported spill case; a report no truck passed stays unmatched (the API can retry later)."""
    settings = None
    for case, event in items:
        if event.get("action") != "report":
            continue
        settings = settings or _settings()
        if case.category_code in settings.spill_categories:
            match_spill(session, settings, case, event["at"], event["at"])
