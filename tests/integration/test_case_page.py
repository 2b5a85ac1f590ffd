"""The staff case page in words, not codes: how its deadline stands, the request box only when there is one."""

from __future__ import annotations


def _case(api, login, world):
    lon, lat = world.point("341122100001001")
    r = api.post("/api/v1/cases", headers=login("inspector01"),
                 json={"category_code": "06010", "lon": lon, "lat": lat, "description": "路边暴露垃圾"})
    assert r.status_code == 201, r.text
    return r.json()


def _act(api, login, case, action, user, **body):
    r = api.post(f"/api/v1/cases/{case['id']}/actions/{action}", json=body or None, headers=login(user))
    assert r.status_code == 200, r.text


def test_the_deadline_in_words_and_no_empty_request_box(api, login, world, clock):
    case = _case(api, login, world)
    page = api.get(f"/console/cases/{case['id']}", headers=login("operator1")).text
    assert "剩余" in page and "待审批申请" not in page and "%" not in page.split("当前环节")[1].split("</dd>")[0]
    clock.advance(days=3, hours=5, minutes=1)
    page = api.get(f"/console/cases/{case['id']}", headers=login("operator1")).text
    assert "超时 3 天" in page and 'title="已超时"' in page
    english = api.get(f"/console/cases/{case['id']}?lang=en", headers=login("operator1")).text
    assert "overdue by 3 d" in english


def test_a_pending_request_is_shown_in_words(api, login, world, clock):
    case = _case(api, login, world)
    for action, user, body in [("accept", "operator1", {}), ("file", "lead1", {}),
                               ("dispatch", "dispatcher1", {"department_code": "d01"})]:
        _act(api, login, case, action, user, **body)
    clock.advance(minutes=5)
    _act(api, login, case, "request_extension", "d01", extension="4h", note="需要调配车辆")
    page = api.get(f"/console/cases/{case['id']}", headers=login("lead1")).text
    box = page.split('class="box pending"')[1].split("</div>")[0]
    assert "待审批申请" in box and "延期" in box and "240 分钟" in box and "需要调配车辆" in box
    assert ">extension<" not in page
