"""The world the authorization matrix runs against: the seeded county plus the fleet and sensors test data, and one
object of every kind a route names (cases at every stage, a photo, a public report, points, QR codes, campaigns,
devices, an alarm, permits, violations, an appeal with a file). Built once per module, through the API where an
API exists, so every id in the matrix is real."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from cityloop.cases.models import Case
from cityloop.channels.models import ChannelReport
from cityloop.fleet.models import Permit, PermitVehicle, Violation
from cityloop.org.security import issue_token
from cityloop.sensors.models import Alarm
from tests.factories import seed_world
from tests.fleet_world import drive, seed_fleet, today
from tests.integration.public_kit import add_ad_matter, open_case
from tests.integration.sensors_kit import seed_sensors

GATEWAY_KEY = "gw-authz-key-0123456789"
FLEET_TOKEN = "authz-forwarder-secret"
API_KEY = "demo"  # demo mode's key for video, 上级交办 and Open311
# Who each principal is; "other" principals own nothing the matrix's objects belong to.
USERS = {"inspector": "inspector01", "inspector2": "inspector02", "operator": "operator1", "shift_lead": "lead1",
         "dispatcher": "dispatcher1", "department": "d01", "department2": "d02", "leader": "leader1",
         "admin": "admin", "company": "ztca", "company2": "ztcb"}


def jpeg(colour=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(buf, "JPEG")
    return buf.getvalue()


@dataclass
class Matrix:
    """What the matrix needs: the client, bearer headers per principal, the ids routes are filled with."""

    client: object
    headers: dict[str, dict[str, str]]
    ids: dict[str, object] = field(default_factory=dict)
    world: object = None


def bearer(settings, clock, user) -> dict[str, str]:
    token = issue_token(settings.secret_key, user.id, user.username, clock.now(), 600)
    return {"Authorization": f"Bearer {token}"}


def _ok(r, *codes):
    assert r.status_code in (codes or (200, 201, 204)), r.text
    return r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else None


def build(session, settings, clock, client) -> Matrix:
    """Seed everything and return the matrix context (committed into the caller's transaction)."""
    now = clock.now()
    world = seed_world(session, now)
    fleet = seed_fleet(session, world, now)
    seed_sensors(session, world, settings, now)
    add_ad_matter(session)
    headers = {p: bearer(settings, clock, world.users[u]) for p, u in USERS.items()}
    headers["anon"] = {}
    headers["machine"] = {"X-Api-Key": API_KEY, "X-Fleet-Token": FLEET_TOKEN, "X-Gateway-Key": GATEWAY_KEY}
    m = Matrix(client, headers, world=world)
    ids = m.ids
    image = jpeg((120, 120, 30))
    lon, lat = world.point("341122100001004")
    ids.update(now=now, today=today(now), lon=lon, lat=lat, jpeg=image, jpeg_b64=base64.b64encode(image).decode(),
               d01=world.departments["d01"].id, d02=world.departments["d02"].id,
               inspector01=world.users["inspector01"].id, inspector02=world.users["inspector02"].id)
    h = headers

    def report(user="inspector", grid="341122100001001", photo=False, **extra):
        lon, lat = world.point(grid)
        body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "路边有暴露垃圾", **extra}
        if photo:
            import json

            r = client.post("/api/v1/cases", data={"data": json.dumps(body)},
                            files=[("photos", ("p.jpg", jpeg(), "image/jpeg"))], headers=h[user])
        else:
            r = client.post("/api/v1/cases", json=body, headers=h[user])
        return _ok(r, 201)["id"]

    def act(case_id, action, user, **body):
        return _ok(client.post(f"/api/v1/cases/{case_id}/actions/{action}", json=body, headers=h[user]))

    def through(case_id, *steps):
        for action, user, body in steps:
            act(case_id, action, user, **body)
        return case_id

    accept, file = ("accept", "operator", {}), ("file", "shift_lead", {})
    dispatch = ("dispatch", "dispatcher", {"department_code": "d01"})
    check = ("check_ok", "inspector", {})
    # One case per stage, all in duty grid DG01 (inspector01's), dispatched ones to d01.
    ids["reported"] = report()
    ids["reported2"] = report(description="重复上报的暴露垃圾")
    ids["self_handled"] = report(self_handled=True, description="已自行处置的暴露垃圾")
    ids["verifying"] = through(report("operator", source="public", reporter_phone="13812345678"), accept)
    ids["accepted"] = through(report(), accept)
    ids["filed"] = through(report(), accept, file)
    ids["dispatched"] = through(report(photo=True, reporter_phone="13900001111"), accept, file, dispatch)
    ids["pending"] = through(report(), accept, file, dispatch,
                             ("request_extension", "department", {"extension": "4h", "note": "需要机械"}))
    ids["suspended"] = through(report(), accept, file, dispatch,
                               ("request_suspension", "department", {"note": "待季节"}),
                               ("approve", "dispatcher", {}))
    handled = [through(report(photo=True), accept, file, dispatch) for _ in range(3)]
    for case_id in handled:  # the department's handling photo: evidence, never published
        r = client.post(f"/api/v1/cases/{case_id}/actions/handle", data={"data": '{"result": "已清理"}'},
                        files=[("photos", ("h.jpg", jpeg((30, 30, 200)), "image/jpeg"))], headers=h["department"])
        _ok(r)
    ids["handled"], ids["checked"], ids["closed"] = handled
    # DG02's inspector reported this DG01 case, so he sees it; the 核查 task is still DG01's inspector's.
    ids["handled_seen_by_2"] = through(report("inspector2"), accept, file, dispatch,
                                       ("handle", "department", {"result": "已清理"}))
    through(ids["checked"], check)
    through(ids["closed"], check, ("close", "shift_lead", {}))
    ids["number"] = client.get(f"/api/v1/cases/{ids['dispatched']}", headers=h["admin"]).json()["number"]
    ids["seen_by_2_number"] = client.get(f"/api/v1/cases/{ids['handled_seen_by_2']}",
                                         headers=h["admin"]).json()["number"]
    photos = client.get(f"/api/v1/cases/{ids['dispatched']}/photos", headers=h["admin"]).json()
    ids["photo"] = photos[0]["id"]
    ids["photo_later"] = client.get(f"/api/v1/cases/{ids['handled']}/photos", headers=h["admin"]).json()[-1]["id"]
    ids["public_id"], ids["handled_public_id"] = (session.get(Case, ids[k]).public_id for k in ("dispatched", "handled"))
    _ok(client.put(f"/api/v1/cases/{ids['dispatched']}/publication", json={"photo_ids": [ids["photo"]]},
                   headers=h["operator"]))  # the report's photo, looked at and published

    # 拍一拍: two citizens' reports with tracking codes (one with a phone number that must never be shown).
    def public_report(description, phone):
        lon, lat = world.point("341122100001002")
        r = client.post("/api/v1/channels/public/reports",
                        data={"lon": str(lon), "lat": str(lat), "category_code": "06010", "description": description,
                              "phone": phone, "address": "北门社区菜场东侧"},
                        files=[("photos", ("p.jpg", jpeg((30, 200, 30)), "image/jpeg"))])
        return _ok(r, 201)["tracking_code"]

    ids["code"] = public_report("菜场门口垃圾成堆", "13800138000")
    ids["code2"] = public_report("另一位市民的上报：井盖松动", "13700137000")
    row = session.scalar(select(ChannelReport).where(ChannelReport.tracking_code == ids["code"]))
    ids["public_case"] = row.case_id

    # Administration objects: a throwaway user, a calendar override, a routing rule of our own.
    ids["user"] = _ok(client.post("/api/v1/users", json={"username": "spare1", "display_name": "备用",
                                                          "password": "spare-pass-1", "roles": ["operator"]},
                                  headers=h["admin"]), 201)["id"]
    _ok(client.put("/api/v1/sla/calendar/2026-12-05", json={"day": "2026-12-05", "is_workday": True},
                   headers=h["admin"]))
    ids["day"] = "2026-12-05"
    ids["rule"] = _ok(client.post("/api/v1/routing/rules", json={"area_level": "street", "area_code": "341122100",
                                                                 "department_code": "d02",
                                                                 "category_code": "09006"},
                                  headers=h["dispatcher"]), 201)["id"]

    # Public services: a point, a QR placement, a 便民服务 record, a 07001 case with a 追呼 campaign, a stop.
    lon, lat = world.point("341122100001003")
    ids["point"] = _ok(client.post("/api/v1/public/service-points",
                                   json={"kind": "toilet", "name": "北门公厕", "lon": lon, "lat": lat},
                                   headers=h["operator"]), 201)["id"]
    ids["placement"] = _ok(client.post("/api/v1/public/placements", json={"label": "公厕旁", "lon": lon, "lat": lat,
                                                                          "batch": "B1"},
                                       headers=h["operator"]), 201)["code"]
    ids["record"] = _ok(client.post("/api/v1/public/convenience",
                                    json={"kind": "lost_found", "description": "拾到钱包", "items": "黑色钱包",
                                          "lon": lon, "lat": lat},
                                    headers=h["inspector"]), 201)["id"]
    ids["ad_case"] = open_case(session, settings, clock, world).id
    ids["campaign"] = _ok(client.post("/api/v1/public/campaigns",
                                      json={"case_id": ids["ad_case"], "phones": ["13800001111"]},
                                      headers=h["operator"]), 201)[0]["id"]
    ids["stop"] = _ok(client.post("/api/v1/public/stop-list", json={"phone": "13900009999", "reason": "本人要求"},
                                  headers=h["shift_lead"]), 201)["id"]

    _ok(client.put("/api/v1/channels/cameras/CAM-1", json={"name": "北门路口", "lon": lon, "lat": lat},
                   headers=h["admin"]))

    # Sensors: an alarm on WL-1 from two deep readings.
    for minutes in (3, 2):
        ts = (now - timedelta(minutes=minutes)).isoformat()
        _ok(client.post("/api/v1/telemetry", json={"readings": [{"device_id": "WL-1", "ts": ts,
                                                                  "values": {"depth_cm": 30}}]},
                        headers={"X-Gateway-Key": GATEWAY_KEY}))
    ids["device"] = "WL-1"
    ids["alarm"] = session.scalar(select(Alarm.id).order_by(Alarm.id))

    # Fleet: company a's trucks, a pending permit, two speeding violations (one appealed, with a PDF file).
    ids["company"], ids["company_b"] = fleet.companies["a"].id, fleet.companies["b"].id
    ids["vehicle"] = fleet.vehicles["皖MA0001"].id
    ids["vehicle_b"] = fleet.vehicles["皖MC0003"].id
    ids["site_from"], ids["site_to"] = fleet.sites["a"].id, fleet.sites["b"].id
    ids["permit"] = fleet.permit.id
    pending = Permit(company_id=fleet.companies["a"].id, from_site_id=fleet.sites["a"].id,
                     to_site_id=fleet.sites["b"].id, route=fleet.permit.route, corridor_m=60,
                     valid_from=today(now), valid_to=today(now) + timedelta(days=10), hours=[], status="pending",
                     applied_at=now)
    session.add(pending)
    session.flush()
    session.add(PermitVehicle(permit_id=pending.id, vehicle_id=ids["vehicle"]))
    session.commit()
    ids["pending_permit"] = pending.id
    for minutes_ago in (50, 10):
        body = {"positions": drive("皖MA0001", now - timedelta(minutes=minutes_ago), 700, 60, 40)}
        _ok(client.post("/api/v1/fleet/positions", json=body, headers={"X-Fleet-Token": FLEET_TOKEN}))
    found = list(session.scalars(select(Violation.id).where(Violation.company_id == ids["company"])
                                 .order_by(Violation.id)))
    assert len(found) >= 2, found
    ids["violation"], ids["appealed"] = found[0], found[1]
    appeal = _ok(client.post(f"/api/v1/fleet/violations/{ids['appealed']}/appeal", data={"text": "当时在避让救护车"},
                             files=[("files", ("proof.pdf", b"%PDF-1.4 proof", "application/pdf"))],
                             headers=h["company"]), 201)
    ids["appeal"] = appeal["id"]
    return m
