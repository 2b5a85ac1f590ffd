"""The `georeport` PyPI client (requests + xmltodict) reads our services and requests in JSON and in XML from a live
server, including the single-element XML case where xmltodict returns a dict instead of a list."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest
from georeport import GeoReport
from sqlalchemy import select

from cityloop.state import app_state
from cityloop.cases.models import Case
from tests.live import live  # noqa: F401


def accept_live(live, public_id: str) -> None:  # noqa: F811
    """An operator accepts (受理) the request through the API, which makes it public."""
    with app_state(live.app).session_factory() as session:
        case_id = session.scalar(select(Case.id).where(Case.public_id == public_id))
    token = httpx.post(f"{live.url}/api/v1/auth/token", data={"username": "operator1", "password": "demo"}).json()
    r = httpx.post(f"{live.url}/api/v1/cases/{case_id}/actions/accept", json={},
                   headers={"Authorization": f"Bearer {token['access_token']}"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_client_reads_services_and_requests(live, fmt):  # noqa: F811
    lon, lat = live.world.point("341122100001002")
    r = httpx.post(f"{live.url}/open311/v2/requests.xml", data={
        "api_key": "demo", "service_code": "01001", "lat": lat, "long": lon, "description": "井盖破损",
        "attribute[condition]": "02"})
    assert r.status_code == 200, r.text
    accept_live(live, ET.fromstring(r.content).find("request/service_request_id").text)
    client = GeoReport(f"{live.url}/open311/v2", output_format=fmt)
    services = client.get_service_list()
    assert {s["service_code"]: s["service_name"] for s in services}["01001"] == "供水井盖异常"
    definition = client.get_service_definition("01001")
    attribute = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    first = attribute[0] if isinstance(attribute, list) else attribute
    assert first["code"] == "condition"
    requests = client.get_service_requests(status="open")
    one = requests[0] if isinstance(requests, list) else requests  # xmltodict: one <request> is a dict
    assert one["service_code"] == "01001" and one["status"] == "open"
    same = client.get_service_request(one["service_request_id"])
    assert same["description"] == "井盖破损" and float(same["lat"]) == round(lat, 3)  # rounded
    if fmt == "json":  # an empty <service_requests/> parses to None in xmltodict, which this client cannot index
        assert client.get_service_requests(service_code="06010") == []
    with pytest.raises(Exception):  # noqa: B017 - the client raises requests' HTTPError on a 404
        client.get_service_request("LA000")
