"""Request and response bodies of the notifications API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
KIND = r"^[a-z_*]{1,32}$"
CHANNEL = r"^(inbox|sms|wecom|dingtalk|email|webhook)$"


class InboxOut(BaseModel):
    id: int
    event_kind: str
    title: str
    body: str
    link: str | None
    created_at: datetime
    read: bool


class InboxPage(BaseModel):
    items: list[InboxOut]
    unread: int


class UnreadOut(BaseModel):
    unread: int
    newest_id: int | None


class MarkReadIn(BaseModel):
    """标记已读 / Mark read: the given ids, or everything when `all` is true."""

    model_config = ConfigDict(extra="forbid", strict=True)
    ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(default_factory=list, max_length=500)
    all: bool = False


class TemplateIn(BaseModel):
    """消息模板 / A template: ${var} placeholders must be variables of the event kind."""

    model_config = ConfigDict(extra="forbid", strict=True)
    event_kind: str = Field(pattern=KIND)
    channel: str = Field(pattern=CHANNEL)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=2000)
    provider_code: str | None = Field(None, max_length=64, description="SMS provider template code")


class TemplateOut(TemplateIn):
    id: int | None = None
    variables: list[str] = Field(default_factory=list)
    builtin: bool = False


class SubscriptionIn(BaseModel):
    """订阅 / A subscription: a user, a role (optionally of one department), or a department's group robot."""

    model_config = ConfigDict(extra="forbid", strict=True)
    user_id: int | None = Field(None, ge=1, le=2**31 - 1)
    role: str | None = Field(None, min_length=1, max_length=16)
    department_code: str | None = Field(None, min_length=1, max_length=32)
    event_kind: str = Field("*", pattern=KIND)
    channel: str = Field(pattern=CHANNEL)
    address: str | None = Field(None, max_length=500)
    secret: str | None = Field(None, max_length=200)
    quiet_start: str | None = Field(None, pattern=HHMM)
    quiet_end: str | None = Field(None, pattern=HHMM)


class SubscriptionOut(BaseModel):
    id: int
    user_id: int | None
    role: str | None
    department_id: int | None
    event_kind: str
    channel: str
    address: str | None
    quiet_start: str | None
    quiet_end: str | None
    active: bool


class DeliveryOut(BaseModel):
    id: int
    message_id: int
    event_kind: str
    channel: str
    address: str
    title: str
    attempt: int
    at: datetime
    status: str
    message_status: str
    error: str | None
    response: str | None
    duration_ms: int | None


class OutboxOut(BaseModel):
    id: int
    event_kind: str
    channel: str
    address: str
    title: str
    status: str
    attempts: int
    not_before: datetime
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None
