"""Notification rules without a database: event kinds, template variables, quiet hours, retries, robot signing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import quote_plus

CHANNELS: dict[str, tuple[str, str]] = {
    "inbox": ("站内消息", "In-app inbox"), "sms": ("短信", "SMS"), "wecom": ("企业微信群机器人", "WeCom group robot"),
    "dingtalk": ("钉钉群机器人", "DingTalk group robot"), "email": ("电子邮件", "E-mail"),
    "webhook": ("通用 Webhook", "Plain webhook"),
}
ROBOTS = frozenset({"wecom", "dingtalk", "webhook"})  # group robots: one message per robot, addressed by its webhook URL
STATUSES = ("pending", "sending", "sent", "parked")

_CASE = ("case_number", "category", "address", "department", "stage", "node", "due_at", "note", "actor")
# Event kind → (zh name, en name, variables a template may use, urgent: sent even in quiet hours).
KINDS: dict[str, tuple[str, str, tuple[str, ...], bool]] = {
    "dispatched": ("派遣给本单位", "Dispatched to you", _CASE, False),
    "rework": ("核查不通过返工", "Returned for rework", _CASE, False),
    "supervised": ("督办", "Supervised", _CASE, True),
    "near_due": ("即将超时（已用 80%）", "Near due (80 % used)", _CASE, False),
    "overdue": ("已超时", "Overdue", _CASE, True),
    "request_approved": ("申请已批准", "Request approved", (*_CASE, "request"), False),
    "request_denied": ("申请被驳回", "Request denied", (*_CASE, "request"), False),
    "alarm_raised": ("监测告警", "Sensor alarm raised", ("subject", "text", "device", "level", "department"), True),
    "permit_decided": ("核准申请已审批", "Permit decided", ("permit", "company", "decision", "note"), False),
    "appeal_decided": ("申诉已处理", "Appeal decided", ("appeal", "company", "decision", "note"), False),
}

DEFAULT_TEMPLATES: dict[str, tuple[str, str]] = {  # kind → (title, body)
    "dispatched": ("新派遣案件 ${case_number}", "案件${case_number}已派遣至${department}：${category}，${address}，"
                   "请于${due_at}前处置。"),
    "rework": ("案件 ${case_number} 需返工", "案件${case_number}核查不通过，请返工处置：${note}"),
    "supervised": ("案件 ${case_number} 被督办", "案件${case_number}（${category}，${address}）被督办：${note}"),
    "near_due": ("案件 ${case_number} 即将超时", "案件${case_number}${node}环节已用时80%，将于${due_at}超时。"),
    "overdue": ("案件 ${case_number} 已超时", "案件${case_number}${node}环节已超过期限${due_at}，请尽快处置。"),
    "request_approved": ("申请已批准 ${case_number}", "案件${case_number}的${request}申请已批准。${note}"),
    "request_denied": ("申请被驳回 ${case_number}", "案件${case_number}的${request}申请被驳回：${note}"),
    "alarm_raised": ("${subject}", "${text}"),
    "permit_decided": ("核准申请 ${permit} 已审批", "${company}的核准申请${permit}审批结果：${decision}。${note}"),
    "appeal_decided": ("申诉 ${appeal} 已处理", "${company}的申诉${appeal}处理结果：${decision}。${note}"),
}


class TemplateError(ValueError):
    """A template that names a variable its event kind does not have, or is malformed."""

    def __init__(self, zh: str, en: str, unknown: list[str] | None = None) -> None:
        super().__init__(en)
        self.zh, self.en, self.unknown = zh, en, unknown or []


def variables(text: str) -> list[str]:
    """The ${var} names a template uses; TemplateError when a $ is malformed."""
    tpl = string.Template(text)
    if not tpl.is_valid():
        raise TemplateError("模板格式错误：$ 后应为 ${变量名}", "Malformed template: use ${name} after $")
    return tpl.get_identifiers()


def validate_template(kind: str, *texts: str) -> None:
    """Refuse a template of an unknown kind or naming a variable the kind does not provide."""
    if kind not in KINDS:
        raise TemplateError(f"未知的事件类型：{kind}", f"Unknown event kind: {kind}")
    allowed = set(KINDS[kind][2])
    unknown = sorted({v for t in texts if t for v in variables(t)} - allowed)
    if unknown:
        raise TemplateError(f"模板变量未定义：{', '.join(unknown)}（可用：{', '.join(KINDS[kind][2])}）",
                            f"Unknown template variable(s): {', '.join(unknown)} "
                            f"(allowed: {', '.join(KINDS[kind][2])})", unknown)


def render(text: str, params: Mapping[str, Any]) -> str:
    """Fill ${var} from params; a missing value becomes empty (the template was validated when saved)."""
    values = {k: "" if v is None else str(v) for k, v in params.items()}
    return string.Template(text).safe_substitute({**{v: "" for v in string.Template(text).get_identifiers()},
                                                  **values})


_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def parse_hhmm(text: str | None) -> time | None:
    """'22:00' → time; None for empty; ValueError for anything else."""
    if not text:
        return None
    if not _HHMM.match(text):
        raise ValueError(f"not HH:MM: {text!r}")
    h, m = text.split(":")
    return time(int(h), int(m))


def quiet_until(now: datetime, start: str | None, end: str | None, tz: tzinfo) -> datetime | None:
    """When a quiet window (local HH:MM–HH:MM, may span midnight) that contains `now` ends; None outside it."""
    a, b = parse_hhmm(start), parse_hhmm(end)
    if a is None or b is None or a == b:
        return None
    local = now.astimezone(tz)
    t = local.time()
    inside = (a <= t < b) if a < b else (t >= a or t < b)
    if not inside:
        return None
    end_day = local.date() if t < b else local.date() + timedelta(days=1)
    return datetime.combine(end_day, b, tzinfo=tz)


def backoff(attempt: int, base: float) -> timedelta:
    """Wait before retry number `attempt` (1-based): base × 2^(attempt-1), at most an hour."""
    return timedelta(seconds=min(base * 2 ** max(attempt - 1, 0), 3600.0))


def dedupe_key(event_key: str, channel: str, recipient: str) -> str:
    """One message per event, channel and recipient; long keys are hashed to fit the column."""
    key = f"{event_key}|{channel}|{recipient}"
    return key if len(key) <= 190 else "h:" + hashlib.sha256(key.encode()).hexdigest()


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """钉钉 robot signature: base64(HMAC-SHA256(secret, "timestamp\\nsecret")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


@dataclass
class RateWindow:
    """At most `limit` sends per key in any 60 s (a sliding log; one per worker process)."""

    limit: int
    log: dict[str, list[float]]

    def allow(self, key: str, now: float) -> bool:
        """Count a send now if the key is under its limit; False when it must wait."""
        recent = [t for t in self.log.get(key, ()) if now - t < 60.0]
        if self.limit > 0 and len(recent) >= self.limit:
            self.log[key] = recent
            return False
        recent.append(now)
        self.log[key] = recent
        return True
