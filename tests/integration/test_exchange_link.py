"""Two CityLoop servers over real HTTP: a county reports its cases to a city, the city assigns one down and sees
it handled and closed, the city ranks the county; the county killed with SIGKILL mid-batch loses and repeats
nothing."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from cityloop.cases.models import CaseEvent
from cityloop.db import make_engine, make_session_factory
from cityloop.exchange.models import MirrorCase, MirrorEvent, OutboxRow, Parked
from tests.integration.exchange_servers import COUNTY, headers, pair, seeded, wait_for
from tests.integration.test_backup import two_databases  # noqa: F401

pytestmark = pytest.mark.slow


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


class County:
    """The county's staff, acting over HTTP."""

    def __init__(self, base: str, users: dict):
        self.base, self.users = base, users

    def report(self, description: str = "暴露垃圾") -> dict:
        body = {"category_code": "06010", "lon": self.users["_lon"], "lat": self.users["_lat"],
                "description": description}
        r = httpx.post(f"{self.base}/api/v1/cases", json=body, headers=headers(self.users, "inspector01"), timeout=10)
        assert r.status_code == 201, r.text
        return r.json()

    def act(self, ident, action: str, user: str, photo: bool = False, **body) -> httpx.Response:
        url = f"{self.base}/api/v1/cases/{ident}/actions/{action}"
        if photo:
            return httpx.post(url, data={"data": json.dumps(body)}, files=[("photos", ("r.jpg", _jpeg(), "image/jpeg"))],
                              headers=headers(self.users, user), timeout=10)
        return httpx.post(url, json=body, headers=headers(self.users, user), timeout=10)

    def through_check(self, ident) -> None:
        for action, user, body, photo in (("accept", "operator1", {}, False), ("file", "lead1", {}, False),
                                          ("dispatch", "dispatcher1", {"department_code": "d01"}, False),
                                          ("handle", "d01", {"note": "已清理"}, True),
                                          ("check_ok", "inspector01", {}, False)):
            r = self.act(ident, action, user, photo, **body)
            assert r.status_code == 200, (action, r.text)


def test_county_reports_up_city_assigns_down_and_ranks(two_databases, tmp_path):  # noqa: F811
    county_url, city_url = two_databases
    county_users, city_users = seeded(county_url), seeded(city_url)
    city, county = pair(county_url, city_url, tmp_path)
    city.start()
    county.start()
    try:
        staff = County(county.base, county_users)
        lead = headers(city_users, "leader1")

        def mirrored(number: str, stage: str | None = None):
            r = httpx.get(f"{city.base}/api/v1/exchange/cases/{COUNTY}/{number}", headers=lead, timeout=5)
            if r.status_code != 200:
                return None
            data = r.json()
            return data if stage is None or data["stage"] == stage else None

        started = time.monotonic()
        case = staff.report("县里上报的暴露垃圾")
        assert wait_for(lambda: mirrored(case["number"]), seconds=10)
        assert time.monotonic() - started < 5  # "within seconds"

        staff.through_check(case["id"])
        assert staff.act(case["id"], "close", "lead1").status_code == 200  # not assigned: no exchange rule
        seen = wait_for(lambda: mirrored(case["number"], "closed"))
        assert [e["seq"] for e in seen["events"]] == list(range(1, 8))
        assert [e["action"] for e in seen["events"]] == ["report", "accept", "file", "dispatch", "handle",
                                                          "check_ok", "close"]
        assert [e["actor_role"] for e in seen["events"]][1:4] == ["operator", "shift_lead", "dispatcher"]
        handle = seen["events"][4]
        assert len(handle["photos"]) == 1 and len(handle["photos"][0]) == 64  # the result's photo hash

        # 上级交办: the city assigns a case down; the county handles and closes it; the city sees the result.
        due = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
        r = httpx.post(f"{city.base}/api/v1/exchange/assignments", headers=lead, timeout=5, json={
            "platform": COUNTY, "category_code": "06010", "lon": county_users["_lon"], "lat": county_users["_lat"],
            "description": "市里交办：主干道暴露垃圾", "required_due_at": due, "ref": "JB-TEST-1"})
        assert r.status_code == 201, r.text
        assigned = wait_for(lambda: next((a for a in httpx.get(f"{city.base}/api/v1/exchange/assignments",
                                                                 headers=lead).json() if a["case_number"]), None))
        number = assigned["case_number"]
        staff.through_check(number)
        closed = wait_for(lambda: staff.act(number, "close", "lead1").status_code == 200)  # 409 until acked
        assert closed
        final = wait_for(lambda: mirrored(number, "closed"))
        assert final["assignment_ref"] == "JB-TEST-1" and final["source"] == "assigned"
        assert final["result"]["action"] == "close" and final["required_due_at"]
        listed = httpx.get(f"{city.base}/api/v1/exchange/assignments", headers=lead).json()
        assert listed[0]["stage"] == "closed" and listed[0]["accepted_at"]

        # The city's console and its monthly ranking of linked platforms.
        links = httpx.get(f"{city.base}/api/v1/exchange/links", headers=lead).json()
        assert links[0]["platform"] == COUNTY and links[0]["health"] == "ok" and links[0]["cases"] == 2
        month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
        ranking = httpx.get(f"{city.base}/api/v1/exchange/ranking", params={"month": month}, headers=lead).json()
        row = next(r for r in ranking if r["platform"] == COUNTY)
        assert row["rank"] == 1 and row["closed"] == 2 and row["score"] is not None and row["grade"]
        page = httpx.get(f"{city.base}/console/exchange", headers=lead)
        assert page.status_code == 200 and "数据交换" in page.text and number in page.text
    finally:
        county.kill()
        city.kill()


