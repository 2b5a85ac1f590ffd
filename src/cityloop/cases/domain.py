"""The case workflow as data (pure): stages, nodes, and which role may take which action in which stage."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any


class Stage(StrEnum):
    """案件阶段; the values are what the database stores and the API shows."""

    REPORTED = "reported"
    VERIFYING = "verifying"
    ACCEPTED = "accepted"
    FILED = "filed"
    DISPATCHED = "dispatched"
    SUSPENDED = "suspended"
    HANDLED = "handled"
    CHECKED = "checked"
    CLOSED = "closed"
    REJECTED = "rejected"
    MERGED = "merged"
    VOID = "void"


class Node(StrEnum):
    """环节: the step whose working-time clock runs."""

    ACCEPT = "accept"
    VERIFY = "verify"
    FILE = "file"
    DISPATCH = "dispatch"
    HANDLE = "handle"
    CHECK = "check"
    CLOSE = "close"
    SEND_CHECK = "send_check"


class Source(StrEnum):
    """Where a report came from (案件来源)."""

    INSPECTOR = "inspector"
    PUBLIC = "public"
    HOTLINE = "hotline"
    VIDEO = "video"
    SENSOR = "sensor"
    FLEET = "fleet"
    ASSIGNED = "assigned"
    OPEN311 = "open311"


STAGES: dict[str, tuple[str, str]] = {  # keyed by Stage; looked up with the stored strings
    Stage.REPORTED: ("待受理", "Reported"),
    Stage.VERIFYING: ("核实中", "Verifying"),
    Stage.ACCEPTED: ("待立案", "Accepted"),
    Stage.FILED: ("待派遣", "Filed"),
    Stage.DISPATCHED: ("处置中", "Dispatched"),
    Stage.SUSPENDED: ("挂账", "Suspended"),
    Stage.HANDLED: ("待核查", "Handled"),
    Stage.CHECKED: ("待结案", "Checked"),
    Stage.CLOSED: ("已结案", "Closed"),
    Stage.REJECTED: ("不予受理/不予立案", "Rejected"),
    Stage.MERGED: ("重复案件", "Merged"),
    Stage.VOID: ("作废", "Void"),
}
TERMINAL = frozenset({Stage.CLOSED, Stage.REJECTED, Stage.MERGED, Stage.VOID})
OPEN_STAGES = frozenset(STAGES) - TERMINAL

# The node (环节) whose clock runs in each stage; 挂账 has none (the handling clock is paused).
NODE_OF_STAGE: dict[str, Node] = {
    Stage.REPORTED: Node.ACCEPT, Stage.VERIFYING: Node.VERIFY, Stage.ACCEPTED: Node.FILE, Stage.FILED: Node.DISPATCH,
    Stage.DISPATCHED: Node.HANDLE, Stage.HANDLED: Node.CHECK, Stage.CHECKED: Node.CLOSE,
}
NODES: dict[str, tuple[str, str]] = {
    Node.ACCEPT: ("受理", "Accept"), Node.VERIFY: ("核实", "Verify"), Node.FILE: ("立案", "File"),
    Node.DISPATCH: ("派遣", "Dispatch"), Node.HANDLE: ("处置", "Handle"), Node.CHECK: ("核查", "Check"),
    Node.CLOSE: ("结案", "Close"), Node.SEND_CHECK: ("发核查", "Send check"),
}
SOURCES = tuple(Source)
SOURCE_NAMES: dict[str, tuple[str, str]] = {
    Source.INSPECTOR: ("监督员上报", "Inspector"), Source.PUBLIC: ("公众举报", "Public"),
    Source.HOTLINE: ("热线", "Hotline"), Source.VIDEO: ("视频发现", "Video"), Source.SENSOR: ("物联感知", "Sensor"),
    Source.FLEET: ("渣土车监管", "Fleet"), Source.ASSIGNED: ("上级交办", "Assigned"),
    Source.OPEN311: ("Open311", "Open311")}
# Reports from these sources are trusted and skip 核实 unless intake decides otherwise (see needs_verification).
TRUSTED_SOURCES = frozenset({Source.INSPECTOR, Source.ASSIGNED, Source.SENSOR, Source.FLEET})
REQUEST_KINDS = ("return", "extension", "suspension", "void")
# 结案类型 (standards.md §5.3, eGova sysConst; 差错结案 is not used: a wrong case is 作废 here).
CLOSE_TYPES = {"normal": ("正常结案", "normal"), "overtime": ("超时结案", "overtime"), "void": ("作废", "void"),
               "special": ("特殊结案", "special")}


def new_public_id() -> str:
    """A case's public id: 80 random bits in lower-case base32 (16 characters), never a case number's shape."""
    return base64.b32encode(secrets.token_bytes(10)).decode().lower()


def scoped_key(scope: str, key: str) -> str:
    """An Idempotency-Key as stored: bound to its caller, so one caller's key never finds another caller's case."""
    return hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()


@dataclass(frozen=True)
class Rule:
    """Who may take an action, from which stages, and where the case goes (None = stays)."""

    stages: frozenset[str]
    roles: tuple[str, ...]
    to: str | None
    scope: str = "any"  # any | department (own cases) | inspector (own duty grid or task)
    name: tuple[str, str] = ("", "")


def _r(stages: Iterable[str], roles: Iterable[str], to: str | None, scope: str = "any",
       name: tuple[str, str] = ("", "")) -> Rule:
    return Rule(frozenset(stages), tuple(roles), to, scope, name)


RULES: dict[str, Rule] = {
    # "system" is the platform itself: sensor alarms and truck violations are accepted, filed and dispatched by it.
    "accept": _r({"reported"}, ["operator", "system"], "accepted", name=("受理", "accept")),
    "reject": _r({"reported"}, ["operator"], "rejected", name=("不予受理", "reject")),
    "merge": _r({"reported"}, ["operator"], "merged", name=("合并重复", "merge")),
    "self_close": _r({"reported"}, ["operator"], "closed", name=("自处理审核结案", "close self-handled")),
    "verify_ok": _r({"verifying"}, ["inspector"], "accepted", "inspector", ("核实属实", "verify: true")),
    "verify_fail": _r({"verifying"}, ["inspector"], "rejected", "inspector", ("核实不属实", "verify: false")),
    "reassign": _r({"verifying", "handled"}, ["operator"], None, name=("改派监督员", "reassign inspector")),
    "file": _r({"accepted"}, ["shift_lead", "system"], "filed", name=("立案", "file")),
    "refuse": _r({"accepted"}, ["shift_lead"], "rejected", name=("不予立案", "refuse")),
    "dispatch": _r({"filed"}, ["dispatcher", "system"], "dispatched", name=("派遣", "dispatch")),
    "handle": _r({"dispatched"}, ["department"], "handled", "department", ("处置反馈", "handle")),
    "request_return": _r({"dispatched"}, ["department"], None, "department", ("申请回退", "request return")),
    "request_extension": _r({"dispatched"}, ["department"], None, "department", ("申请延期", "request extension")),
    "request_suspension": _r({"dispatched"}, ["department"], None, "department", ("申请挂账", "request suspension")),
    "approve": _r({"dispatched"}, ["dispatcher"], None, name=("批准申请", "approve request")),
    "deny": _r({"dispatched"}, ["dispatcher"], None, name=("驳回申请", "deny request")),
    "resume": _r({"suspended"}, ["dispatcher"], "dispatched", name=("挂账恢复", "resume")),
    "check_ok": _r({"handled"}, ["inspector"], "checked", "inspector", ("核查通过", "check: passed")),
    "check_fail": _r({"handled"}, ["inspector"], "dispatched", "inspector", ("核查不通过(返工)", "check: rework")),
    "close": _r({"checked"}, ["shift_lead"], "closed", name=("结案", "close")),
    "void": _r(OPEN_STAGES, ["shift_lead", "system"], "void", name=("作废", "void")),
    "request_void": _r(OPEN_STAGES, ["operator", "dispatcher"], None, name=("申请作废", "request void")),
    "deny_void": _r(OPEN_STAGES, ["shift_lead"], None, name=("驳回作废申请", "deny void request")),
    # 回退 to the previous node (not a department's 回退 above): 派遣 → 立案, 立案 → 受理, with a reason.
    "send_back_to_lead": _r({"filed"}, ["dispatcher"], "accepted", name=("回退至值班长", "send back to shift lead")),
    "send_back_to_operator": _r({"accepted"}, ["shift_lead"], "reported",
                                name=("回退至受理员", "send back to operator")),
    "send_check": _r({"handled"}, ["operator"], None, name=("派发核查", "send check task")),
    "assist_report": _r({"dispatched"}, ["department"], None, "assist", ("协办反馈", "helper report")),
    "supervise": _r(OPEN_STAGES, ["leader", "shift_lead", "system"], None, name=("督办", "supervise")),
    # City mode (两级指挥): the city center hands a case down to its district center (下派); a district center
    # hands one of its cases up to the city (上报/申请上级协调). Neither moves the stage.
    "hand_down": _r({"reported", "accepted", "filed"}, ["shift_lead", "dispatcher"], None, "city",
                    ("下派区县", "hand down to district")),
    "escalate": _r({"reported", "accepted", "filed", "dispatched"}, ["operator", "shift_lead", "dispatcher"], None,
                   "district", ("上报市级协调", "escalate to city")),
    "supervise_reply": _r(STAGES, ["department"], None, "supervised", ("督办回复", "reply to supervision")),
    "supervise_close": _r(STAGES, ["leader", "shift_lead"], None, name=("督查通过", "supervision checked")),
    "supervise_return": _r(STAGES, ["leader", "shift_lead"], None, name=("督查退回", "supervision returned")),
    # A note on the record (an alarm cleared, a call made, evidence added); never moves the case.
    "annotate": _r(STAGES, ["operator", "shift_lead", "dispatcher", "leader", "system"], None,
                   name=("备注", "annotate")),
    # The reporter's satisfaction (满意/基本满意/不满意), once, after closing; recorded by the system for the public.
    "rate": _r({"closed"}, ["system"], None, name=("满意度评价", "rate")),
}
# Every action of the event log by name (the screen's feed, histories): the rules' own names and the system's.
ACTION_NAMES: dict[str, tuple[str, str]] = {"report": ("上报", "report"), "auto_supervise": ("超时督办", "overdue"),
                                            "supervise_overdue": ("督办单超期未回复", "supervision unanswered"),
                                            **{key: rule.name for key, rule in RULES.items()}}
ROLE_CN = {"operator": "受理员", "inspector": "监督员", "shift_lead": "值班长", "dispatcher": "派遣员",
           "department": "专业部门", "leader": "领导", "admin": "管理员", "system": "系统"}


@dataclass(frozen=True)
class CaseState:
    """What the rules need to know about a case."""

    stage: str
    source: str
    self_handled: bool = False
    needs_verification: bool = False
    department_id: int | None = None
    duty_grid_code: str | None = None
    pending_request: str | None = None
    task_assignee_id: int | None = None
    handling_district: str | None = None  # city mode: the district center handling it; None = the city center
    district_center: bool = False  # city mode: its district has a center it could be handed down to (下派)
    void_direct: bool = False  # deployment option CITYLOOP_VOID_DIRECT: the shift lead voids without a request
    check_sent: bool = True  # 核查 task sent (CITYLOOP_CHECK_DISPATCH=operator: only after send_check)
    assist_departments: frozenset[int] = frozenset()  # 协办 departments with an open task
    supervised_departments: frozenset[int] = frozenset()  # departments with an unanswered 督办单
    supervision_replied: bool = False  # a 督办单 reply waits for 督查


@dataclass(frozen=True)
class ActorState:
    """What the rules need to know about the actor."""

    id: int | None
    roles: frozenset[str]
    department_id: int | None = None
    duty_grids: frozenset[str] = field(default_factory=frozenset)
    district_code: str | None = None  # city mode: a district center's staff; None = the city center


class WorkflowError(Exception):
    """An action that the stage or the role does not allow; status 409 (stage) or 403 (role/scope)."""

    def __init__(self, status: int, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.status, self.code, self.zh, self.en = status, code, zh, en


@cache  # rules are frozen: the same words every time
def _needs(rule: Rule) -> tuple[str, str]:
    stages_zh = "、".join(STAGES[s][0] for s in sorted(rule.stages))
    stages_en = ", ".join(sorted(rule.stages))
    people = [r for r in rule.roles if r != "system"] or ["system"]
    roles_zh = "或".join(ROLE_CN[r] for r in people)
    return f"需要阶段「{stages_zh}」和角色「{roles_zh}」", f"needs stage {stages_en} and role {'/'.join(people)}"


def decide(case: CaseState, action: str, actor: ActorState) -> str | None:
    """The stage the case moves to (None = stays) or WorkflowError explaining what the action needs."""
    rule = RULES.get(action)
    if rule is None:
        raise WorkflowError(404, "unknown-action", f"未知操作：{action}", f"Unknown action: {action}")
    need_zh, need_en = _needs(rule)
    if case.stage not in rule.stages:
        raise WorkflowError(409, "wrong-stage", f"操作「{rule.name[0]}」{need_zh}，当前阶段为「{STAGES[case.stage][0]}」",
                            f"Action {action} {need_en}; the case is {case.stage}")
    is_admin = "admin" in actor.roles and rule.roles != ("system",)  # admins act for people, not the platform
    if not is_admin and not actor.roles.intersection(rule.roles):
        raise WorkflowError(403, "wrong-role", f"操作「{rule.name[0]}」{need_zh}", f"Action {action} {need_en}")
    if not is_admin:
        _check_scope(rule, case, actor, action)
    if action == "void" and "system" not in actor.roles and not case.void_direct and case.pending_request != "void":
        raise WorkflowError(409, "void-not-requested", "作废需先由受理员或派遣员申请（request_void），值班长审批",
                            "Voiding needs a request_void first; the shift lead then approves it")
    return _target(case, action, rule)


def _check_scope(rule: Rule, case: CaseState, actor: ActorState, action: str) -> None:
    _check_level(rule, case, actor, action)
    if rule.scope == "department" and (actor.department_id is None or actor.department_id != case.department_id):
        raise WorkflowError(403, "not-your-case", "该案件未派遣给您的部门", f"{action}: the case is not dispatched to your department")
    if rule.scope == "inspector":
        mine = case.task_assignee_id == actor.id or (
            case.task_assignee_id is None and case.duty_grid_code in actor.duty_grids)
        if not mine:
            raise WorkflowError(403, "not-your-task", "该任务不属于您的责任网格", f"{action}: the task is not yours")
    if rule.scope == "assist" and actor.department_id not in case.assist_departments:
        raise WorkflowError(403, "not-your-assist", "您的部门没有该案件待完成的协办任务", f"{action}: no open helper task of yours")
    if rule.scope == "supervised" and actor.department_id not in case.supervised_departments:
        raise WorkflowError(403, "not-supervised", "您的部门没有该案件待回复的督办单", f"{action}: no open supervision of yours")


def _check_level(rule: Rule, case: CaseState, actor: ActorState, action: str) -> None:
    """两级指挥: district center staff act only on their district's cases; 下派 is the city center's alone."""
    if rule.scope == "city" and actor.district_code is not None:
        raise WorkflowError(403, "city-center-only", "只有市级中心可以下派", f"{action}: only the city center may do this")
    if rule.scope == "city" and case.handling_district is not None:
        raise WorkflowError(409, "already-district", "该案件已由区县分中心办理", f"{action}: a district center handles the case")
    if rule.scope == "district" and actor.district_code is None:
        raise WorkflowError(403, "district-center-only", "只有区县分中心可以上报市级协调",
                            f"{action}: only a district center may do this")
    if rule.scope in ("any", "district") and actor.district_code is not None \
            and case.handling_district != actor.district_code:
        raise WorkflowError(403, "not-your-district", "该案件不属于您所在的区县分中心",
                            f"{action}: the case is not your district center's")


def _target(case: CaseState, action: str, rule: Rule) -> str | None:
    if action == "accept" and case.needs_verification:
        return "verifying"
    if action == "self_close" and not case.self_handled:
        raise WorkflowError(409, "not-self-handled", "只有自行处置案件可以审核结案", "Only self-handled reports can be closed this way")
    if action == "handle" and case.pending_request:
        raise WorkflowError(409, "request-pending", "有待审批的申请，审批后才能处置反馈", "A request is pending approval")
    if action.startswith("request_") and case.pending_request:
        raise WorkflowError(409, "request-pending", "已有待审批的申请", "A request is already pending")
    if action in ("approve", "deny") and not case.pending_request:
        raise WorkflowError(409, "no-request", "没有待审批的申请", "There is no pending request")
    if action == "hand_down" and not case.district_center:
        raise WorkflowError(409, "no-district-center", "该区县没有分中心，无法下派", "The case's district has no center")
    if action == "escalate" and case.handling_district is None:
        raise WorkflowError(409, "not-district-case", "该案件已由市级中心办理", "The city center already handles the case")
    if action in ("approve", "deny") and case.pending_request == "void":
        raise WorkflowError(409, "void-request", "作废申请由值班长审批（void / deny_void）", "A void request is decided by the shift lead")
    if action == "deny_void" and case.pending_request != "void":
        raise WorkflowError(409, "no-void-request", "没有待审批的作废申请", "There is no pending void request")
    if action in ("check_ok", "check_fail", "reassign") and not case.check_sent:
        raise WorkflowError(409, "check-not-sent", "核查任务尚未派发（send_check）", "The check task has not been sent yet")
    if action == "send_check" and case.check_sent:
        raise WorkflowError(409, "check-already-sent", "核查任务已派发", "The check task was already sent")
    if action == "supervise_reply" and not case.supervised_departments:
        raise WorkflowError(409, "no-supervision", "没有待回复的督办单", "No supervision order waits for a reply")
    if action == "assist_report" and not case.assist_departments:
        raise WorkflowError(409, "no-assist", "没有待完成的协办任务", "No helper task is open")
    if action in ("supervise_close", "supervise_return") and not case.supervision_replied:
        raise WorkflowError(409, "no-reply", "没有待督查的督办回复", "No supervision reply waits for checking")
    if action == "approve":
        return {"return": "filed", "suspension": "suspended"}.get(case.pending_request or "")
    return rule.to


def available_actions(case: CaseState, actor: ActorState) -> list[str]:
    """Actions this actor may take on this case now."""
    out = []
    for action, rule in RULES.items():
        if case.stage not in rule.stages:  # decide's first refusal (wrong stage), without building its error
            continue
        try:
            decide(case, action, actor)
        except WorkflowError:
            continue
        out.append(action)
    return out


def _event_doc(prev_hash: str, number: str, seq: int, action: str, actor_id: int | None, actor_name: str,
               actor_role: str, at: datetime, from_stage: str | None, to_stage: str,
               payload: dict[str, Any]) -> dict[str, Any]:
    return {"case": number, "seq": seq, "action": action, "actor_id": actor_id, "actor": actor_name,
            "role": actor_role, "at": at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
            "from": from_stage, "to": to_stage, "payload": payload, "prev": prev_hash}


def _canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def event_hash(prev_hash: str, number: str, seq: int, action: str, actor_id: int | None, actor_name: str,
               actor_role: str, at: datetime, from_stage: str | None, to_stage: str, payload: dict[str, Any]) -> str:
    """The unkeyed SHA-256 event chain of revision 0007 (kept for that migration; events now carry event_mac)."""
    return hashlib.sha256(_canonical(_event_doc(prev_hash, number, seq, action, actor_id, actor_name, actor_role,
                                                at, from_stage, to_stage, payload))).hexdigest()


# The case row's columns its events vouch for: each event records a digest of them as they stand after it, so a
# row edited outside the workflow no longer matches its newest event (updated_at and the idempotency bookkeeping
# are left out; the number is in every event's MAC and event_hash is checked against the newest event directly).
STATE_FIELDS = (
    "stage", "source", "category_id", "category_code", "filing_condition_id", "urgent", "component_id",
    "description", "address", "lon", "lat", "grid_code", "duty_grid_code", "community_code", "street_code",
    "district_code", "department_id", "last_department_id", "suggested_department_id", "routing_reason",
    "needs_ownership", "reporter_id", "reporter_name", "reporter_phone", "self_handled", "needs_verification",
    "required_due_at", "merged_into_id", "pending_request", "node", "node_started_at", "node_due_at",
    "node_urgent", "overdue", "paused_at", "rework_count", "return_count", "extension_count", "suspension_count",
    "wrong_dispatch_count", "supervise_count", "event_count", "created_at", "closed_at",
)
# Columns added later (send_back_count, close_type): in the digest only once set, so older events still verify.
LATE_STATE_FIELDS = ("send_back_count", "close_type")


def close_type(handled_late: bool, special: bool) -> str:
    """结案类型 of a closing: 特殊结案 when the shift lead says so, 超时结案 when handling ran late, else 正常结案."""
    if special:
        return "special"
    return "overtime" if handled_late else "normal"


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICRO = timedelta(microseconds=1)


def state_digest(values: Mapping[Any, Any]) -> str:
    """SHA-256 of a case row's covered columns (STATE_FIELDS, in that order; on the write path of every event)."""
    plain = [(values[f] - _EPOCH) // _MICRO if isinstance(values[f], datetime) else values[f] for f in STATE_FIELDS]
    plain += [[f, values[f]] for f in LATE_STATE_FIELDS if values.get(f)]
    # Floats are encoded by float.__repr__ (the exact double), numpy's and the drivers' float types alike.
    return hashlib.sha256(json.dumps(plain, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def event_mac(key: bytes, prev_hash: str, number: str, seq: int, action: str, actor_id: int | None,
              actor_name: str, actor_role: str, at: datetime, from_stage: str | None, to_stage: str,
              payload: dict[str, Any], state: str) -> str:
    """HMAC-SHA256 of an event, the case's previous event MAC and the case's state after it: without the key
    nobody can rewrite, insert or re-chain an event, nor make an edited case row match its history."""
    doc = _event_doc(prev_hash, number, seq, action, actor_id, actor_name, actor_role, at, from_stage, to_stage,
                     payload)
    doc["state"] = state
    return hmac.new(key, _canonical(doc), hashlib.sha256).hexdigest()
