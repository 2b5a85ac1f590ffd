"""Authorization matrix: every route the app mounts × every principal (anonymous, an integration key, each role,
and the "other" department, duty grid and company), allow or deny as authz_table.ROWS says. Also: the table
covers every route and names no stale one, the public tracking code shows only its own report's public fields,
and cookie-authenticated writes need the CSRF header.

One seeded world per module; every request runs inside a savepoint that is rolled back afterwards, so rows never
change what another row sees (a DELETE or a workflow action leaves the world as it was)."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import update
from sqlalchemy.orm import sessionmaker

from cityloop.app import create_app
from cityloop.config import Settings
from cityloop.org import security
from cityloop.org.models import User
from cityloop.org.security import issue_token
from cityloop.shared.clock import FixedClock
from tests import factories
from tests.conftest import SHANGHAI
from tests.integration import authz_world
from tests.integration.authz_table import PRINCIPALS, ROWS, Row, resolve

SECRET = "test-secret-of-thirty-two-bytes-or-more"
NUMBER = re.compile(r"LA\d{13}")  # a case number: internal, never on a public page


def _settings(db_url: str, media_dir) -> Settings:
    return Settings(database_url=db_url, demo=True, media_dir=media_dir, scheduler_in_server=False,
                    secret_key=SECRET, disabled_areas=[], fleet_department_code="d01",
                    fleet_ingest_token=authz_world.FLEET_TOKEN, sensor_gateway_keys=[authz_world.GATEWAY_KEY],
                    screen_poll_seconds=0.01)


def mounted(app) -> set[tuple[str, str]]:
    """(method, path template) of every route the app serves: API routes, pages and the docs."""
    return {(method, ctx.path) for ctx in iter_route_contexts(app.routes) for method in (ctx.methods or ())}


def _cheap_hasher() -> PasswordHash:
    """Argon2 at its lowest cost: the matrix logs in hundreds of times, and what it tests is who may call what."""
    return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))


@pytest.fixture(scope="module")
def matrix(engine, db_url, tmp_path_factory):
    """The seeded world in one transaction for the whole module, and the app wired to it."""
    factories._password()  # the shared test hash stays the real one
    patch = pytest.MonkeyPatch()
    patch.setattr(security, "_hasher", _cheap_hasher)
    conn = engine.connect()
    trans = conn.begin()
    writes = sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    reads = sessionmaker(bind=conn, join_transaction_mode="rollback_only", expire_on_commit=False)
    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    settings = _settings(db_url, tmp_path_factory.mktemp("authz") / "media")
    app = create_app(settings, engine=engine, session_factory=writes, read_session_factory=reads, clock=clock)
    session = writes()
    try:  # also when building fails: an open transaction would hold its rows' locks for the rest of the run
        with TestClient(app) as client:
            m = authz_world.build(session, settings, clock, client)
            session.execute(update(User).values(password_hash=security.hash_password("demo")))
            session.commit()
            m.conn, m.app = conn, app
            yield m
    finally:
        session.close()
        trans.rollback()
        conn.close()
        patch.undo()


# --- the table covers the app exactly ---

@pytest.fixture(scope="module")
def routes(db_url, tmp_path_factory) -> set[tuple[str, str]]:
    return mounted(create_app(_settings(db_url, tmp_path_factory.mktemp("routes"))))


def test_every_route_is_in_the_table(routes):
    missing = routes - {row.key for row in ROWS}
    assert not missing, f"routes without a row in tests/integration/authz_table.py: {sorted(missing)}"


def test_the_table_names_only_mounted_routes(routes):
    stale = {row.key for row in ROWS} - routes
    assert not stale, f"rows for routes the app no longer has: {sorted(stale)}"


def test_rows_are_unique():
    ids = [row.id for row in ROWS]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]


# --- the matrix ---

def _url(matrix, row: Row, principal: str) -> str:
    url = (row.url or row.path).format_map(matrix.ids)
    if principal == "machine":  # Open311 and the intake webhooks also take the key as ?api_key=
        url += ("&" if "?" in url else "?") + f"api_key={authz_world.API_KEY}"
    return url


def _stream_status(app, url: str, headers: dict[str, str]) -> int:
    """The status of an endless response: hang up as soon as its first bytes arrive."""
    parts = urlsplit(url)

    async def run() -> int:
        status, first_body, asked = 0, asyncio.Event(), False

        async def receive():
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await first_body.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                first_body.set()

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
                 "path": parts.path, "raw_path": parts.path.encode(), "query_string": parts.query.encode(),
                 "root_path": "", "client": ("testclient", 50000), "server": ("testserver", 80),
                 "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
        await asyncio.wait_for(app(scope, receive, send), 20)
        return status

    return asyncio.run(run())


def call(matrix, row: Row, principal: str) -> tuple[int, str]:
    """Send the row's request as the principal inside a savepoint that is rolled back; (status, Location)."""
    ids, url, headers = matrix.ids, _url(matrix, row, principal), dict(matrix.headers[principal])
    if row.cookies:
        headers["cookie"] = "; ".join(f"{k}={v}" for k, v in row.cookies.items())
    body = {}
    for name in ("json", "data", "files"):
        value = getattr(row, name)
        if value is not None:
            body[name] = resolve(value, ids)
    if row.content is not None:
        body["content"] = row.content
    nested = matrix.conn.begin_nested()
    try:
        if row.stream:
            return _stream_status(matrix.app, url, headers), ""
        res = matrix.client.request(row.method, url, headers=headers, follow_redirects=False, **body)
        return res.status_code, res.headers.get("location", "")
    finally:
        nested.rollback()
        matrix.client.cookies.clear()  # POST /login sets a session cookie: never carry it into the next call


