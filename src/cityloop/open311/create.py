"""POST requests: a GeoReport service request becomes a case from the `open311` channel (核实 first), with the
reporter's phone kept on the case, the request's extras (media_url, device/account ids, attribute answers) on the
channel record, and the tracking code doubling as the Open311 token."""

from __future__ import annotations

import re

from cityloop.cases.api import Case, Ctx, Prepared, ReportIn
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.catalog.cache import Matter
from cityloop.catalog.models import FilingCondition
from cityloop.channels import gazetteer, service
from cityloop.channels.domain import new_tracking_code, text_problems
from cityloop.channels.models import GazetteerEntry
from cityloop.channels.service import Locate
from cityloop.config import Settings
from cityloop.geo.queries import outside_text
from cityloop.open311.formats import Open311Error

MAX_DESCRIPTION = 4000  # the specification's limit
CASE_DESCRIPTION = 2000  # what a case holds; a longer text is kept whole on the channel record


def _float(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be a number") from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise Open311Error(400, f"{name} must be a finite number")
    return number


def location(ctx: Ctx, args: dict[str, str]) -> tuple[float, float, str | None]:
    """lat+long, else address_string (geocoded), else address_id (a gazetteer entry): (lon, lat, address)."""
    lat, lon, address = args.get("lat"), args.get("long"), args.get("address_string")
    if lat or lon:
        if not (lat and lon):
            raise Open311Error(400, "lat and long must be sent together")
        y, x = _float("lat", lat), _float("long", lon)
        if not (-90 <= y <= 90 and -180 <= x <= 180):
            raise Open311Error(400, "lat/long are out of range")
        return x, y, address[:256] if address else None
    if address:
        found = gazetteer.best_point(ctx.reads, address)
        if found is None:
            raise Open311Error(400, f"address_string could not be located: {address[:60]}")
        return found[0], found[1], address[:256]
    if args.get("address_id"):
        entry = ctx.reads.get(GazetteerEntry, int(args["address_id"])) if args["address_id"].isdigit() and \
            len(args["address_id"]) < 10 else None
        if entry is None:
            raise Open311Error(404, f"address_id '{args['address_id'][:20]}' was not found")
        return entry.lon, entry.lat, entry.name
    raise Open311Error(400, "A location is required: lat & long, address_string or address_id")


def attributes(reads: Session, args: dict[str, str], cat: Matter) -> dict[str, str]:
    """attribute[code]=value answers; only `condition` is defined, and must name one of the matter's conditions."""
    answers: dict[str, str] = {}
    for key, value in args.items():
        m = re.fullmatch(r"attribute\[([^\]]{1,32})\](\[\])?", key)
        if m and value:
            answers[m.group(1)] = value
    condition = answers.get("condition")
    if condition and reads.scalar(select(FilingCondition.id).where(FilingCondition.category_id == cat.id,
                                                                   FilingCondition.code == condition)) is None:
        raise Open311Error(400, f"attribute[condition] '{condition[:16]}' is not a filing condition of {cat.code}")
    return answers


def needs_reads(settings: Settings, args: dict[str, str], key: str | None) -> bool:
    """Whether checking this request reads the database: an API key other than demo mode's, an Idempotency-Key,
    an address to look up rather than lat/long, or a filing condition to find (matters are cached)."""
    return bool(key) or not (settings.demo and args.get("api_key") == service.DEMO_KEY) or not args.get("lat") \
        or not args.get("long") or any(k.startswith("attribute[condition]") for k in args)


def stage(ctx: Ctx, args: dict[str, str], cat: Matter, locate: Locate, key: str | None, jurisdiction: str | None,
          district: str | None) -> Prepared | Case:
    """Check and locate the request as a report ready for the group committer (service.submit_staged), or the
    case an earlier request made under the same Idempotency-Key."""
    description = args.get("description") or ""
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description is limited to {MAX_DESCRIPTION} characters", code="description-too-long")
    problems = text_problems(description)
    if "control-characters" in problems:
        raise Open311Error(400, "description contains control characters")
    lon, lat, address = location(ctx, args)
    place = locate(lon, lat)
    if place is None:
        raise Open311Error(400, " / ".join(outside_text(locate)), code="outside-district")
    if district and place.district_code != district:
        raise Open311Error(400, "The location is outside this jurisdiction", code="outside-jurisdiction")
    media_url = args.get("media_url")
    if media_url and (len(media_url) > 512 or not re.match(r"https?://[^\s]+$", media_url)):
        raise Open311Error(400, "media_url must be an http(s) URL of at most 512 characters")
    name = " ".join(p for p in (args.get("first_name"), args.get("last_name")) if p)[:100] or None
    text = description or f"Open311 上报：{cat.name}"
    report = ReportIn(category_code=cat.code, lon=lon, lat=lat, description=text[:CASE_DESCRIPTION - 1] + "…"
                      if len(text) > CASE_DESCRIPTION else text, address=address, source="open311",
                      reporter_name=name, reporter_phone=(args.get("phone") or None) and args["phone"][:32])
    extras = attributes(ctx.reads, args, cat)
    if len(text) > CASE_DESCRIPTION:
        extras["description_full"] = text
    # The tracking code is checked by the write (its unique index): no query for it here.
    return service.stage(
        ctx, report, locate, key, new_tracking_code, verify=True,
        channel={"channel": "open311", "jurisdiction_id": jurisdiction, "media_url": media_url,
                 "device_id": (args.get("device_id") or "")[:64] or None,
                 "account_id": (args.get("account_id") or "")[:64] or None, "attributes": extras})