def test_sigkill_mid_batch_loses_and_repeats_nothing(two_databases, tmp_path):  # noqa: F811
    county_url, city_url = two_databases
    county_users, _ = seeded(county_url), seeded(city_url)
    city, county = pair(county_url, city_url, tmp_path, CITYLOOP_EXCHANGE_BATCH_SIZE="7")
    city.start()
    county.start()
    staff = County(county.base, county_users)
    stop = threading.Event()

    def load():
        while not stop.is_set():
            try:
                case = staff.report("并发上报")
                staff.act(case["id"], "accept", "operator1")
                staff.act(case["id"], "file", "lead1")
            except (httpx.HTTPError, AssertionError):
                time.sleep(0.05)

    threads = [threading.Thread(target=load) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        for round_ in range(3):
            time.sleep(2.5)
            county.kill()  # mid-batch: the sender ships every 0.2 s in batches of 7
            if round_ == 1:
                city.kill()
                time.sleep(0.5)
                city.start()
            time.sleep(0.3)
            county.start()
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join()
        county_engine, city_engine = make_engine(county_url), make_engine(city_url)
        with make_session_factory(county_engine)() as s:
            expected = sorted(s.execute(select(CaseEvent.case_id, CaseEvent.seq)).all())
            wait_for(lambda: s.scalar(select(OutboxRow.id).where(OutboxRow.acked_at.is_(None)).limit(1)) is None
                     or s.rollback(), seconds=30)
        assert len(expected) > 20
        with make_session_factory(city_engine)() as s:
            got = s.execute(select(MirrorCase.remote_id, MirrorEvent.seq, MirrorEvent.id)
                            .join(MirrorCase, MirrorEvent.mirror_case_id == MirrorCase.id)).all()
            assert s.scalar(select(Parked.id).limit(1)) is None
        assert sorted((c, q) for c, q, _ in got) == expected  # every event, exactly once
        by_case: dict[int, list[tuple[int, int]]] = {}
        for c, q, row_id in got:
            by_case.setdefault(c, []).append((row_id, q))
        for rows in by_case.values():  # stored in per-case order
            assert [q for _, q in sorted(rows)] == sorted(q for _, q in rows)
        county_engine.dispose()
        city_engine.dispose()
    finally:
        stop.set()
        county.kill()
        city.kill()
