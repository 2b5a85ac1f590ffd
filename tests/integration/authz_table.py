"""The authorization matrix as data: for every route the app mounts (method + path template), which principals
pass authorization. test_authz_matrix.py drives every (row, principal) pair through HTTP.

Principals: `anon` (no credentials), `machine` (the integration keys and nothing else: X-Api-Key, X-Fleet-Token,
X-Gateway-Key, ?api_key=), one user per role, and the "other" principals ownership matters for: `inspector2`
(inspector of duty grid DG02; the objects are in DG01), `department2` (d02; cases are dispatched to d01),
`company2` (transport company b; the trucks, permits and violations are company a's). `department` (d01) is also
the fleet's enforcement department, so it reviews permits and appeals; d02 does not.

A row's url and bodies are filled with the ids of the seeded objects (authz_world.build). A denied caller gets 401
(anonymous), 403, or — where the row says `deny=(404,)` — 404 because the API hides what the caller may not see;
an allowed caller gets anything else below 500 (422/404/409 still prove the caller got past authorization, which
every route here checks before looking at the body or the object, or the body sent is valid). Pages send
anonymous callers to /login (303)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

ROLE_OF = {"inspector": "inspector", "inspector2": "inspector", "operator": "operator", "shift_lead": "shift_lead",
           "dispatcher": "dispatcher", "department": "department", "department2": "department", "leader": "leader",
           "admin": "admin", "company": "company", "company2": "company"}
PRINCIPALS = ("anon", "machine", *ROLE_OF)
EVERYONE = frozenset(PRINCIPALS)
NOBODY: frozenset[str] = frozenset()
LOGGED_IN = frozenset(ROLE_OF)
STAFF = LOGGED_IN - {"company", "company2"}


def roles(*names: str) -> frozenset[str]:
    """The principals holding one of these roles, and admin (require_roles lets admin pass)."""
    return frozenset(p for p, r in ROLE_OF.items() if r in names or r == "admin")


def only(*principals: str) -> frozenset[str]:
    return frozenset(principals)


ADMIN = only("admin")
CITYWIDE = roles("operator", "shift_lead", "dispatcher", "leader")  # see every case
# A case in duty grid DG01 (inspector01's) dispatched to d01; before dispatch d01 does not see it.
SEES_DISPATCHED = CITYWIDE | only("inspector", "department")
SEES_UNDISPATCHED = CITYWIDE | only("inspector")
CHANNEL_STAFF = roles("operator", "shift_lead", "dispatcher", "leader", "inspector")
REVIEWERS = only("admin", "leader", "shift_lead", "department")  # fleet: permits and appeals
SENSOR_STAFF = roles("operator", "shift_lead", "dispatcher", "leader", "department", "inspector")
SCREEN = roles("leader", "shift_lead", "dispatcher", "operator")
POINTS_READ = roles("operator", "shift_lead", "dispatcher", "leader", "inspector")
POINTS_EDIT = roles("operator", "shift_lead", "dispatcher")
RECORD = roles("inspector", "operator", "shift_lead")
RECORD_READ = roles("inspector", "operator", "shift_lead", "dispatcher", "leader")
CALLS, CALLS_READ = roles("operator", "shift_lead", "dispatcher"), roles("operator", "shift_lead", "dispatcher", "leader")
# Known bugs in areas this table may not fix (sensors/, fleet/ are being finished by others): principal -> reason.

@dataclass(frozen=True)
class Row:
    method: str
    path: str  # the route's template, exactly as the app mounts it
    allow: frozenset[str]
    url: str | None = None  # the path filled in: "{name}" placeholders take seeded ids (default: path itself)
    json: Any = None  # a body, or a function of the ids returning one
    data: Any = None  # form fields (or a function of the ids)
    files: Any = None  # a function of the ids returning httpx files
    content: bytes | None = None
    page: bool = False  # HTML page: anonymous callers are redirected to /login
    deny: tuple[int, ...] = ()  # further denial statuses (404: the API hides objects the caller may not see)
    anon: int = 401  # what an anonymous caller gets where it is not allowed
    xfail: dict[str, str] = field(default_factory=dict)
    name: str = ""  # tells rows of one route apart
    stream: bool = False  # an endless response (Server-Sent Events): only its status is read
    cookies: dict[str, str] | None = None  # sent as a Cookie header (e.g. the login form's CSRF cookie)

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    @property
    def id(self) -> str:
        return f"{self.method} {self.name or self.url or self.path}"


def r(method: str, path: str, allow: frozenset[str], **kw) -> Row:
    return Row(method, path, frozenset(allow), **kw)


def page(path: str, allow: frozenset[str], **kw) -> Row:
    return Row("GET", path, frozenset(allow), page=True, **kw)


def _report(i) -> dict:
    return {"category_code": "06010", "lon": i["lon"], "lat": i["lat"], "description": "矩阵测试上报"}


def _permit(i, company=True) -> dict:
    day = i["today"]
    return {**({"company_id": i["company"]} if company else {}), "vehicle_ids": [i["vehicle"]],
            "from_site_id": i["site_from"], "to_site_id": i["site_to"], "route": [[118.42, 32.4495], [118.445, 32.4495]],
            "valid_from": day.isoformat(), "valid_to": (day + timedelta(days=5)).isoformat()}


def _positions(i) -> dict:
    return {"positions": [{"plate": "皖MA0001", "time": i["now"].isoformat(), "lon": 118.43, "lat": 32.4495}]}


SQUARE = {"type": "Polygon", "coordinates": [[[118.43, 32.45], [118.431, 32.45], [118.431, 32.451], [118.43, 32.45]]]}
ACTION = "/api/v1/cases/{ident}/actions/{action}"


def act(action: str, case: str, allow: frozenset[str], **body) -> Row:
    """One workflow action on a case seeded in the stage the action needs (every row has its own case state)."""
    return r("POST", ACTION, allow, url=f"/api/v1/cases/{{{case}}}/actions/{action}", json=body or None,
             deny=(404,), name=f"action {action} on the {case} case")


ROWS: list[Row] = [
    # --- org: login, users ---
    r("POST", "/api/v1/auth/token", EVERYONE, data={"username": "operator1", "password": "demo"}),
    r("POST", "/api/v1/auth/logout", LOGGED_IN),
    r("GET", "/api/v1/departments", LOGGED_IN),
    r("GET", "/api/v1/me", LOGGED_IN),
    r("GET", "/api/v1/users", ADMIN),
    r("POST", "/api/v1/users", ADMIN, json={"username": "matrix1", "display_name": "矩阵", "password": "matrix-pass-1",
                                            "roles": ["operator"]}),
    r("PATCH", "/api/v1/users/{user_id}", ADMIN, url="/api/v1/users/{user}", json={"display_name": "改名"}),

    # --- cases: report, read (departments and inspectors see only their own: 404 for the rest) ---
    r("POST", "/api/v1/cases", roles("inspector", "operator", "shift_lead", "leader"), json=_report),
    r("POST", "/api/v1/cases/check", roles("inspector", "operator", "shift_lead", "leader"), json=_report),
    r("GET", "/api/v1/cases", LOGGED_IN),
    r("GET", "/api/v1/cases/{ident}", SEES_DISPATCHED, url="/api/v1/cases/{dispatched}", deny=(404,)),
    r("GET", "/api/v1/cases/{ident}", SEES_DISPATCHED, url="/api/v1/cases/{number}", deny=(404,), name="by number"),
    r("GET", "/api/v1/cases/{ident}/events", SEES_DISPATCHED, url="/api/v1/cases/{dispatched}/events", deny=(404,)),
    r("GET", "/api/v1/cases/{ident}/nodes", SEES_DISPATCHED, url="/api/v1/cases/{dispatched}/nodes", deny=(404,)),
    r("GET", "/api/v1/cases/{ident}/photos", SEES_DISPATCHED, url="/api/v1/cases/{dispatched}/photos", deny=(404,)),
    r("GET", "/api/v1/photos/{photo_id}", SEES_DISPATCHED, url="/api/v1/photos/{photo}", deny=(404,)),
    r("GET", "/api/v1/photos/{photo_id}/thumb", SEES_DISPATCHED, url="/api/v1/photos/{photo}/thumb", deny=(404,)),
    r("GET", "/api/v1/tasks", LOGGED_IN),
    # saved case searches: every user has their own (another user's id is 404, like a missing one)
    r("GET", "/api/v1/saved-filters", LOGGED_IN),
    r("POST", "/api/v1/saved-filters", LOGGED_IN, json={"name": "矩阵", "query": "stage=filed"}),
    r("DELETE", "/api/v1/saved-filters/{filter_id}", LOGGED_IN, url="/api/v1/saved-filters/999999"),
    # --- the workflow: each action belongs to one role (admin acts for people); scope: own department / grid ---
    act("accept", "reported", only("operator", "admin")),
    act("reject", "reported", only("operator", "admin"), note="不属于城管范围"),
    act("merge", "reported2", only("operator", "admin"), target_case="{reported}", note="重复"),
    act("self_close", "self_handled", only("operator", "admin")),
    act("verify_ok", "verifying", only("inspector", "admin")),
    act("verify_fail", "verifying", only("inspector", "admin"), note="现场未见"),
    act("reassign", "verifying", only("operator", "admin"), inspector="inspector02"),
    act("file", "accepted", only("shift_lead", "admin")),
    act("refuse", "accepted", only("shift_lead", "admin"), note="不予立案"),
    act("dispatch", "filed", only("dispatcher", "admin"), department_code="d01"),
    act("handle", "dispatched", only("department", "admin"), result="已清理"),
    act("request_return", "dispatched", only("department", "admin"), note="非本部门职责"),
    act("request_extension", "dispatched", only("department", "admin"), extension="4h", note="需要机械"),
    act("request_suspension", "dispatched", only("department", "admin"), note="待季节"),
    act("approve", "pending", only("dispatcher", "admin")),
    act("deny", "pending", only("dispatcher", "admin"), note="按时办理"),
    act("resume", "suspended", only("dispatcher", "admin")),
    act("check_ok", "handled", only("inspector", "admin")),
    act("check_fail", "handled", only("inspector", "admin"), note="仍有垃圾"),
    act("check_ok", "handled_seen_by_2", only("inspector", "admin")),  # inspector2 sees it (reporter): 403 by scope
    act("close", "checked", only("shift_lead", "admin")),
    act("void", "dispatched", only("shift_lead", "admin"), note="误报"),
    act("supervise", "dispatched", only("leader", "shift_lead", "admin")),
    act("request_void", "dispatched", only("operator", "dispatcher", "admin"), note="误报"),
    act("send_back_to_lead", "filed", only("dispatcher", "admin"), note="立案条件不对"),
    act("send_back_to_operator", "accepted", only("shift_lead", "admin"), note="信息不全"),
    r("GET", "/api/v1/supervisions", roles("operator", "shift_lead", "dispatcher", "leader", "department")),
    r("GET", "/api/v1/assists", roles("operator", "shift_lead", "dispatcher", "leader", "department")),
    r("GET", "/api/v1/assists/figures", roles("operator", "shift_lead", "dispatcher", "leader", "department"),
      url="/api/v1/assists/figures?start=2026-11-01T00:00:00Z&end=2026-12-01T00:00:00Z"),
    act("annotate", "dispatched", only("operator", "shift_lead", "dispatcher", "leader", "admin"), note="已电话联系"),
    # city mode: 下派 is the city center's (no district center here: 409 past authorization); 上报 a district's
    act("hand_down", "filed", only("shift_lead", "dispatcher", "admin")),
    act("escalate", "filed", only("admin"), note="需市级协调"),
    act("rate", "closed", NOBODY, rating="满意"),  # the platform records the citizen's rating; no person may

    # --- catalog, geography, routing, calendar ---
    r("GET", "/api/v1/catalog/categories", LOGGED_IN),
    r("GET", "/api/v1/catalog/categories/{code}", LOGGED_IN, url="/api/v1/catalog/categories/06010"),
    r("GET", "/api/v1/catalog/components", LOGGED_IN),
    r("GET", "/api/v1/catalog/components/{component_id}", LOGGED_IN,
      url="/api/v1/catalog/components/34112201001000001"),
    r("PATCH", "/api/v1/catalog/categories/{code}/conditions/{condition_code}", ADMIN,
      url="/api/v1/catalog/categories/06010/conditions/01", json={"description": "垃圾暴露"}),
    r("GET", "/api/v1/geo/locate", LOGGED_IN, url="/api/v1/geo/locate?lon={lon}&lat={lat}"),
    r("POST", "/api/v1/geo/locate", LOGGED_IN, json=lambda i: {"lon": [i["lon"]], "lat": [i["lat"]]}),
    r("GET", "/api/v1/geo/grids", LOGGED_IN),
    r("GET", "/api/v1/geo/regions", LOGGED_IN),
    r("GET", "/api/v1/geo/duty-grids.geojson", LOGGED_IN),
    r("GET", "/api/v1/geo/regions.geojson", LOGGED_IN),
    r("GET", "/api/v1/geo/duty-grids", LOGGED_IN),
    r("PUT", "/api/v1/geo/duty-grids/{code}/inspectors", ADMIN, url="/api/v1/geo/duty-grids/DG02/inspectors",
      json={"usernames": ["inspector02"]}),
    r("GET", "/api/v1/routing/rules", roles("dispatcher", "shift_lead", "leader")),
    r("POST", "/api/v1/routing/rules", roles("dispatcher"),
      json={"area_level": "grid", "area_code": "341122100001001", "department_code": "d02"}),
    r("DELETE", "/api/v1/routing/rules/{rule_id}", roles("dispatcher"), url="/api/v1/routing/rules/{rule}"),
    r("GET", "/api/v1/city/level-rules", roles("operator", "dispatcher", "shift_lead", "leader")),
    r("POST", "/api/v1/city/level-rules", ADMIN, json={"category_code": "06", "level": "district"}),
    r("DELETE", "/api/v1/city/level-rules/{rule_id}", ADMIN, url="/api/v1/city/level-rules/999999"),
    r("GET", "/api/v1/city/districts", roles("operator", "dispatcher", "shift_lead", "leader")),
    r("GET", "/api/v1/sla/preview", LOGGED_IN, url="/api/v1/sla/preview?start=2026-11-23T09:00:00%2B08:00&limit=4h"),
    r("PUT", "/api/v1/sla/calendar/{day}", ADMIN, url="/api/v1/sla/calendar/2026-12-06",
      json={"day": "2026-12-06", "is_workday": True}),
    r("GET", "/api/v1/sla/calendar", LOGGED_IN),
    r("DELETE", "/api/v1/sla/calendar/{day}", ADMIN, url="/api/v1/sla/calendar/{day}"),

    # --- assessment: the command center sees all; a department its own row, an inspector his own ---
    r("GET", "/api/v1/assessment/analysis", CITYWIDE),
    r("GET", "/api/v1/assessment/periods", CITYWIDE),
    r("GET", "/api/v1/assessment/periods/{period}", CITYWIDE, url="/api/v1/assessment/periods/2026-10"),
    r("POST", "/api/v1/assessment/periods/{period}/publish", only("leader", "admin"),
      url="/api/v1/assessment/periods/2026-10/publish"),
    r("GET", "/api/v1/assessment/reports/monthly/{name}", CITYWIDE,
      url="/api/v1/assessment/reports/monthly/2026-10.xlsx"),
    r("GET", "/api/v1/assessment/annual", CITYWIDE, url="/api/v1/assessment/annual?year=2026"),
    r("GET", "/api/v1/assessment/reports/annual/{year}.xlsx", CITYWIDE,
      url="/api/v1/assessment/reports/annual/2026.xlsx"),
    r("GET", "/api/v1/assessment/{object_kind}", CITYWIDE | only("department", "department2"),
      url="/api/v1/assessment/department?period=2026-10"),
    r("GET", "/api/v1/assessment/{object_kind}", CITYWIDE | only("inspector", "inspector2"),
      url="/api/v1/assessment/inspector?period=2026-10", name="inspector ranking"),
    r("GET", "/api/v1/assessment/{object_kind}/{object_id}/cases", CITYWIDE | only("department"), deny=(404,),
      url="/api/v1/assessment/department/{d01}/cases?period=2026-10&figure=handled"),
    r("GET", "/api/v1/assessment/{object_kind}/{object_id}/cases", CITYWIDE | only("inspector"), deny=(404,),
      url="/api/v1/assessment/inspector/{inspector01}/cases?period=2026-10&figure=reported",
      name="an inspector's own figures"),
    page("/public/rankings", EVERYONE),
    page("/console/assessment", STAFF),
    page("/console/assessment/{kind}/{object_id}/cases", CITYWIDE | only("department"),
         url="/console/assessment/department/{d01}/cases?period=2026-10&figure=handled"),
    r("GET", "/api/v1/audit/log", ADMIN),

    # --- channels: 拍一拍 (no login), staff tools, machine intake ---
    r("POST", "/api/v1/channels/public/reports", EVERYONE,
      data=lambda i: {"lon": str(i["lon"]), "lat": str(i["lat"]), "category_code": "06010", "description": "又有垃圾"},
      files=lambda i: [("photos", ("p.jpg", i["jpeg"], "image/jpeg"))]),
    r("GET", "/api/v1/channels/public/reports/{code}", EVERYONE, url="/api/v1/channels/public/reports/{code}"),
    r("POST", "/api/v1/channels/public/reports/{code}/rating", EVERYONE,
      url="/api/v1/channels/public/reports/{code}/rating", json={"rating": "满意"}),
    r("GET", "/api/v1/channels/public/categories", EVERYONE),
    r("GET", "/api/v1/channels/public/area", EVERYONE),
    r("GET", "/api/v1/catalog/suggest", EVERYONE, url="/api/v1/catalog/suggest?text=路灯不亮"),
    r("GET", "/api/v1/catalog/picker", EVERYONE),
    r("GET", "/api/v1/geo/geocode", EVERYONE, url="/api/v1/geo/geocode?q=北门"),
    r("GET", "/api/v1/geo/reverse", EVERYONE, url="/api/v1/geo/reverse?lon={lon}&lat={lat}"),
    r("GET", "/api/v1/channels/nearby", CHANNEL_STAFF, url="/api/v1/channels/nearby?lon={lon}&lat={lat}"),
    r("GET", "/api/v1/channels/cases/{ident}/duplicates", CITYWIDE | only("inspector"), deny=(404,),
      url="/api/v1/channels/cases/{dispatched}/duplicates"),
    r("GET", "/api/v1/channels/cases/{ident}/evidence", SEES_DISPATCHED, deny=(404,),
      url="/api/v1/channels/cases/{dispatched}/evidence"),
    r("GET", "/api/v1/channels/categories/suggest", LOGGED_IN),
    r("POST", "/api/v1/channels/pings", roles("inspector"),
      json=lambda i: {"pings": [{"lon": i["lon"], "lat": i["lat"], "at": i["now"].isoformat()}]}),
    r("GET", "/api/v1/channels/patrol", LOGGED_IN, name="own track"),
    r("GET", "/api/v1/channels/patrol", only("inspector", "leader", "shift_lead", "operator", "admin"),
      url="/api/v1/channels/patrol?username=inspector01", name="inspector01's track"),
    r("GET", "/api/v1/channels/cameras", CHANNEL_STAFF),
    r("PUT", "/api/v1/channels/cameras/{code}", ADMIN, url="/api/v1/channels/cameras/CAM-2",
      json=lambda i: {"name": "新摄像头", "lon": i["lon"], "lat": i["lat"]}),
    r("GET", "/api/v1/channels/duty-grids/mine", roles("inspector")),
    r("GET", "/api/v1/channels/review", roles("operator", "shift_lead")),
    r("POST", "/api/v1/intake/video", only("machine"), anon=403,
      json=lambda i: {"camera_id": "CAM-1", "event_type": "garbage", "confidence": 0.95,
                      "captured_at": i["now"].isoformat(), "snapshot_base64": i["jpeg_b64"]}),
    r("POST", "/api/v1/intake/assigned", only("machine", "leader", "shift_lead", "admin"),
      json=lambda i: {"category_code": "06010", "lon": i["lon"], "lat": i["lat"], "description": "上级交办",
                      "required_due_at": (i["now"] + timedelta(days=2)).isoformat(), "assigned_by": "市数字城管"}),
    page("/m/inspector", roles("inspector")),
    r("GET", "/m/inspector/sw.js", EVERYONE),
    r("GET", "/m/inspector/manifest.webmanifest", EVERYONE),
    # 部门处置通: department (and town) staff; d02 does not see d01's case
    page("/m/department", roles("department")),
    r("GET", "/m/department/sw.js", EVERYONE),
    r("GET", "/m/department/manifest.webmanifest", EVERYONE),
    r("GET", "/api/v1/department/cases", roles("department")),
    r("GET", "/api/v1/department/requests", roles("department")),
    r("POST", "/api/v1/department/cases/{ident}/actions/{action}", only("department", "admin"),
      url="/api/v1/department/cases/{dispatched}/actions/request_return", json={"note": ""}, deny=(404,)),
    # 12345 工单: the webhook is signed, not logged in (no secret in this world: refused to all, 403); the queue is
    # the command center's, 受理/退单 the operators'
    r("POST", "/api/v1/workorders/12345", NOBODY, anon=403, json={}),
    r("GET", "/api/v1/workorders", roles("operator", "shift_lead", "dispatcher", "leader")),
    r("GET", "/api/v1/workorders/{ident}", roles("operator", "shift_lead", "dispatcher", "leader"),
      url="/api/v1/workorders/1"),
    r("GET", "/api/v1/workorders/{ident}/messages", roles("operator", "shift_lead", "dispatcher", "leader"),
      url="/api/v1/workorders/1/messages"),
    r("POST", "/api/v1/workorders/{ident}/accept", roles("operator"), url="/api/v1/workorders/1/accept", json={}),
    r("POST", "/api/v1/workorders/{ident}/return", roles("operator"), url="/api/v1/workorders/1/return",
      json={"reason": "非城管职责"}),
    r("POST", "/api/v1/workorders/{ident}/callback", roles("operator", "shift_lead"),
      url="/api/v1/workorders/1/callback", json={}),
    page("/console/workorders", roles("operator", "shift_lead", "dispatcher", "leader")),
    r("GET", "/favicon.ico", EVERYONE),
    page("/m/report", EVERYONE),
    page("/m/report/status/{code}", EVERYONE, url="/m/report/status/{code}"),
    page("/console/hotline", roles("operator", "shift_lead")),
    page("/console/intake", roles("operator", "shift_lead")),

    # --- fleet: staff see all, a company only its own (404 for another's), reviewers decide ---
    r("GET", "/api/v1/fleet/companies", LOGGED_IN),
    r("POST", "/api/v1/fleet/companies", REVIEWERS, json={"name": "矩阵运输", "credit_code": "91341122MA2AUTH01X"}),
    r("POST", "/api/v1/fleet/companies/{company_id}/users", REVIEWERS, url="/api/v1/fleet/companies/{company}/users",
      json={"username": "ztcmatrix", "password": "secret1"}),
    r("GET", "/api/v1/fleet/vehicles", LOGGED_IN),
    r("POST", "/api/v1/fleet/vehicles", REVIEWERS,
      json=lambda i: {"company_id": i["company"], "plate": "皖MZ0909", "terminal_phone": "13900000909"}),
    r("GET", "/api/v1/fleet/vehicles/{vehicle_id}", STAFF | only("company"), deny=(404,),
      url="/api/v1/fleet/vehicles/{vehicle}"),
    r("GET", "/api/v1/fleet/vehicles/{vehicle_id}/track", STAFF | only("company"), deny=(404,),
      url="/api/v1/fleet/vehicles/{vehicle}/track"),
    r("GET", "/api/v1/fleet/drivers", LOGGED_IN),
    r("POST", "/api/v1/fleet/drivers", REVIEWERS, json=lambda i: {"company_id": i["company"], "name": "张师傅"}),
    r("GET", "/api/v1/fleet/sites", LOGGED_IN),
    r("POST", "/api/v1/fleet/sites", REVIEWERS, json={"kind": "disposal", "name": "新消纳场", "geometry": SQUARE}),
    r("GET", "/api/v1/fleet/zones", LOGGED_IN),
    r("POST", "/api/v1/fleet/zones", REVIEWERS, json={"kind": "restricted", "name": "新禁行区", "geometry": SQUARE}),
    r("GET", "/api/v1/fleet/map", LOGGED_IN),
    r("GET", "/api/v1/fleet/permits", LOGGED_IN),
    r("GET", "/api/v1/fleet/public/permits", EVERYONE),
    # Filing for company a with a's trucks: a itself or a reviewer; company b is refused (422: "your own company").
    r("POST", "/api/v1/fleet/permits", REVIEWERS | only("company"), json=_permit, deny=(422,)),
    r("GET", "/api/v1/fleet/permits/{permit_id}", STAFF | only("company"), deny=(404,),
      url="/api/v1/fleet/permits/{permit}"),
    r("POST", "/api/v1/fleet/permits/{permit_id}/{action}", REVIEWERS,
      url="/api/v1/fleet/permits/{pending_permit}/approve"),
    r("POST", "/api/v1/fleet/positions", REVIEWERS | only("machine"), json=_positions),
    r("GET", "/api/v1/fleet/violations", LOGGED_IN),
    r("GET", "/api/v1/fleet/violations/{violation_id}", STAFF | only("company"), deny=(404,),
      url="/api/v1/fleet/violations/{violation}"),
    r("POST", "/api/v1/fleet/violations/{violation_id}/appeal", only("company"), deny=(404,),
      url="/api/v1/fleet/violations/{violation}/appeal", json={"text": "GPS 漂移"}),
    r("POST", "/api/v1/fleet/violations/{violation_id}/decision", REVIEWERS,
      url="/api/v1/fleet/violations/{appealed}/decision", json={"decision": "upheld"}),
    r("GET", "/api/v1/fleet/appeals/{appeal_id}/files/{n}", STAFF | only("company"), deny=(404,),
      url="/api/v1/fleet/appeals/{appeal}/files/0"),
    r("GET", "/api/v1/fleet/gateway", STAFF),
    page("/portal", only("company", "company2")),
    page("/console/fleet", STAFF),
    page("/public/permits", EVERYONE),

    # --- muck trucks in the street: 沿街抛撒 matches, 上路抽查 (a company sees its own checks) ---
    r("POST", "/api/v1/muck/spills", roles("operator", "dispatcher", "inspector", "department", "shift_lead", "leader"),
      json=lambda i: {"case_id": i["dispatched"]}),
    r("GET", "/api/v1/muck/check-items", EVERYONE),
    r("POST", "/api/v1/muck/spot-checks", roles("inspector", "department", "shift_lead", "leader"),
      json={"plate": "皖X00000", "checked_at": "2026-11-23T08:00:00+08:00", "lon": 118.43, "lat": 32.45,
            "items": {"sealed": True}}),
    r("GET", "/api/v1/muck/spot-checks", LOGGED_IN),
    r("GET", "/api/v1/muck/companies", LOGGED_IN),
    page("/console/muck", STAFF),

    # --- 专项普查 campaigns: managers create, staff read, assigned inspectors check ---
    r("POST", "/api/v1/campaigns", roles("leader", "shift_lead"),
      json={"name": "矩阵专项", "theme": "greening", "categories": ["06010"], "starts_at": "2026-11-23T00:00:00+08:00",
            "ends_at": "2026-11-30T00:00:00+08:00", "grids": ["DG01"]}),
    r("GET", "/api/v1/campaigns", roles("leader", "shift_lead", "operator", "dispatcher", "inspector")),
    r("GET", "/api/v1/campaigns/tasks", roles("inspector")),
    r("GET", "/api/v1/campaigns/{campaign_id}", roles("leader", "shift_lead", "operator", "dispatcher", "inspector"),
      url="/api/v1/campaigns/1"),
    r("POST", "/api/v1/campaigns/{campaign_id}/checks", roles("inspector", "leader", "shift_lead"),
      url="/api/v1/campaigns/1/checks", json={"item_id": 1, "grid": "DG01"}),
    r("POST", "/api/v1/campaigns/{campaign_id}/cases", roles("operator", "leader", "shift_lead"),
      url="/api/v1/campaigns/1/cases", json=lambda i: {"case_id": i["dispatched"]}),
    r("GET", "/api/v1/campaigns/{campaign_id}/cases",
      roles("leader", "shift_lead", "operator", "dispatcher", "inspector"), url="/api/v1/campaigns/1/cases"),
    r("GET", "/api/v1/campaigns/{campaign_id}/progress",
      roles("leader", "shift_lead", "operator", "dispatcher", "inspector"), url="/api/v1/campaigns/1/progress"),
    r("GET", "/api/v1/campaigns/{campaign_id}/progress.xlsx",
      roles("leader", "shift_lead", "operator", "dispatcher", "inspector"), url="/api/v1/campaigns/1/progress.xlsx"),
    page("/console/campaigns", roles("leader", "shift_lead", "operator", "dispatcher", "inspector")),
    page("/console/campaigns/{campaign_id}", roles("leader", "shift_lead", "operator", "dispatcher", "inspector"),
         url="/console/campaigns/1"),

    # --- Open311 GeoReport v2: public reads; creating needs the api_key ---
    r("GET", "/open311/v2/discovery.{fmt}", EVERYONE, url="/open311/v2/discovery.json"),
    r("GET", "/open311/v2/services.{fmt}", EVERYONE, url="/open311/v2/services.json"),
    r("GET", "/open311/v2/services/{code}.{fmt}", EVERYONE, url="/open311/v2/services/06010.json"),
    r("POST", "/open311/v2/requests.{fmt}", only("machine"), anon=403, url="/open311/v2/requests.json",
      data=lambda i: {"service_code": "06010", "lat": str(i["lat"]), "long": str(i["lon"]), "description": "垃圾"}),
    r("GET", "/open311/v2/requests.{fmt}", EVERYONE, url="/open311/v2/requests.json"),
    r("GET", "/open311/v2/requests/{ident}.{fmt}", EVERYONE, url="/open311/v2/requests/{public_id}.json"),
    # The case number is no public id: it does not resolve (and never did once the numbers were guessable).
    r("GET", "/open311/v2/requests/{ident}.{fmt}", NOBODY, url="/open311/v2/requests/{number}.json", deny=(404,),
      anon=404, name="a request by its case number"),
    r("GET", "/open311/v2/tokens/{token}.{fmt}", EVERYONE, url="/open311/v2/tokens/{code}.json"),
    r("GET", "/open311/v2/media/{public_id}/{photo_id}.jpg", EVERYONE, url="/open311/v2/media/{public_id}/{photo}.jpg"),
    # Only a photo staff made public: the department's handling photo is not.
    r("GET", "/open311/v2/media/{public_id}/{photo_id}.jpg", NOBODY,
      url="/open311/v2/media/{handled_public_id}/{photo_later}.jpg", deny=(404,), anon=404, name="an unpublished photo"),
    r("GET", "/api/v1/cases/{ident}/publication", roles("operator", "shift_lead"),
      url="/api/v1/cases/{dispatched}/publication"),
    r("PUT", "/api/v1/cases/{ident}/publication", roles("operator", "shift_lead"),
      url="/api/v1/cases/{dispatched}/publication", json=lambda i: {"photo_ids": [i["photo"]]}),
    *(r(m, "/open311/v2/{rest:path}", EVERYONE, url="/open311/v2/requests.json" if m != "POST" else
        "/open311/v2/unknown.json") for m in ("DELETE", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE")),

    # --- public services: the map, QR pages and closed cases are open; staff manage points, codes, calls ---
    r("GET", "/api/v1/public/nearby", EVERYONE, url="/api/v1/public/nearby?lon={lon}&lat={lat}"),
    r("GET", "/api/v1/public/points", EVERYONE),
    r("GET", "/api/v1/public/closed-cases", EVERYONE),
    r("GET", "/api/v1/public/service-points", POINTS_READ),
    r("POST", "/api/v1/public/service-points", POINTS_EDIT,
      json=lambda i: {"kind": "toilet", "name": "西门公厕", "lon": i["lon"], "lat": i["lat"]}),
    r("POST", "/api/v1/public/service-points/import", POINTS_EDIT,
      files=lambda i: {"file": ("p.csv", f"kind,name,lon,lat\ntoilet,南门公厕,{i['lon']},{i['lat']}\n".encode(),
                                "text/csv")}),
    r("GET", "/api/v1/public/service-points/{point_id}", POINTS_READ, url="/api/v1/public/service-points/{point}"),
    r("PATCH", "/api/v1/public/service-points/{point_id}", POINTS_EDIT, url="/api/v1/public/service-points/{point}",
      json={"hours": "06:00-22:00"}),
    r("DELETE", "/api/v1/public/service-points/{point_id}", POINTS_EDIT, url="/api/v1/public/service-points/{point}"),
    r("GET", "/api/v1/public/placements", POINTS_READ),
    r("GET", "/api/v1/public/placements/batches", POINTS_READ),
    r("POST", "/api/v1/public/placements", POINTS_EDIT,
      json=lambda i: {"label": "路口", "lon": i["lon"], "lat": i["lat"]}),
    r("POST", "/api/v1/public/placements/batch", POINTS_EDIT, json={"batch": "B2", "area_code": "341122100002"}),
    r("GET", "/api/v1/public/placements/sheet.pdf", POINTS_READ, url="/api/v1/public/placements/sheet.pdf?batch=B1"),
    r("GET", "/api/v1/public/placements/{code}", POINTS_READ, url="/api/v1/public/placements/{placement}"),
    r("PATCH", "/api/v1/public/placements/{code}", POINTS_EDIT, url="/api/v1/public/placements/{placement}",
      json={"label": "公厕门口"}),
    r("GET", "/api/v1/public/placements/{code}/qr.png", POINTS_READ, url="/api/v1/public/placements/{placement}/qr.png"),
    r("GET", "/api/v1/public/placements/{code}/qr.svg", POINTS_READ, url="/api/v1/public/placements/{placement}/qr.svg"),
    r("POST", "/api/v1/public/convenience", RECORD, json={"kind": "directions", "description": "为游客指路"}),
    r("GET", "/api/v1/public/convenience", RECORD_READ),
    r("GET", "/api/v1/public/convenience/stats", RECORD_READ, url="/api/v1/public/convenience/stats?month=2026-11"),
    r("POST", "/api/v1/public/convenience/{record_id}/claim", RECORD, url="/api/v1/public/convenience/{record}/claim",
      json={"claimed_by": "失主"}),
    r("POST", "/api/v1/public/campaigns", CALLS, json=lambda i: {"case_id": i["ad_case"], "phones": ["13800002222"]}),
    r("GET", "/api/v1/public/campaigns", CALLS_READ),
    r("GET", "/api/v1/public/campaigns/stats", CALLS_READ),
    r("GET", "/api/v1/public/campaigns/{campaign_id}", CALLS_READ, url="/api/v1/public/campaigns/{campaign}"),
    r("POST", "/api/v1/public/campaigns/{campaign_id}/clear", CALLS, url="/api/v1/public/campaigns/{campaign}/clear",
      json={"reason": "ads_removed"}),
    r("POST", "/api/v1/public/campaigns/{campaign_id}/stop", CALLS, url="/api/v1/public/campaigns/{campaign}/stop",
      json={"note": "已整改"}),
    r("GET", "/api/v1/public/stop-list", CALLS_READ),
    r("POST", "/api/v1/public/stop-list", roles("shift_lead", "dispatcher"),
      json={"phone": "13900008888", "reason": "本人要求"}),
    r("DELETE", "/api/v1/public/stop-list/{stop_id}", roles("shift_lead", "dispatcher"),
      url="/api/v1/public/stop-list/{stop}"),
    page("/public", EVERYONE),
    page("/public/services", EVERYONE),
    page("/public/cases", EVERYONE),
    page("/public/q/{code}", EVERYONE, url="/public/q/{placement}"),
    page("/console/public", POINTS_READ),
    page("/console/public/placements", POINTS_READ),
    page("/console/public/convenience", POINTS_READ),
    page("/console/public/campaigns", POINTS_READ),
    page("/console/public/campaigns/{campaign_id}", POINTS_READ, url="/console/public/campaigns/{campaign}"),

    # --- sensors: gateways post readings; staff watch devices and alarms; warnings are public ---
    r("POST", "/api/v1/telemetry", only("machine", "admin"),
      json=lambda i: {"readings": [{"device_id": "WL-2", "ts": i["now"].isoformat(), "values": {"depth_cm": 1}}]}),
    r("GET", "/api/v1/sensors/devices", SENSOR_STAFF),
    r("POST", "/api/v1/sensors/devices", ADMIN,
      json=lambda i: {"code": "NO-9", "name": "噪声", "type": "noise", "lon": i["lon"], "lat": i["lat"]}),
    r("PATCH", "/api/v1/sensors/devices/{code}", ADMIN, url="/api/v1/sensors/devices/{device}",
      json={"address": "北门下穿通道"}),
    r("GET", "/api/v1/sensors/devices.csv", ADMIN),
    r("POST", "/api/v1/sensors/devices/import", ADMIN,
      content="code,name,type,lon,lat\nNO-8,噪声,noise,118.4305,32.4495\n".encode()),
    r("GET", "/api/v1/sensors/devices/{code}", SENSOR_STAFF, url="/api/v1/sensors/devices/{device}"),
    r("GET", "/api/v1/sensors/devices/{code}/readings", SENSOR_STAFF,
      url="/api/v1/sensors/devices/{device}/readings?metric=depth_cm"),
    r("GET", "/api/v1/sensors/alarms", SENSOR_STAFF),
    r("GET", "/api/v1/sensors/alarms/{alarm_id}/events", SENSOR_STAFF, url="/api/v1/sensors/alarms/{alarm}/events"),
    r("POST", "/api/v1/sensors/alarms/{alarm_id}/acknowledge", roles("operator", "shift_lead", "dispatcher", "leader",
                                                                     "department"),
      url="/api/v1/sensors/alarms/{alarm}/acknowledge", json={"note": "已通知"}),
    r("GET", "/api/v1/sensors/stats", SENSOR_STAFF),
    r("GET", "/api/v1/sensors/hj212/stations", SENSOR_STAFF),
    r("GET", "/api/v1/public/warnings", EVERYONE),
    page("/public/warnings", EVERYONE),
    page("/console/sensors", SENSOR_STAFF),
    # --- exchange (数据交换): counties' HMAC-signed batches (no principal here holds a key); city staff views ---
    r("POST", "/api/v1/exchange/batches", NOBODY, deny=(401,),
      json={"platform": "341122", "batch_id": "0-0", "first_id": 0, "last_id": 0,
            "sent_at": "2026-11-23T09:00:00+08:00", "events": []}),
    r("GET", "/api/v1/exchange/links", CITYWIDE),
    r("GET", "/api/v1/exchange/cases", CITYWIDE),
    r("GET", "/api/v1/exchange/cases/{platform}/{number}", CITYWIDE, url="/api/v1/exchange/cases/341122/LA1"),
    r("POST", "/api/v1/exchange/assignments", roles("leader", "shift_lead"),
      json={"platform": "341122", "category_code": "06010", "lon": 118.43, "lat": 32.45, "description": "交办",
            "required_due_at": "2099-01-01T00:00:00+08:00"}),
    r("GET", "/api/v1/exchange/assignments", CITYWIDE),
    r("GET", "/api/v1/exchange/records", CITYWIDE, url="/api/v1/exchange/records?kind=alarm.summary"),
    r("GET", "/api/v1/exchange/ranking", CITYWIDE, url="/api/v1/exchange/ranking?month=2026-11"),
    r("GET", "/api/v1/exchange/uplink", CITYWIDE),
    page("/console/exchange", CITYWIDE),

    # --- the web shell: the API docs, health, static files, login, the console and admin pages, the big screen ---
    *(r(m, path, EVERYONE) for path in ("/openapi.json", "/docs", "/docs/oauth2-redirect")
      for m in ("GET", "HEAD")),
    r("GET", "/healthz", EVERYONE),
    # --- the base map: public tiles of roads and places, and the map settings every page's map reads ---
    r("GET", "/map/config.js", EVERYONE),
    r("GET", "/vocab.js", EVERYONE),
    r("GET", "/map/tiles/{z}/{x}/{name}", EVERYONE, url="/map/tiles/8/0/0.pbf"),
    r("HEAD", "/map/tiles/{z}/{x}/{name}", EVERYONE, url="/map/tiles/8/0/0.pbf"),
    r("GET", "/readyz", EVERYONE),
    r("GET", "/static/vendor/{name:path}", EVERYONE, url="/static/vendor/leaflet.css"),
    r("GET", "/static/{area}/{name:path}", EVERYONE, url="/static/web/css/app.css"),
    r("GET", "/", EVERYONE),
    r("GET", "/login", EVERYONE),
    r("POST", "/login", EVERYONE, data={"username": "operator1", "password": "demo", "csrf": "matrix-csrf"},
      cookies={"cl_csrf": "matrix-csrf"}),
    r("POST", "/logout", EVERYONE),
    page("/console", LOGGED_IN),
    page("/console/inbox", LOGGED_IN),
    page("/console/cases", LOGGED_IN),
    page("/console/cases/export", LOGGED_IN),
    page("/console/cases/export.csv", LOGGED_IN),
    page("/console/ownership", LOGGED_IN),
    page("/console/cases/{ident}", SEES_DISPATCHED, url="/console/cases/{dispatched}", deny=(404,)),
    page("/console/cases/{ident}/panel", SEES_DISPATCHED, url="/console/cases/{dispatched}/panel", deny=(404,)),
    page("/console/overview", LOGGED_IN),
    page("/console/admin", LOGGED_IN),  # a redirect to the first tab this user may open
    page("/console/admin/users", ADMIN),
    page("/console/admin/routing", only("admin", "dispatcher")),
    page("/console/admin/calendar", ADMIN),
    page("/console/admin/catalog", ADMIN),
    page("/console/admin/grids", ADMIN),
    page("/screen", SCREEN),
    r("GET", "/api/v1/screen/summary", SCREEN),
    r("GET", "/api/v1/screen/markers", SCREEN),
    r("GET", "/api/v1/screen/events", SCREEN),
    r("GET", "/api/v1/screen/stream", SCREEN, stream=True),
    # --- notify: everyone's own inbox; templates, subscriptions, outbox and delivery log for admins ---
    r("GET", "/api/v1/notifications", LOGGED_IN),
    r("GET", "/api/v1/notifications/unread", LOGGED_IN),
    r("POST", "/api/v1/notifications/read", LOGGED_IN, json={"all": True}),
    r("GET", "/api/v1/notify/templates", ADMIN),
    r("PUT", "/api/v1/notify/templates", ADMIN,
      json={"event_kind": "dispatched", "channel": "sms", "title": "派遣", "body": "案件${case_number}已派遣"}),
    r("GET", "/api/v1/notify/subscriptions", ADMIN),
    r("POST", "/api/v1/notify/subscriptions", ADMIN, json={"role": "department", "channel": "sms"}),
    r("DELETE", "/api/v1/notify/subscriptions/{sub_id}", ADMIN, url="/api/v1/notify/subscriptions/999999"),
    r("GET", "/api/v1/notify/deliveries", ADMIN),
    r("GET", "/api/v1/notify/outbox", ADMIN),
    r("POST", "/api/v1/notify/outbox/{message_id}/retry", ADMIN, url="/api/v1/notify/outbox/999999/retry"),
    page("/console/notifications", LOGGED_IN),
    page("/console/notify", ADMIN),
]



def resolve(value: Any, ids: dict) -> Any:
    """A body with "{name}" strings filled from the ids (a callable gets the ids)."""
    if callable(value):
        return value(ids)
    if isinstance(value, dict):
        return {k: resolve(v, ids) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return str(ids[value[1:-1]])
    return value
