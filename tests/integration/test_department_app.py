"""部门处置端 API: my department's cases by deadline, idempotent handle with 处置前/后 photos, 延期/回退/挂账
requests and their approval, and nothing of another department's."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image


def _jpeg(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def dept(api, login, world):
    """Report, dispatch and act as named users."""

    class Dept:
        def dispatched(self, to="d01", grid="341122100001001", text="路边有暴露垃圾"):
            lon, lat = world.point(grid)
            body = {"category_code": "06010", "lon": lon, "lat": lat, "description": text, "address": "人民路 1 号"}
            case = api.post("/api/v1/cases", json=body, headers=login("inspector01")).json()
            for action, user, extra in [("accept", "operator1", {}), ("file", "lead1", {}),
                                        ("dispatch", "dispatcher1", {"department_code": to})]:
                r = api.post(f"/api/v1/cases/{case['id']}/actions/{action}", json=extra or None, headers=login(user))
                assert r.status_code == 200, r.text
            return r.json()

        def act(self, case, action, user="d01", key=None, before=(), after=(), **body):
            headers = {**login(user), **({"Idempotency-Key": key} if key else {})}
            url = f"/api/v1/department/cases/{case['id']}/actions/{action}"
            if before or after:
                files = [("before", (f"b{i}.jpg", _jpeg(c), "image/jpeg")) for i, c in enumerate(before)]
                files += [("after", (f"a{i}.jpg", _jpeg(c), "image/jpeg")) for i, c in enumerate(after)]
                return api.post(url, data={"data": json.dumps(body)}, files=files, headers=headers)
            return api.post(url, json=body, headers=headers)

        def events(self, case):
            return api.get(f"/api/v1/cases/{case['id']}/events", headers=login("lead1")).json()

        def mine(self, user="d01", lang="zh"):
            r = api.get(f"/api/v1/department/cases?lang={lang}", headers=login(user))
            assert r.status_code == 200, r.text
            return r.json()

    return Dept()


def test_my_cases_by_deadline_with_light_and_words(dept, clock):
    first = dept.dispatched(text="先派的")
    clock.advance(hours=1)
    second = dept.dispatched(text="后派的")
    other = dept.dispatched(to="d02")
    mine = dept.mine()
    assert [c["number"] for c in mine] == [first["number"], second["number"]]  # nearest deadline first
    assert other["number"] not in [c["number"] for c in dept.mine()]
    assert [c["number"] for c in dept.mine("d02")] == [other["number"]]
    top = mine[0]
    assert top["category_name"] == "暴露垃圾" and top["light"] == "green" and top["time_text"] == "剩余 5 小时"
    assert top["rework_count"] == 0 and top["supervise_count"] == 0 and top["address"] == "人民路 1 号"
    clock.advance(days=3, hours=5)
    late = dept.mine()[0]
    assert late["light"] == "red" and late["overdue"] and late["time_text"].startswith("超时 3 天")
    assert dept.mine(lang="en")[0]["time_text"].startswith("overdue by 3 d")


def test_rework_and_supervision_show_as_badges(dept, api, login):
    case = dept.dispatched()
    assert dept.act(case, "handle", key="k1", after=[(0, 90, 0)], result="已清运").status_code == 200
    api.post(f"/api/v1/cases/{case['id']}/actions/check_fail", json={"note": "仍有垃圾"}, headers=login("inspector01"))
    api.post(f"/api/v1/cases/{case['id']}/actions/supervise", json={"note": "请尽快"}, headers=login("leader1"))
    listed = dept.mine()[0]
    assert listed["rework_count"] == 1 and listed["supervise_count"] == 1


def test_handle_with_before_and_after_photos_acts_once_per_key(dept, api, login):
    case = dept.dispatched()
    r = dept.act(case, "handle", key="handle-1", before=[(200, 0, 0)], after=[(0, 200, 0), (0, 0, 200)],
                 result="已清运，现场整洁")
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "handled" and "Idempotency-Replayed" not in r.headers
    again = dept.act(case, "handle", key="handle-1", before=[(200, 0, 0)], after=[(0, 200, 0), (0, 0, 200)],
                     result="已清运，现场整洁")
    assert again.status_code == 200 and again.headers["Idempotency-Replayed"] == "true"
    assert again.json()["stage"] == "handled"
    handles = [e for e in dept.events(case) if e["action"] == "handle"]
    assert len(handles) == 1
    assert handles[0]["payload"] == {"result": "已清运，现场整洁", "photos": 3, "before_photos": 1, "after_photos": 2}
    photos = api.get(f"/api/v1/cases/{case['id']}/photos", headers=login("d01")).json()
    assert [p["event_seq"] for p in photos] == [handles[0]["seq"]] * 3
    reused = dept.act(case, "handle", key="handle-1", after=[(1, 2, 3)], result="别的")
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency-key-reused"
    late = dept.act(case, "handle", key="handle-2", after=[(1, 2, 3)], result="再来一次")
    assert late.status_code == 409  # a new key is a new action: the case has moved on


def test_keys_are_per_user(dept, api, world, session):
    from cityloop.org.models import User, UserRole

    colleague = User(username="d01b", display_name="d01b", password_hash=world.users["d01"].password_hash,
                     department_id=world.departments["d01"].id, created_at=world.users["d01"].created_at,
                     roles=[UserRole(role="department")])
    session.add(colleague)
    session.commit()
    world.users["d01b"] = colleague
    case = dept.dispatched()
    assert dept.act(case, "request_return", key="same", note="不属本部门职责").status_code == 200
    r = dept.act(case, "request_return", user="d01b", key="same", note="不属本部门职责")
    assert r.status_code == 409 and r.json()["code"] == "request-pending"  # not a replay of d01's key


def test_requests_and_their_approval(dept, api, login):
    case = dept.dispatched()
    r = dept.act(case, "request_extension", key="ext-1", note="需要调机械", extension="1d")
    assert r.status_code == 200 and r.json()["pending_request"] == "extension"
    reqs = api.get(f"/api/v1/department/requests?case_id={case['id']}", headers=login("d01")).json()
    assert [(q["kind_name"], q["status_name"], q["extension_minutes"]) for q in reqs] == [("延期", "待审批", 480)]
    assert dept.mine()[0]["pending_request"] == "extension"
    assert api.get("/api/v1/department/requests", headers=login("d02")).json() == []
    api.post(f"/api/v1/cases/{case['id']}/actions/approve", json={"note": "同意"}, headers=login("dispatcher1"))
    reqs = api.get("/api/v1/department/requests?lang=en", headers=login("d01")).json()
    assert (reqs[0]["kind_name"], reqs[0]["status"], reqs[0]["status_name"], reqs[0]["decision_note"]) == \
        ("extension", "approved", "approved", "同意")
    assert reqs[0]["case_number"] == case["number"]
    assert dept.act(case, "request_suspension", note="等待资金").status_code == 200
    api.post(f"/api/v1/cases/{case['id']}/actions/deny", json={"note": "不同意挂账"}, headers=login("dispatcher1"))
    statuses = [q["status"] for q in api.get("/api/v1/department/requests", headers=login("d01")).json()]
    assert statuses == ["denied", "approved"]


def test_town_staff_use_it_too(dept):
    case = dept.dispatched(to="t100")
    assert [c["number"] for c in dept.mine("t100")] == [case["number"]]
    assert dept.act(case, "request_return", user="t100", note="应由县住建局处置").json()["pending_request"] == "return"


@pytest.mark.parametrize("user, action, body, status, code", [
    ("d02", "handle", {"result": "x"}, 404, "case-not-found"),  # another department's case
    ("d01", "approve", {"note": "x"}, 404, "unknown-action"),  # not a department action
    ("d01", "handle", {}, 422, "result-required"),
    ("d01", "handle", {"result": "x", "bogus": 1}, 422, "invalid-input"),
    ("d01", "request_extension", {"note": "x", "extension": "soon"}, 422, "bad-extension"),
    ("d01", "request_return", {}, 422, "note-required"),
    ("inspector01", "handle", {"result": "x"}, 403, "role-required"),
    ("dispatcher1", "handle", {"result": "x"}, 403, "role-required"),
])
def test_bad_input_changes_nothing(dept, user, action, body, status, code):
    case = dept.dispatched()
    before = len(dept.events(case))
    r = dept.act(case, action, user=user, **body)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert len(dept.events(case)) == before


def test_bad_keys_bodies_and_photos_are_clear_4xx(dept, api, login):
    case = dept.dispatched()
    url = f"/api/v1/department/cases/{case['id']}/actions/handle"
    r = api.post(url, json={"result": "x"}, headers={**login("d01"), "Idempotency-Key": "k" * 129})
    assert r.status_code == 422 and r.json()["code"] == "bad-idempotency-key"
    r = api.post(url, content=b"{not json", headers={**login("d01"), "Content-Type": "application/json"})
    assert r.status_code == 422
    r = api.post(url, data={"data": json.dumps({"result": "x"})},
                 files=[("after", ("x.jpg", b"MZ not an image", "image/jpeg"))], headers=login("d01"))
    assert r.status_code == 415
    r = dept.act(case, "handle", after=[(i, i, i) for i in range(7)], result="x")
    assert r.status_code in (413, 422)
    assert api.get("/api/v1/department/cases", headers=login("inspector01")).status_code == 403
    assert api.get("/api/v1/department/cases").status_code == 401
    assert api.get("/api/v1/department/requests?case_id=0", headers=login("d01")).status_code == 422
    assert api.get(f"/api/v1/cases/{case['id']}", headers=login("d01")).json()["stage"] == "dispatched"


def test_a_replay_is_answered_after_the_case_left_the_department(dept, api, login):
    case = dept.dispatched()
    assert dept.act(case, "request_return", key="ret-1", note="不属本部门职责").status_code == 200
    api.post(f"/api/v1/cases/{case['id']}/actions/approve", json={"note": "同意回退"}, headers=login("dispatcher1"))
    assert dept.mine() == []  # back to 待派遣: no longer the department's
    again = dept.act(case, "request_return", key="ret-1", note="不属本部门职责")
    assert again.status_code == 200 and again.headers["Idempotency-Replayed"] == "true"
    assert again.json()["stage"] == "filed"
    assert [e["action"] for e in dept.events(case)].count("request_return") == 1
    assert dept.act(case, "request_return", key="ret-2", note="再次").status_code == 404


def test_the_page_its_worker_manifest_and_files(api, world):
    from tests.factories import form_login

    assert api.get("/m/department", follow_redirects=False).headers["location"] == "/login?next=/m/department"
    sw = api.get("/m/department/sw.js")
    assert sw.headers["service-worker-allowed"] == "/m/" and '"prefix": "cityloop-department"' in sw.text
    assert '"/static/department_app/department.js"' in sw.text and "caches.open(APP.cache)" in sw.text
    assert api.get("/m/department/manifest.webmanifest").json()["start_url"] == "/m/department"
    assert api.get("/static/department_app/department.js").headers["content-type"].startswith("text/javascript")
    for bad in ("..%2Fmodels.py", "nothing.js", "%2E%2E%2Fservice.py"):
        assert api.get(f"/static/department_app/{bad}").status_code == 404
    form_login(api, "t100", next_url="/m/department")
    page = api.get("/m/department")
    assert page.status_code == 200 and "本部门待办" in page.text and "<script>" not in page.text
    form_login(api, "inspector01")
    assert api.get("/m/department").status_code == 403