def _login_redirect(status: int, location: str) -> bool:
    return status in (302, 303, 307) and location.startswith("/login")


def _cases():
    for row in ROWS:
        for principal in PRINCIPALS:
            reason = row.xfail.get(principal)
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            yield pytest.param(row, principal, id=f"{row.id} as {principal}", marks=marks)


@pytest.mark.parametrize(("row", "principal"), list(_cases()))
def test_matrix(matrix, row: Row, principal: str):
    status, location = call(matrix, row, principal)
    assert status < 500, f"{status} for {principal}"
    anonymous = principal in ("anon", "machine")
    if principal in row.allow:
        assert status not in (401, 403, *row.deny), f"{principal} should pass authorization, got {status}"
        assert not (row.page and _login_redirect(status, location)), f"{principal} was sent to {location}"
    elif anonymous and row.page:
        assert _login_redirect(status, location), f"anonymous should be sent to /login, got {status} {location}"
    elif anonymous:
        assert status == row.anon, f"anonymous should get {row.anon}, got {status}"
    else:
        assert status in (403, *row.deny), f"{principal} should be refused ({(403, *row.deny)}), got {status}"


# --- the public tracking code ---

PUBLIC_KEYS = {"tracking_code", "stage", "stage_name", "closed", "category_name", "address", "reported_at", "steps",
               "merged_into_parent", "can_rate", "rating"}


@pytest.fixture
def handled_report(matrix):
    """The citizen's report taken through 核实, 立案 and 派遣 with internal notes (rolled back after the test)."""
    nested = matrix.conn.begin_nested()
    h, case = matrix.headers, matrix.ids["public_case"]
    for action, who, body in [("accept", "operator", {}), ("verify_ok", "inspector", {"note": "内部备注：核实人员张三"}),
                              ("file", "shift_lead", {}), ("dispatch", "dispatcher", {"department_code": "d01"}),
                              ("annotate", "dispatcher", {"note": "内部备注：联系商户李四 13911112222"})]:
        res = matrix.client.post(f"/api/v1/cases/{case}/actions/{action}", json=body, headers=h[who])
        assert res.status_code == 200, res.text
    yield matrix.ids["code"]
    nested.rollback()


SECRETS = ("13800138000", "8000", "13911112222", "张三", "李四", "内部备注", "operator1", "inspector01", "dispatcher1",
           "县城管执法局", "d01", "菜场门口垃圾成堆")


def test_the_tracking_code_reveals_only_the_public_fields_of_its_own_report(matrix, handled_report):
    res = matrix.client.get(f"/api/v1/channels/public/reports/{handled_report}")
    assert res.status_code == 200
    doc = res.json()
    assert set(doc) == PUBLIC_KEYS
    assert all(set(step) == {"at", "text"} for step in doc["steps"])
    assert doc["tracking_code"] == handled_report and doc["stage"] == "dispatched"
    assert doc["address"] == "北门社区菜场东侧" and doc["category_name"] == "暴露垃圾"
    text = res.text
    assert not NUMBER.search(text), "the internal case number is not public"
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, f"private data in the public status: {leaked}"
    other = matrix.client.get(f"/api/v1/channels/public/reports/{matrix.ids['code2']}").json()
    assert "井盖" not in text and other["tracking_code"] not in text  # nothing of the other citizen's report
    assert set(other) == PUBLIC_KEYS


