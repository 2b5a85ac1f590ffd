"""GeoReport wire formats: XML element names, the JSON mapping, errors and date-times."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from cityloop.open311.formats import Open311Error, check_format, parse_w3c, to_xml, w3c
from cityloop.open311.router import error, render


def test_xml_lists_are_named_after_their_container():
    doc = to_xml("service_definition", {"service_code": "01001", "metadata": True, "absent": None, "attributes": [
        {"code": "condition", "values": [{"key": "01", "name": "井盖缺失"}]}]})
    assert doc.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<service_definition>')
    root = ET.fromstring(doc)
    assert root.find("attributes/attribute/values/value/key").text == "01"
    assert root.find("metadata").text == "true" and root.find("absent") is None


def test_single_request_is_still_a_list_and_control_characters_are_dropped():
    root = ET.fromstring(to_xml("service_requests", [{"service_request_id": "LA1", "description": "a\x01b"}]))
    assert [r.find("service_request_id").text for r in root.findall("request")] == ["LA1"]
    assert root.find("request/description").text == "ab"


def test_json_drops_nulls_and_errors_follow_the_spec():
    body = json.loads(render("json", "services", [{"service_code": "1", "keywords": None}]).body)
    assert body == [{"service_code": "1"}]
    r = error("xml", Open311Error(403, "Invalid api_key"))
    assert r.status_code == 403 and ET.fromstring(r.body).find("error/code").text == "403"
    assert json.loads(error("html", Open311Error(400, "x", code="outside-grids")).body) == [
        {"code": "outside-grids", "description": "x"}]


@pytest.mark.parametrize("fmt, ok", [("json", True), ("xml", True), ("html", False), ("", False)])
def test_check_format(fmt, ok):
    if ok:
        assert check_format(fmt) == fmt
    else:
        with pytest.raises(Open311Error):
            check_format(fmt)


@pytest.mark.parametrize("text, expected", [
    ("2026-11-23T09:00:00Z", datetime(2026, 11, 23, 9, tzinfo=timezone.utc)),
    ("2026-11-23T09:00:00+08:00", datetime(2026, 11, 23, 1, tzinfo=timezone.utc)),
    ("2026-11-23T09:00:00", datetime(2026, 11, 23, 1, tzinfo=timezone.utc)),  # no zone: local time
    ("", None), (None, None)])
def test_parse_w3c(text, expected):
    assert parse_w3c("start_date", text, ZoneInfo("Asia/Shanghai")) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01T00:00:00Z", "0001-01-01T00:00:00+05:00"])
def test_parse_w3c_refuses(text):
    with pytest.raises(Open311Error):
        parse_w3c("start_date", text, ZoneInfo("Asia/Shanghai"))


def test_w3c_is_utc_with_z():
    assert w3c(datetime(2026, 11, 23, 9, tzinfo=ZoneInfo("Asia/Shanghai"))) == "2026-11-23T01:00:00Z"
    assert w3c(None) is None
