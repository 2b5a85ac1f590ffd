"""拍一拍 public reporting: a citizen's report with a tracking code, the public status page, the one rating."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.cases import api as cases_api
from cityloop.cases.api import Case, CaseEvent, ActionIn, ReportIn, Ctx
from cityloop.catalog.cache import load_matters
from cityloop.catalog.models import Category
from cityloop.channels import service
from cityloop.channels.domain import (CLOSED_STAGES, PUBLIC_STAGES, can_rate, guess_category, normalize_code,
                                      normalize_phone, public_steps, spam_reasons)
from cityloop.channels.models import ChannelReport
from cityloop.channels.schemas import PublicReportIn, PublicStatusOut, PublicStep, Rating
from cityloop.channels.service import Locate
from cityloop.config import Settings
from cityloop.shared.errors import Invalid, NotFound, TooManyRequests

HOUR, DAY = 3600, 86_400


def _check(body: PublicReportIn, photos: int) -> str | None:
    """Refuse spam and malformed input; the normalized phone number."""
    reasons = spam_reasons(f"{body.description} {body.address or ''}", body.website)
    if reasons:
        raise Invalid("spam-suspected", "提交内容疑似垃圾信息（请勿包含链接或代码）",
                      "The submission looks like spam (no links or code, please)", reasons=reasons)
    if photos == 0:
        raise Invalid("photo-required", "请至少拍摄一张照片", "Take at least one photo")
    if not body.phone:
        return None
    phone = normalize_phone(body.phone)
    if phone is None:
        raise Invalid("bad-phone", "电话号码格式不正确", "The phone number is not valid")
    return phone


def _limit(ctx: Ctx, ip: str, phone: str | None) -> None:
    """Count this attempt per IP (hourly) and per phone (daily); the counters are committed even if the report
    then fails, so rejected floods are limited too."""
    s = ctx.settings
    ok = service.hit(ctx.session, f"ip:{ip}", ctx.now, HOUR, s.public_reports_per_ip_hour)
    if phone:
        ok = service.hit(ctx.session, f"phone:{service.hash_key(phone)[:32]}", ctx.now, DAY,
                         s.public_reports_per_phone_day) and ok
    ctx.session.commit()
    if not ok:
        raise TooManyRequests("rate-limited", "提交过于频繁，请稍后再试", "Too many reports; try again later")


def refuse_if_limited(session: Session, settings: Settings, ip: str, now: datetime) -> None:
    """Refuse an address already at its hourly limit before its upload is even read."""
    if service.exhausted(session, f"ip:{ip}", now, HOUR, settings.public_reports_per_ip_hour):
        raise TooManyRequests("rate-limited", "提交过于频繁，请稍后再试", "Too many reports; try again later")


def category_for(session: Session, standard: str, fallback: str, code: str | None, text: str) -> tuple[str, bool]:
    """The matter a report names, or one guessed from its words (then the operator checks it): (code, guessed)."""
    if code:
        return code, False
    matters = load_matters(session, standard)
    guessed = guess_category(text, ((m.code, m.name) for m in matters.values()))
    return guessed or fallback, True


def create(ctx: Ctx, body: PublicReportIn, locate: Locate, key: str | None, ip: str
           ) -> tuple[ChannelReport, Case, bool]:
    """File a citizen's report (核实 first) and give it a tracking code: (channel row, case, created)."""
    phone = _check(body, len(ctx.photos))
    code, guessed = category_for(ctx.reads, ctx.settings.catalog_standard, ctx.settings.public_fallback_category,
                                 body.category_code, body.description)
    report = ReportIn(category_code=code, lon=body.lon, lat=body.lat, coord_sys=body.coord_sys,
                      description=body.description, address=body.address, source="public", reporter_phone=phone)
    if key and (existing := cases_api.find_by_key(ctx.reads, key, cases_api.request_hash(report, ctx.photos))):
        first = service.report_of(ctx.reads, existing.id)  # a retry: no new count, no new case
        assert first is not None  # the key is scoped to public reports, which all have their row
        return first, existing, False
    _limit(ctx, ip, phone)
    case, created, row = service.submit(ctx, report, locate, key, verify=True,
                                        channel={"channel": "public", "category_guessed": guessed},
                                        payload={"category_guessed": guessed} if guessed else None)
    assert row is not None  # a channel was given, so the case has its row (a replay's too)
    return row, case, created


def by_code(session: Session, code: str) -> ChannelReport:
    """The channel row of a tracking code, or 404."""
    canonical = normalize_code(code)
    row = session.scalar(select(ChannelReport).where(ChannelReport.tracking_code == canonical)) if canonical else None
    if row is None:
        raise NotFound("unknown-tracking-code", "查询码不存在", "Unknown tracking code")
    return row


def followed(session: Session, case: Case) -> Case:
    """The case a report is now handled as: itself, or the case it was merged into (followed to the end)."""
    for _ in range(10):
        if case.merged_into_id is None:
            return case
        case = session.get_one(Case, case.merged_into_id)
    return case


def status(session: Session, code: str, english: bool = False) -> PublicStatusOut:
    """The public view of a report: stage, plain-words history, and whether it may be rated now."""
    row = by_code(session, code)
    own = session.get_one(Case, row.case_id)
    shown = followed(session, own)
    ids = [own.id] if shown.id == own.id else [own.id, shown.id]
    events = list(session.execute(select(CaseEvent.case_id, CaseEvent.action, CaseEvent.at, CaseEvent.payload)
                                  .where(CaseEvent.case_id.in_(ids)).order_by(CaseEvent.at, CaseEvent.id)))
    visible = [(a, at) for cid, a, at, _ in events if cid == own.id or a != "report"]
    steps = [PublicStep(at=at, text=en if english else zh) for _, at, zh, en in public_steps(visible)]
    rating = next((p.get("rating") for cid, a, _, p in events if cid == shown.id and a == "rate"), None)
    category = session.get(Category, own.category_id)
    zh, en = PUBLIC_STAGES[shown.stage]
    return PublicStatusOut(tracking_code=row.tracking_code, stage=shown.stage, stage_name=en if english else zh,
                           closed=shown.stage in CLOSED_STAGES, category_name=category.name if category else "",
                           address=own.address, reported_at=own.created_at, steps=steps,
                           merged_into_parent=shown.id != own.id, can_rate=can_rate(shown.stage, rating is not None),
                           rating=rating)


def rate(ctx: Ctx, code: str, rating: Rating) -> PublicStatusOut:
    """The reporter's satisfaction, once, after closing (the core answers 409 otherwise)."""
    row = by_code(ctx.session, code)
    shown = followed(ctx.session, ctx.session.get_one(Case, row.case_id))
    cases_api.apply(ctx, shown.id, "rate", ActionIn(rating=rating))
    return status(ctx.session, code)