def test_the_status_page_shows_only_its_own_report(matrix, handled_report):
    res = matrix.client.get(f"/m/report/status/{handled_report}")
    assert res.status_code == 200 and handled_report in res.text and "北门社区菜场东侧" in res.text
    leaked = [s for s in SECRETS if s in res.text]
    assert not leaked and not NUMBER.search(res.text), leaked
    assert "井盖" not in res.text and matrix.ids["code2"] not in res.text


@pytest.mark.parametrize("code", ["ZZZZZZZZ", "VXF", "0" * 40, "%00", "ab cd"])
def test_a_wrong_tracking_code_is_not_found(matrix, code):
    api = matrix.client.get(f"/api/v1/channels/public/reports/{code}")
    assert api.status_code == 404 and set(api.json()) >= {"code", "status"}
    page = matrix.client.get(f"/m/report/status/{code}")
    assert page.status_code == 404 and "北门社区菜场东侧" not in page.text
    rate = matrix.client.post(f"/api/v1/channels/public/reports/{code}/rating", json={"rating": "满意"})
    assert rate.status_code == 404


# --- cookie sessions: writes need the CSRF header ---

@pytest.fixture
def cookie_session(matrix):
    """log_in('operator1') -> the client now carries that user's session cookie (cleared afterwards)."""
    nested = matrix.conn.begin_nested()

    def log_in(username: str) -> str:
        matrix.client.get("/login")  # sets the login form's CSRF cookie
        res = matrix.client.post("/login", data={"username": username, "password": "demo",
                                                 "csrf": matrix.client.cookies.get("cl_csrf")}, follow_redirects=False)
        assert res.status_code == 303 and matrix.client.cookies.get("cl_token")
        return matrix.client.cookies.get("cl_csrf")

    yield log_in
    matrix.client.cookies.clear()
    nested.rollback()


@pytest.mark.parametrize(("user", "method", "url", "body"), [
    ("operator1", "POST", "/api/v1/cases/{dispatched}/actions/annotate", {"note": "电话回访"}),
    ("admin", "POST", "/api/v1/users", {"username": "csrf1", "display_name": "x", "password": "csrf-pass-1",
                                        "roles": ["operator"]}),
    ("admin", "DELETE", "/api/v1/sla/calendar/{day}", None),
    ("leader1", "POST", "/api/v1/intake/assigned", {"category_code": "06010", "lon": 118.4305, "lat": 32.4495,
                                                   "description": "交办", "assigned_by": "市平台",
                                                   "required_due_at": "2026-11-25T18:00:00+08:00"}),
    ("d01", "POST", "/api/v1/fleet/positions", {"positions": [{"plate": "皖MA0001", "lon": 118.43, "lat": 32.4495,
                                                              "time": "2026-11-23T08:59:00+08:00"}]}),
    ("admin", "POST", "/api/v1/telemetry", {"readings": []}),
])
def test_cookie_writes_need_the_csrf_header(matrix, cookie_session, user, method, url, body):
    csrf = cookie_session(user)
    url = url.format_map(matrix.ids)
    for headers in ({}, {"X-CSRF-Token": "not-the-token"}):
        nested = matrix.conn.begin_nested()
        res = matrix.client.request(method, url, json=body, headers=headers)
        nested.rollback()
        assert res.status_code == 403 and res.json()["code"] == "csrf", (headers, res.text)
    nested = matrix.conn.begin_nested()
    res = matrix.client.request(method, url, json=body, headers={"X-CSRF-Token": csrf})
    nested.rollback()
    assert res.status_code not in (401, 403) and res.status_code < 500, res.text
    assert matrix.client.get("/api/v1/me").status_code == 200  # reads need no header


# --- lists answer only what the caller may see (the matrix above checks who may call; this checks what they get) ---

OWN_NUMBERS = {"department2": lambda i: set(), "company": lambda i: set(),
               "inspector2": lambda i: {i["seen_by_2_number"]}}  # the one DG01 case he reported
