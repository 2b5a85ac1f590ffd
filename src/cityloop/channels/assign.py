"""上级交办: a case assigned by an upper-level platform or a leader, with the deadline it must be handled by."""

from __future__ import annotations

from cityloop.cases.api import ReportIn, Ctx
from cityloop.channels import gazetteer, service
from cityloop.channels.schemas import AssignIn, AssignOut
from cityloop.channels.service import Locate
from cityloop.shared.errors import Invalid


def assign(ctx: Ctx, body: AssignIn, locate: Locate) -> AssignOut:
    """Report the assignment (no 核实: the assigning authority vouches for it) with its required deadline."""
    if body.required_due_at <= ctx.now:
        raise Invalid("deadline-passed", "要求办结时间必须晚于当前时间", "required_due_at must be in the future")
    if body.lon is not None and body.lat is not None:
        lon, lat, coord_sys = body.lon, body.lat, body.coord_sys
    elif body.address:
        found = gazetteer.best_point(ctx.reads, body.address)
        if found is None:
            raise Invalid("address-not-found", f"无法定位地址：{body.address}", f"Cannot place the address {body.address}")
        lon, lat, coord_sys = found[0], found[1], "wgs84"
    else:
        raise Invalid("location-required", "请给出坐标（lon/lat）或地址", "Give lon/lat or an address")
    report = ReportIn(category_code=body.category_code, lon=lon, lat=lat, coord_sys=coord_sys,
                      description=body.description, address=body.address, source="assigned",
                      reporter_name=body.assigned_by[:100])
    key = f"assign:{body.external_ref}" if body.external_ref else None
    case, created, row = service.submit(
        ctx, report, locate, key, verify=False, required_due_at=body.required_due_at,
        channel={"channel": "assigned", "external_ref": body.external_ref},
        payload={"assigned_by": body.assigned_by, "required_due_at": body.required_due_at.isoformat()})
    return AssignOut(case_id=case.id, case_number=case.number, tracking_code=row.tracking_code if row else "",
                     created=created)
