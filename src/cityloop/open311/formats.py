"""GeoReport v2 wire formats: XML (element names exactly as the specification) and JSON (its "Spark convention"
mapping: the root container disappears, lists become arrays), the error document, and W3C date-times."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone, tzinfo
from typing import Any


MEDIA_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The element each list's items are called in XML (<services><service>…).
ITEMS = {"services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
         "endpoints": "endpoint", "formats": "format", "notes": "note", "photos": "photo", "errors": "error"}
_NOT_XML = re.compile(r"[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Open311Error(Exception):
    """An error answered in the specification's format: HTTP 404 (no such resource), 403 (api_key) or 400."""

    def __init__(self, status: int, description: str, code: int | str | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.code = status, description, code if code is not None else status


def check_format(fmt: str) -> str:
    """'json' or 'xml', or a 404: other representations do not exist."""
    if fmt not in MEDIA_TYPES:
        raise Open311Error(404, f"Unsupported format '{fmt[:20]}': use .json or .xml")
    return fmt


def prune(value: Any) -> Any:
    """Drop absent values: the spec's optional fields are left out rather than sent as null."""
    if isinstance(value, dict):
        return {k: prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [prune(v) for v in value if v is not None]
    return value


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _append(parent: ET.Element, name: str, value: Any) -> None:
    element = ET.SubElement(parent, name)
    _fill(element, name, value)


def _fill(element: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _append(element, key, item)
    elif isinstance(value, list):
        for item in value:
            _append(element, ITEMS.get(name, "item"), item)
    else:
        element.text = _text(value)


def to_xml(root: str, payload: Any) -> bytes:
    """The XML document: declaration, then <root> holding the payload (a list's items named after the root)."""
    element = ET.Element(root)
    _fill(element, root, prune(payload))
    body: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def w3c(value: datetime | None) -> str | None:
    """UTC with a Z: the form every GeoReport client and validator accepts."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def parse_w3c(name: str, text: str | None, tz: tzinfo) -> datetime | None:
    """A W3C date-time argument (a missing zone is taken as local time), or a 400 naming the argument."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z"))
        value = value if value.tzinfo else value.replace(tzinfo=tz)
        return value.astimezone(timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise Open311Error(400, f"{name} must be a W3C date-time such as 2026-11-23T09:00:00Z") from exc
