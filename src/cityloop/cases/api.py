"""The cases area as other areas use it: the one module outside `cityloop.cases` imports from.

Everything else in the package (models, domain, schemas, service, intake, actions, queries, photos, …) is the
area's own layout and may change; other areas import from here (`from cityloop.cases.api import Case, Ctx`) or use
it as a namespace (`from cityloop.cases import api as cases_api`, then `cases_api.open_case(...)`).
tests/unit/test_architecture.py holds every module outside the package to that.
"""

from __future__ import annotations

# The workflow as data: stages, nodes, sources, rules and their names, the event MAC.
from cityloop.cases.domain import (
    ACTION_NAMES, CLOSE_TYPES, LATE_STATE_FIELDS, NODE_OF_STAGE, NODES, OPEN_STAGES, REQUEST_KINDS, ROLE_CN, RULES,
    SOURCE_NAMES, STAGES, STATE_FIELDS, TERMINAL, Node, Source, Stage, event_mac, scoped_key, state_digest,
)
# The tables.
from cityloop.cases.models import (
    Case, CaseAssist, CaseEvent, CaseNode, CasePhoto, CaseRequest, CaseSupervision, CaseTask, SavedFilter,
)
# API shapes other areas accept or extend.
from cityloop.cases.schemas import ActionIn, CaseOut, CoordSys, LocalTimes, ReportIn, ReportSource
# Photos: screening uploads, decoding, where the files live.
from cityloop.cases.photos import (
    FORMATS, Photo, decode, decode_slot, photo_path, save, screen, screen_all, write_once,
)
# Following case events in the same transaction (an area's case_hooks.on_case_events receives CaseEvents).
from cityloop.cases.hooks import CaseEvents
# The process's group committer of new reports (AppState.intake).
from cityloop.cases.batcher import GroupCommitter
# The use-case context and the bookkeeping every action uses.
from cityloop.cases.service import Ctx, Handler, current_task, handle_limit, record
# 上报 intake: check and locate a report, write reports in bulk.
from cityloop.cases.intake import Locate, Prepared, ToWgs84, find_by_key, prepare, report, request_hash, write
# The workflow actions.
from cityloop.cases.actions import apply, apply_in_transaction, apply_many, duty_grids_of, load_case
# The read side: visibility, lists, one case, its history, the inbox.
from cityloop.cases.queries import (
    district_scoped, events, get_visible, inbox, list_cases, mask_phone, nodes, openable, timing, to_out, visible,
)
# Cases the platform opens, notes and withdraws by itself.
from cityloop.cases.automation import NewCase, note, open_case, open_cases, withdraw
# The overdue sweep.
from cityloop.cases.tasks import sweep, sweep_once
# Export of a case search.
from cityloop.cases.export import csv_text, workbook

__all__ = [
    # domain
    "ACTION_NAMES", "CLOSE_TYPES", "LATE_STATE_FIELDS", "NODE_OF_STAGE", "NODES", "OPEN_STAGES", "REQUEST_KINDS",
    "ROLE_CN", "RULES", "SOURCE_NAMES", "STAGES", "STATE_FIELDS", "TERMINAL", "Node", "Source", "Stage", "event_mac",
    "scoped_key", "state_digest",
    # models
    "Case", "CaseAssist", "CaseEvent", "CaseNode", "CasePhoto", "CaseRequest", "CaseSupervision", "CaseTask",
    "SavedFilter",
    # schemas
    "ActionIn", "CaseOut", "CoordSys", "LocalTimes", "ReportIn", "ReportSource",
    # photos
    "FORMATS", "Photo", "decode", "decode_slot", "photo_path", "save", "screen", "screen_all", "write_once",
    # hooks, batcher
    "CaseEvents", "GroupCommitter",
    # service
    "Ctx", "Handler", "current_task", "handle_limit", "record",
    # intake
    "Locate", "Prepared", "ToWgs84", "find_by_key", "prepare", "report", "request_hash", "write",
    # actions
    "apply", "apply_in_transaction", "apply_many", "duty_grids_of", "load_case",
    # queries
    "district_scoped", "events", "get_visible", "inbox", "list_cases", "mask_phone", "nodes", "openable", "timing",
    "to_out", "visible",
    # automation
    "NewCase", "note", "open_case", "open_cases", "withdraw",
    # tasks
    "sweep", "sweep_once",
    # export
    "csv_text", "workbook",
]
