"""Open311 GeoReport v2 at /open311/v2/: discovery, services, service definitions, requests (GET, POST), one
request, tokens — each in .json and .xml, errors in the specification's format (404, 403, else 400)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from cityloop.cases.api import Case, Ctx, Prepared, photo_path, scoped_key
from cityloop.channels import http, service
from cityloop.channels.models import ChannelReport
from cityloop.channels.service import Locate
from cityloop.config import Settings
from cityloop.deps import ClockDep, GridIndexDep, SessionDep, SettingsDep, StateDep
from cityloop.open311 import catalog, create, requests, router_review
from cityloop.open311.domain import published_stages
from cityloop.open311.formats import MEDIA_TYPES, Open311Error, prune, check_format, parse_w3c, to_xml
from cityloop.shared.errors import AppError
from cityloop.http.problems import wants_english
from cityloop.state import AppState

router = APIRouter(prefix="/open311/v2", tags=["open311 GeoReport v2"])
extra_routers = [router_review.router]  # staff: which photos the feed may show
FILE_FIELDS = ("media", "media[]")


async def _answer(fmt: str, work: Callable[[], Awaitable[Response] | Response]) -> Response:
    """Run an endpoint, turning every refusal into the specification's error document."""
    try:
        check_format(fmt)
        result = work()
        return await result if isinstance(result, Awaitable) else result
    except Open311Error as exc:
        return error(fmt, exc)
    except AppError as exc:  # from the core intake: not found stays 404, a role or key 403, the rest is 400
        status = exc.status if exc.status in (403, 404) else 400
        return error(fmt, Open311Error(status, exc.en, code=exc.status))


def _args(request: Request) -> dict[str, str]:
    """Query arguments with empty ones dropped (an empty argument means the same as none)."""
    return {k: v for k, v in request.query_params.items() if v != ""}


def _district(settings: Settings, args: dict[str, str]) -> str | None:
    """The district a jurisdiction_id names when this endpoint serves several; ignored when it serves one."""
    jurisdictions = settings.open311_jurisdictions
    if not jurisdictions:
        return None
    wanted = args.get("jurisdiction_id")
    if not wanted:
        raise Open311Error(400, "jurisdiction_id was not provided")
    if wanted not in jurisdictions:
        raise Open311Error(404, f"jurisdiction_id '{wanted[:40]}' was not found")
    return jurisdictions[wanted]



def render(fmt: str, root: str, payload: Any, status: int = 200) -> Response:
    """Answer in the requested format."""
    if fmt == "xml":
        return Response(to_xml(root, payload), status_code=status, media_type=MEDIA_TYPES["xml"])
    body = json.dumps(prune(payload), ensure_ascii=False, separators=(",", ":"))
    return Response(body, status_code=status, media_type=MEDIA_TYPES["json"])


def error(fmt: str, err: Open311Error) -> Response:
    """<errors><error><code/><description/></error></errors>, or its JSON array."""
    return render(fmt if fmt in MEDIA_TYPES else "json", "errors", [{"code": err.code, "description": err.description}],
                  status=err.status)

@router.get("/discovery.{fmt}")
async def discovery(fmt: str, request: Request, settings: SettingsDep) -> Response:
    """Service Discovery."""
    return await _answer(fmt, lambda: render(fmt, "discovery", catalog.discovery(settings,
                                                                                 http.base_url(request, settings))))


