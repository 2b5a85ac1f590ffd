"""City mode (两级指挥): level rules and the district centers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from cityloop.city import service
from cityloop.city.case_hooks import TOPIC
from cityloop.city.schemas import DistrictCenterOut, LevelRuleIn, LevelRuleOut
from cityloop.deps import AdminDep, ClockDep, SessionDep, StateDep, require_roles
from cityloop.org.actor import Actor
from cityloop.shared.ids import MAX_ID

router = APIRouter(prefix="/api/v1/city", tags=["city 两级指挥"])
STAFF = ("operator", "dispatcher", "shift_lead", "leader")
Staff = Annotated[Actor, Depends(require_roles(*STAFF))]


@router.get("/level-rules", response_model=list[LevelRuleOut])
def list_rules(session: SessionDep, _: Staff) -> list[LevelRuleOut]:
    """层级规则 / Which cases are the city center's and which a district center's (category × area)."""
    return service.list_rules(session)


@router.post("/level-rules", response_model=LevelRuleOut, status_code=201)
def add_rule(body: LevelRuleIn, state: StateDep, session: SessionDep, clock: ClockDep,
             actor: AdminDep) -> LevelRuleOut:
    """新增层级规则 / Add a level rule (for cases reported from now on)."""
    out = service.add_rule(session, actor, body, clock.now())
    state.changes.announce(TOPIC)  # every host's intake decides levels with it at once
    return out


@router.delete("/level-rules/{rule_id}", status_code=204)
def remove_rule(state: StateDep, session: SessionDep, clock: ClockDep, actor: AdminDep,
                rule_id: int = Path(..., ge=1, le=MAX_ID)) -> None:
    """删除层级规则 / Delete a level rule."""
    service.remove_rule(session, actor, rule_id, clock.now())
    state.changes.announce(TOPIC)


@router.get("/districts", response_model=list[DistrictCenterOut])
def districts(session: SessionDep, _: Staff) -> list[DistrictCenterOut]:
    """区县分中心 / The district centers with their staff and open cases."""
    return service.district_centers(session)