SCOPED = [  # (principal, url, check of the JSON or HTML, what it means)
    ("department2", "/api/v1/cases", lambda d, i: d["total"] == 0, "d02 sees no case dispatched to d01"),
    ("department", "/api/v1/cases", lambda d, i: d["total"] >= 5 and {c["department_code"] for c in d["items"]} == {"d01"},
     "d01 sees its own cases and only those"),
    ("inspector2", "/api/v1/cases", lambda d, i: [c["id"] for c in d["items"]] == [i["handled_seen_by_2"]],
     "DG02's inspector sees of DG01 only the case he reported"),
    ("inspector", "/api/v1/cases", lambda d, i: d["total"] >= 10 and {c["duty_grid_code"] for c in d["items"]} == {"DG01"},
     "DG01's inspector sees his grid's cases"),
    ("company", "/api/v1/cases", lambda d, i: d["total"] == 0, "a transport company sees no case"),
    ("department", "/api/v1/cases/{dispatched}", lambda d, i: d["reporter_phone"] == "139****1111",
     "the handling department sees the reporter's phone masked"),
    ("inspector", "/api/v1/cases/{dispatched}", lambda d, i: d["reporter_phone"] == "139****1111",
     "the grid's inspector sees the reporter's phone masked"),
    ("operator", "/api/v1/cases/{dispatched}", lambda d, i: d["reporter_phone"] == "13900001111",
     "the command center sees the reporter's phone"),
    ("operator", "/api/v1/cases", lambda d, i: "13900001111" not in str(d) and "13812345678" not in str(d),
     "lists mask phones even for the command center"),
    ("department2", "/api/v1/tasks", lambda d, i: d == [], "nothing waits for d02"),
    ("inspector2", "/api/v1/tasks", lambda d, i: d == [], "no DG01 task is offered to DG02's inspector"),
    ("department", "/api/v1/tasks", lambda d, i: {t["case_id"] for t in d} >= {i["dispatched"], i["pending"]},
     "d01's inbox holds its dispatched cases"),
    ("inspector2", "/api/v1/channels/nearby?lon={lon}&lat={lat}&radius_m=5000",
     lambda d, i: [c["id"] for c in d] == [i["handled_seen_by_2"]], "nearby open cases are only those he may see"),
    ("operator", "/api/v1/channels/nearby?lon={lon}&lat={lat}&radius_m=5000", lambda d, i: len(d) >= 5,
     "the hotline operator sees every open case nearby"),
    ("company2", "/api/v1/fleet/companies", lambda d, i: [c["id"] for c in d] == [i["company_b"]],
     "a company sees only itself"),
    ("company2", "/api/v1/fleet/vehicles", lambda d, i: d and {v["company_id"] for v in d} == {i["company_b"]},
     "a company sees only its trucks"),
    ("company2", "/api/v1/fleet/permits", lambda d, i: all(p["company_id"] == i["company_b"] for p in d),
     "a company sees only its permits"),
    ("company2", "/api/v1/fleet/violations", lambda d, i: d["total"] == 0, "a company sees only its violations"),
    ("company", "/api/v1/fleet/violations", lambda d, i: d["total"] >= 2 and
     {v["company_id"] for v in d["items"]} == {i["company"]}, "company a sees its own violations"),
    ("company2", "/api/v1/fleet/drivers", lambda d, i: all(x["company_id"] == i["company_b"] for x in d),
     "a company sees only its drivers"),
    ("department2", "/api/v1/assessment/department?period=2026-11",
     lambda d, i: {r["object_id"] for r in d["rows"]} <= {i["d02"]}, "a department sees only its own row"),
    ("inspector2", "/api/v1/assessment/inspector?period=2026-11",
     lambda d, i: {r["object_id"] for r in d["rows"]} <= {i["inspector02"]}, "an inspector sees only his own row"),
    *((who, url, lambda html, i, who=who: set(NUMBER.findall(html)) <= OWN_NUMBERS[who](i),
       f"{url} shows {who} no case of others")
      for who in ("department2", "inspector2", "company") for url in ("/console", "/console/inbox", "/console/cases",
                                                                     "/console/overview", "/console/ownership")),
    ("department", "/console/cases", lambda html, i: i["number"] in html, "d01's case list shows its case"),
    # Fleet and sensor lists name a case only to those who may open it.
    ("operator", "/api/v1/fleet/violations", lambda d, i: any(v["case_number"] for v in d["items"]),
     "the command center sees the violations' case numbers"),
    *((who, url, lambda d, i: d and all(v["case_id"] is None and v["case_number"] is None
                                        for v in (d["items"] if "items" in d else [d])), meaning)
      for who, url, meaning in [
          ("company", "/api/v1/fleet/violations", "a company sees its violations, not the internal case numbers"),
          ("company", "/api/v1/fleet/violations/{violation}", "nor in one violation"),
          ("department2", "/api/v1/fleet/violations", "d02 sees no case number of another department's case"),
          ("inspector2", "/api/v1/fleet/violations", "nor does another grid's inspector")]),
    ("operator", "/api/v1/sensors/alarms", lambda d, i: any(a["case_number"] for a in d),
     "the command center sees the alarms' case numbers"),
    ("department2", "/api/v1/sensors/alarms", lambda d, i: d and all(a["case_number"] is None for a in d),
     "d02 sees no case number of another department's alarm case"),
    ("department2", "/api/v1/sensors/alarms/{alarm}/events",
     lambda d, i: d and not any("number" in (e["payload"] or {}) for e in d), "nor in the alarm's history"),
    ("department2", "/console/sensors", lambda html, i: not NUMBER.findall(html), "nor on the sensors page"),
]