@router.get("/services.{fmt}")
async def services(fmt: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """GET Service List: the matters of the catalog."""
    def work() -> Response:
        _district(settings, _args(request))
        cats = catalog.matters(session, settings.catalog_standard)
        return render(fmt, "services", [catalog.service(c) for c in cats])
    return await _answer(fmt, work)


@router.get("/services/{code}.{fmt}")
async def service_definition(code: str, fmt: str, request: Request, session: SessionDep,
                             settings: SettingsDep) -> Response:
    """GET Service Definition."""
    def work() -> Response:
        _district(settings, _args(request))
        cat = catalog.matter_or_404(session, settings.catalog_standard, code)
        return render(fmt, "service_definition", catalog.definition(cat))
    return await _answer(fmt, work)


@router.post("/requests.{fmt}")
async def post_request(fmt: str, request: Request, state: StateDep, index: GridIndexDep) -> Response:
    """POST Service Request (form-encoded, or multipart with `media` uploads; arguments in the query are accepted too)."""
    async def work() -> Response:
        args = _args(request)
        uploads: list[tuple[str, bytes]] = []
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            form = await request.form(max_files=state.settings.max_photos + 1, max_fields=60)
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if name in FILE_FIELDS:
                        uploads.append((value.filename or "", await value.read(
                            state.settings.max_upload_bytes + 1)))
                elif value != "":
                    args[name] = value
        key = request.headers.get("idempotency-key")
        files = [u for u in uploads if u[1]]

        def staged() -> tuple[Ctx, Prepared | Case]:
            with state.read_session_factory() as reads:
                return _stage(state, reads, args, files, key, index.locate)

        # Like the core API's intake: most requests need no query (matters are cached), so they are checked
        # right here rather than in a thread, and the new case is written by the group committer (cases/batcher.py).
        inline = not files and not create.needs_reads(state.settings, args, key)
        ctx, prepared = staged() if inline else await run_in_threadpool(staged)
        case = prepared if isinstance(prepared, Case) else \
            (await service.submit_staged(state.intake, prepared, _scoped(args, key)))[0]
        if ctx.photos:
            await run_in_threadpool(http.save_photos, ctx)  # only an accepted request writes its photos
        return render(fmt, "service_requests", [{"service_request_id": case.public_id, "service_notice": NOTICE,
                                                  "account_id": args.get("account_id")}])
    return await _answer(fmt, work)


NOTICE = "已登记，将由监督员现场核实后立案处置 / Registered; an inspector will verify it on site before it is handled"


def _scoped(args: dict[str, str], key: str | None) -> str | None:
    """A key is the caller's own: scoped to the API key it came with, it never finds another client's request."""
    return scoped_key(f"open311:{service.hash_key(args['api_key'])}", key) if key else None


def _stage(state: AppState, reads: Session, args: dict[str, str], uploads: list[tuple[str, bytes]],
           key: str | None, locate: Locate) -> tuple[Ctx, Prepared | Case]:
    """Check the API key and the request on a read session (no query for most: see create.needs_reads)."""
    settings = state.settings
    if not service.key_ok(reads, settings, "open311", args.get("api_key")):
        raise Open311Error(403, "Invalid api_key received -- can't proceed with create_request.")
    district = _district(settings, args)
    cat = catalog.cached_matter_or_404(state.matters.get, args.get("service_code"))
    if key is not None and not (0 < len(key) <= 100):
        raise Open311Error(400, "Idempotency-Key must be 1–100 characters")
    ctx = http.make_ctx(state, reads, service.channel_actor("open311"), uploads, reads)
    return ctx, create.stage(ctx, args, cat, locate, _scoped(args, key), args.get("jurisdiction_id"), district)


def _filters(args: dict[str, str], tz: tzinfo) -> requests.Filters:
    def listed(name: str) -> list[str]:
        return [v.strip() for v in args.get(name, "").split(",") if v.strip()]

    def number(name: str, default: int, top: int) -> int:
        raw = args.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or not (1 <= int(raw[:7]) <= top):
            raise Open311Error(400, f"{name} must be an integer from 1 to {top}")
        return int(raw)

    statuses = listed("status")
    if any(s not in ("open", "closed") for s in statuses):
        raise Open311Error(400, "status must be open and/or closed")
    return requests.Filters(
        ids=listed("service_request_id"), codes=listed("service_code"), statuses=statuses,
        start=parse_w3c("start_date", args.get("start_date"), tz), end=parse_w3c("end_date", args.get("end_date"), tz),
        updated_after=parse_w3c("updated_after", args.get("updated_after"), tz),
        updated_before=parse_w3c("updated_before", args.get("updated_before"), tz),
        page=number("page", 1, 1_000_000), page_size=number("page_size", requests.MAX_REQUESTS, requests.MAX_REQUESTS),
        extensions=args.get("extensions", "").lower() == "true")


@router.get("/requests.{fmt}")
async def get_requests(fmt: str, request: Request, session: SessionDep, settings: SettingsDep,
                       clock: ClockDep) -> Response:
    """GET Service Requests (filters, page/page_size, updated_after/updated_before, extensions=true)."""
    def work() -> Response:
        args = _args(request)
        district = _district(settings, args)
        f = _filters(args, ZoneInfo(settings.timezone))
        cases = requests.find(session, f, clock.now(), district,
                              published_stages(settings.open311_publish_after))
        docs = requests.to_requests(session, cases, http.base_url(request, settings), f.extensions,
                                    wants_english(request),
                                    settings.open311_position_decimals)
        return render(fmt, "service_requests", docs)
    return await _answer(fmt, lambda: run_in_threadpool(work))


@router.get("/requests/{ident}.{fmt}")
async def get_request(ident: str, fmt: str, request: Request, session: SessionDep,
                      settings: SettingsDep) -> Response:
    """GET Service Request: one request, still as a list of one."""
    def work() -> Response:
        args = _args(request)
        district = _district(settings, args)
        case = requests.published(session, ident, district, published_stages(settings.open311_publish_after))
        if case is None:  # unknown and not yet published look the same
            raise Open311Error(404, f"service_request_id '{ident[:24]}' was not found")
        docs = requests.to_requests(session, [case], http.base_url(request, settings), args.get("extensions") == "true",
                                    wants_english(request), settings.open311_position_decimals)
        return render(fmt, "service_requests", docs)
    return await _answer(fmt, lambda: run_in_threadpool(work))


@router.get("/tokens/{token}.{fmt}")
async def get_token(token: str, fmt: str, request: Request, session: SessionDep,
                    settings: SettingsDep) -> Response:
    """GET service_request_id from a token (our tracking code)."""
    def work() -> Response:
        _district(settings, _args(request))
        row = session.execute(select(ChannelReport.tracking_code, Case.public_id)
                              .join(Case, Case.id == ChannelReport.case_id)
                              .where(ChannelReport.tracking_code == token.upper()[:16])).first()
        if row is None:
            raise Open311Error(404, f"token '{token[:20]}' was not found")
        return render(fmt, "service_requests", [{"service_request_id": row.public_id, "token": row.tracking_code}])
    return await _answer(fmt, work)


@router.get("/media/{public_id}/{photo_id}.jpg", include_in_schema=False)
def media(public_id: str, photo_id: int, session: SessionDep, settings: SettingsDep) -> Response:
    """A request's photo for media_url: the thumbnail, whose re-encoding drops the original's EXIF (GPS, device);
    only a photo staff have made public, of a published request."""
    row = requests.public_photo(session, public_id, photo_id, published_stages(settings.open311_publish_after)) \
        if 0 < photo_id < 2**31 else None
    path = photo_path(settings, row.sha256, thumb=True) if row else None
    if path is None or not path.exists():
        return error("json", Open311Error(404, "media not found"))
    return FileResponse(path, media_type="image/jpeg")


_RESOURCE = re.compile(r"^(discovery|services|requests|tokens)(/[^/]+)?\.([^/.]+)$")


@router.api_route("/{rest:path}", methods=["POST", "PUT", "PATCH", "DELETE", "TRACE", "OPTIONS", "QUERY"],
                  include_in_schema=False)
def not_allowed(rest: str) -> Response:
    """Other methods on a GeoReport resource: 405 with the Allow header RFC 9110 asks for; else 404."""
    m = _RESOURCE.match(rest)
    if m is None:
        return error("json", Open311Error(404, "No such resource"))
    fmt = m.group(3) if m.group(3) in ("json", "xml") else "json"
    response = error(fmt, Open311Error(405, "Method not allowed"))
    response.headers["Allow"] = "GET, POST" if m.group(1) == "requests" and not m.group(2) else "GET"
    return response
