"""Pure rules of the department app: which actions it offers, how a deadline reads, what a request's state is."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

# The workflow actions a department (or town) takes from the phone; the case rules still decide who may.
ACTIONS = ("handle", "request_extension", "request_return", "request_suspension")
# The stages in which a case is the department's to work on (挂账 ones wait for 恢复, shown last).
MY_STAGES = ("dispatched", "suspended")
REQUEST_NAMES = {"extension": ("延期", "extension"), "return": ("回退", "return"), "suspension": ("挂账", "suspension")}
REQUEST_STATUS = {"pending": ("待审批", "pending"), "approved": ("已批准", "approved"), "denied": ("已驳回", "denied"),
                  "cancelled": ("已撤销", "cancelled")}


def _parts(minutes: int) -> tuple[int, int, int]:
    days, rest = divmod(minutes, 24 * 60)
    return days, rest // 60, rest % 60


def time_words(due: datetime | None, now: datetime) -> tuple[str, str] | None:
    """"剩余 2 小时" / "超时 3 天 5 小时" (wall-clock, rounded down to the minute); None without a deadline."""
    if due is None:
        return None
    late = now > due
    minutes = int(abs((due - now).total_seconds()) // 60)
    days, hours, mins = _parts(minutes)
    if days:
        zh, en = f"{days} 天" + (f" {hours} 小时" if hours else ""), f"{days} d" + (f" {hours} h" if hours else "")
    elif hours:
        zh, en = f"{hours} 小时", f"{hours} h"
    else:
        zh, en = f"{mins} 分钟", f"{mins} min"
    return (f"超时 {zh}", f"overdue by {en}") if late else (f"剩余 {zh}", f"{en} left")


def request_fingerprint(action: str, body: dict[str, Any], photo_digests: list[str], split: int) -> str:
    """What a resend under the same Idempotency-Key must repeat: the action, its fields and its photos."""
    doc = {"action": action, "body": {k: v for k, v in sorted(body.items()) if v is not None},
           "photos": photo_digests, "before": split}
    return hashlib.sha256(json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
