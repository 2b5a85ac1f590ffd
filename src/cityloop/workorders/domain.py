"""12345 工单 rules (pure): the webhook signature, the field mapping, and which case events go back as what."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# External field → our field. A deployment's mapping file replaces entries of this one (docs/workorders-12345.md).
DEFAULT_FIELDS = {"工单编号": "number", "诉求内容": "description", "诉求地址": "address", "联系人": "contact",
                  "联系电话": "phone", "办理时限": "deadline", "诉求分类": "category"}
# 12345 诉求分类 → our matter code (a code of our catalog is taken as it is).
DEFAULT_CATEGORIES = {"城市管理/市容环境/暴露垃圾": "06010", "暴露垃圾": "06010", "城市管理/街面秩序/占道经营": "09006",
                      "占道经营": "09006", "城市管理/市政设施/井盖": "01001", "井盖": "01001"}
OUR_FIELDS = ("number", "description", "address", "contact", "phone", "deadline", "category")
SATISFACTION = ("满意", "基本满意", "不满意")
# Why a 工单 waits for an operator instead of becoming a case.
PARK_REASONS = {
    "no-address": ("工单没有诉求地址", "The work order has no address"),
    "address-not-found": ("无法定位诉求地址", "The address could not be located"),
    "outside-district": ("诉求地址不在本辖区网格内", "The address is outside the district's grids"),
    "unknown-category": ("未知的诉求分类，无法对应事项代码", "Unknown category: no matter code maps to it"),
    "no-category": ("工单没有诉求分类", "The work order has no category"),
    "intake-refused": ("案件受理检查未通过", "The case intake refused it"),
}
# Outbound message kinds and their names on the 12345 side.
KINDS = {"accept": ("签收", "accepted"), "progress": ("办理进度", "progress"), "result": ("办结", "result"),
         "callback": ("回访", "return call"), "return": ("退单", "returned")}


class SignatureError(Exception):
    """A webhook whose signature or timestamp does not hold; `code` says which."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value: "sha256=" + hex HMAC-SHA256 of `<timestamp>.<body>` under the shared secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def check_signature(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: datetime,
                    max_skew_seconds: float) -> None:
    """Raise SignatureError unless the signature matches and the timestamp is within the allowed skew."""
    if not timestamp or not signature:
        raise SignatureError("signature-missing", "缺少签名或时间戳", "Missing signature or timestamp header")
    try:
        sent = float(timestamp)
    except ValueError:
        raise SignatureError("bad-timestamp", "时间戳格式错误", "The timestamp is not a number") from None
    if not hmac.compare_digest(sign(secret, timestamp, body), signature.strip()):
        raise SignatureError("bad-signature", "签名不正确", "The signature does not match")
    if abs(now.timestamp() - sent) > max_skew_seconds:
        raise SignatureError("stale-timestamp", "时间戳已过期（可能是重放）", "The timestamp is too old or in the future")


@dataclass(frozen=True)
class Mapping:
    """How a platform's 工单 fields and categories read in our terms."""

    fields: dict[str, str]
    categories: dict[str, str]


def merged_mapping(doc: dict[str, Any] | None) -> Mapping:
    """The default mapping with a mapping file's `fields` and `categories` tables laid over it."""
    doc = doc or {}
    fields = {**DEFAULT_FIELDS, **{str(k): str(v) for k, v in (doc.get("fields") or {}).items()}}
    unknown = sorted(set(fields.values()) - set(OUR_FIELDS))
    if unknown:
        raise ValueError(f"unknown target fields in the 12345 mapping: {', '.join(unknown)}")
    cats = {**DEFAULT_CATEGORIES, **{str(k): str(v) for k, v in (doc.get("categories") or {}).items()}}
    return Mapping(fields, cats)


def apply_mapping(mapping: Mapping, raw: dict[str, Any]) -> dict[str, str | None]:
    """Our fields of a 工单 (strings, stripped; missing ones None)."""
    out: dict[str, str | None] = dict.fromkeys(OUR_FIELDS)
    for external, ours in mapping.fields.items():
        value = raw.get(external)
        if value is not None and not isinstance(value, (dict, list)):
            text = str(value).strip()
            out[ours] = text or out[ours]
    return out


def category_code(mapping: Mapping, category: str | None) -> str | None:
    """The matter code a 12345 category maps to (a code of ours passes as it is); None without a category."""
    if not category:
        return None
    return mapping.categories.get(category, category)[:8]


def parse_deadline(text: str | None, tz: str) -> datetime | None:
    """办理时限 as an aware datetime: ISO 8601, or "YYYY-MM-DD HH:MM[:SS]" in local time; ValueError if neither."""
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("/", "-"))
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(tz))


def message_kind(action: str, from_stage: str | None, to_stage: str | None) -> str | None:
    """What a case event means to the 12345 platform, or None when it is not reported back."""
    if action == "report":
        return None  # the case came from the 工单 itself
    if action == "accept":
        return "accept"
    if action == "close":
        return "result"
    if action == "rate":
        return "callback"
    if action == "reject":
        return "return"
    if to_stage is not None and to_stage != from_stage:
        return "progress"
    return None


def backoff(attempts: int, base_seconds: float, max_seconds: float) -> timedelta:
    """How long to wait after the n-th failed delivery: doubling from base, capped."""
    return timedelta(seconds=min(max_seconds, base_seconds * 2 ** max(0, attempts - 1)))
