"""Channel senders: the HTTP SMS gateway, 企业微信 and 钉钉 group robots, SMTP e-mail. Each raises SendError (or any
exception) on failure and returns the channel's answer on success. `msg` is a dict of an outbox row's fields."""

from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from cityloop.config import Settings
from cityloop.notify import domain


Message = dict[str, Any]  # an outbox row's fields (worker.FIELDS)


class Sender(Protocol):
    """Sends one message; returns the channel's answer or raises."""

    def send(self, msg: Message) -> str: ...


class BatchSender(Sender, Protocol):
    """A channel that also takes several messages in one request (the SMS gateway)."""

    def send_batch(self, msgs: list[Message]) -> str: ...


class SendError(RuntimeError):
    """The channel refused or could not be reached."""


def message_id(msg: Message) -> str:
    """The id a gateway can deduplicate on: the same outbox row always sends the same id."""
    return f"cl-{msg['id']}"


def _check(resp: httpx.Response) -> str:
    text = resp.text[:500]
    if resp.status_code >= 300:
        raise SendError(f"HTTP {resp.status_code}: {text}")
    return text


class Sms:
    """A configurable HTTP SMS gateway. Chinese providers send fixed templates: the request carries the signature
    (签名), the provider's template code and the variables; `text` is the rendered body for gateways that want it."""

    def __init__(self, settings: Settings, client: httpx.Client) -> None:
        self.s, self.client = settings, client

    def _item(self, msg: Message) -> dict[str, Any]:
        code = msg.get("provider_code") or self.s.notify_sms_templates.get(msg["event_kind"])
        return {"message_id": message_id(msg), "phone": msg["address"], "sign_name": self.s.notify_sms_sign,
                "template_code": code, "params": msg.get("params") or {}, "text": msg["body"]}

    def _post(self, body: dict[str, Any]) -> str:
        if not self.s.notify_sms_url:
            raise SendError("未配置短信网关 (CITYLOOP_NOTIFY_SMS_URL) / no SMS gateway configured")
        headers = {"Authorization": f"Bearer {self.s.notify_sms_token}"} if self.s.notify_sms_token else {}
        try:
            return _check(self.client.post(self.s.notify_sms_url, json=body, headers=headers,
                                           timeout=self.s.notify_timeout_seconds))
        except httpx.HTTPError as exc:
            raise SendError(f"{type(exc).__name__}: {exc}") from exc

    def send(self, msg: Message) -> str:
        """One message."""
        return self._post(self._item(msg))

    def send_batch(self, msgs: list[Message]) -> str:
        """Several messages in one request ({"messages": [...]}); all or none accepted."""
        return self._post({"messages": [self._item(m) for m in msgs]})


def _robot_answer(resp: httpx.Response) -> str:
    text = _check(resp)
    try:
        code = resp.json().get("errcode", 0)
    except ValueError:
        code = 0
    if code not in (0, None):
        raise SendError(f"robot errcode {code}: {text}")
    return text


class WeCom:
    """企业微信群机器人: POST {"msgtype": "markdown", "markdown": {"content"}} to the robot's webhook URL."""

    def __init__(self, settings: Settings, client: httpx.Client) -> None:
        self.s, self.client = settings, client

    def send(self, msg: Message) -> str:
        body = {"msgtype": "markdown", "markdown": {"content": f"**{msg['title']}**\n{msg['body']}"}}
        try:
            return _robot_answer(self.client.post(msg["address"], json=body, timeout=self.s.notify_timeout_seconds))
        except httpx.HTTPError as exc:
            raise SendError(f"{type(exc).__name__}: {exc}") from exc


class DingTalk:
    """钉钉群机器人: markdown; with a 加签 secret the URL carries timestamp and sign (HMAC-SHA256)."""

    def __init__(self, settings: Settings, client: httpx.Client) -> None:
        self.s, self.client = settings, client

    def send(self, msg: Message) -> str:
        url = msg["address"]
        if msg.get("secret"):
            ts = int(time.time() * 1000)
            url += ("&" if "?" in url else "?") + f"timestamp={ts}&sign={domain.dingtalk_sign(msg['secret'], ts)}"
        body = {"msgtype": "markdown", "markdown": {"title": msg["title"], "text": f"#### {msg['title']}\n\n"
                                                                                   f"{msg['body']}"}}
        try:
            return _robot_answer(self.client.post(url, json=body, timeout=self.s.notify_timeout_seconds))
        except httpx.HTTPError as exc:
            raise SendError(f"{type(exc).__name__}: {exc}") from exc


class Webhook:
    """A plain webhook: POST {"message_id", "subject", "text"} as JSON (the sensors' old "webhook:" targets)."""

    def __init__(self, settings: Settings, client: httpx.Client) -> None:
        self.s, self.client = settings, client

    def send(self, msg: Message) -> str:
        body = {"message_id": message_id(msg), "subject": msg["title"], "text": msg["body"]}
        try:
            return _check(self.client.post(msg["address"], json=body, timeout=self.s.notify_timeout_seconds))
        except httpx.HTTPError as exc:
            raise SendError(f"{type(exc).__name__}: {exc}") from exc


class Email:
    """Plain SMTP; the Message-ID is derived from the outbox row, so a resent mail can be recognised."""

    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        self.s = settings

    def send(self, msg: Message) -> str:
        if not self.s.notify_smtp_host:
            raise SendError("未配置邮件服务器 (CITYLOOP_NOTIFY_SMTP_HOST) / no SMTP host configured")
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.s.notify_smtp_from, msg["address"], msg["title"]
        mail["Message-ID"] = f"<{message_id(msg)}@cityloop>"
        mail.set_content(msg["body"])
        try:
            with smtplib.SMTP(self.s.notify_smtp_host, self.s.notify_smtp_port,
                              timeout=self.s.notify_timeout_seconds) as smtp:
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(f"{type(exc).__name__}: {exc}") from exc
        return "250 queued"


def senders(settings: Settings, client: httpx.Client) -> dict[str, Sender]:
    """channel → sender for the configured channels."""
    return {"sms": Sms(settings, client), "wecom": WeCom(settings, client), "dingtalk": DingTalk(settings, client),
            "email": Email(settings), "webhook": Webhook(settings, client)}