@pytest.mark.parametrize(("principal", "url", "check", "meaning"), SCOPED, ids=[s[3] for s in SCOPED])
def test_lists_hold_only_what_the_caller_may_see(matrix, principal, url, check, meaning):
    res = matrix.client.get(url.format_map(matrix.ids), headers=matrix.headers[principal])
    assert res.status_code == 200, res.text
    doc = res.json() if res.headers["content-type"].startswith("application/json") else res.text
    assert check(doc, matrix.ids), meaning


def test_duplicate_suggestions_stay_within_the_inspectors_grids(matrix):
    """A DG02 case right across the grid border is a duplicate candidate for the operator, not for DG01's inspector."""
    nested = matrix.conn.begin_nested()
    try:
        h, ids = matrix.headers, []
        for who, lon in (("inspector2", 118.43205), ("inspector", 118.43195)):  # 9 m apart, either side of the border
            body = {"category_code": "06010", "lon": lon, "lat": 32.4495, "description": "边界两侧的垃圾"}
            res = matrix.client.post("/api/v1/cases", json=body, headers=h[who])
            assert res.status_code == 201, res.text
            ids.append(res.json()["id"])
        theirs, mine = ids
        url = f"/api/v1/channels/cases/{mine}/duplicates"
        assert theirs in [c["id"] for c in matrix.client.get(url, headers=h["operator"]).json()]
        assert theirs not in [c["id"] for c in matrix.client.get(url, headers=h["inspector"]).json()]
        assert matrix.client.get(f"/api/v1/cases/{theirs}", headers=h["inspector"]).status_code == 404
    finally:
        nested.rollback()


def test_public_lists_carry_no_personal_data(matrix, handled_report):
    closed = matrix.client.get("/api/v1/public/closed-cases").json()
    assert closed["features"] and all(set(f["properties"]) == {"category_code", "category", "major", "closed_on"}
                                      for f in closed["features"])
    for url in ("/open311/v2/requests.json?extensions=true", "/open311/v2/tokens/{code}.json",
                "/api/v1/fleet/public/permits", "/api/v1/public/warnings"):
        text = matrix.client.get(url.format_map(matrix.ids)).text
        leaked = [s for s in ("13800138000", "13900001111", "13812345678", "13911112222", "内部备注", "operator1")
                  if s in text]
        assert not leaked, (url, leaked)


@pytest.mark.parametrize("kind", ["expired", "signed with another key", "garbage", "deactivated user", "no such user"])
def test_a_bad_token_is_anonymous(matrix, kind):
    """An expired, forged or orphaned token is no login: 401 from the API, the login page from the console."""
    now, user = matrix.ids["now"], matrix.ids["user"]
    nested = matrix.conn.begin_nested()
    try:
        token = {"expired": lambda: issue_token(SECRET, user, "spare1", now - timedelta(hours=11), 600),
                 "signed with another key": lambda: issue_token("another-secret-of-32-bytes-or-more!", user, "spare1",
                                                                now, 600),
                 "garbage": lambda: "not.a.token",
                 "no such user": lambda: issue_token(SECRET, 999_999, "ghost", now, 600)}.get(kind)
        if token is None:  # deactivated by an administrator
            res = matrix.client.patch(f"/api/v1/users/{user}", json={"active": False}, headers=matrix.headers["admin"])
            assert res.status_code == 200, res.text
            token = lambda: issue_token(SECRET, user, "spare1", now, 600)  # noqa: E731
        headers = {"Authorization": f"Bearer {token()}"}
        assert matrix.client.get("/api/v1/me", headers=headers).status_code == 401
        assert matrix.client.post(f"/api/v1/cases/{matrix.ids['dispatched']}/actions/annotate", json={"note": "x"},
                                  headers=headers).status_code == 401
        page = matrix.client.get("/console/cases", headers=headers, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
    finally:
        nested.rollback()
