"""City mode as pure rules: the level of a new case (category × area), and who may act on a city's or a
district's case (两级指挥: 下派, 上报, the district center's scope)."""

import pytest

from cityloop.cases.domain import ActorState, CaseState, WorkflowError, available_actions, decide
from cityloop.city.domain import LevelRuleView, decide_level, handling_district, level_name

RULES = [LevelRuleView(1, None, None, "district"), LevelRuleView(2, None, "610402", "city"),
         LevelRuleView(3, "07", None, "city"), LevelRuleView(4, "06", "610404", "district"),
         LevelRuleView(5, None, "610404", "city"), LevelRuleView(6, "0601", "610404001", "city")]


@pytest.mark.parametrize("category, grid, level, rule", [
    ("06010", "610422001001001", "district", 1),  # the default: the district's
    ("06010", "610402001001001", "city", 2),  # a central district: the city's
    ("07001", "610422001001001", "city", 3),  # a category the city keeps everywhere
    ("07001", "610402001001001", "city", 3),
    ("06010", "610404001001001", "city", 6),  # the longest category prefix wins, then the longest area
    ("06020", "610404001001001", "district", 4),
    ("09006", "610404001001001", "city", 5),
])
def test_level_by_category_and_area(category, grid, level, rule):
    assert decide_level(RULES, category, grid) == (level, rule)


def test_no_rules_means_the_city_center():
    assert decide_level([], "06010", "610422001001001") == ("city", None)
    assert handling_district("city", "610422") is None and handling_district("district", "610422") == "610422"
    assert level_name(None) == "市级" and level_name("610422") == "区县级" and level_name(None, True) == "City"


CITY_LEAD = ActorState(1, frozenset({"shift_lead"}))
CITY_DISP = ActorState(2, frozenset({"dispatcher"}))
QD_LEAD = ActorState(3, frozenset({"shift_lead"}), district_code="610402")
QD_OP = ActorState(4, frozenset({"operator"}), district_code="610402")
WC_LEAD = ActorState(5, frozenset({"shift_lead"}), district_code="610404")
ADMIN = ActorState(9, frozenset({"admin"}))


def case(stage, district=None, center=True):
    return CaseState(stage, "inspector", department_id=10, handling_district=district, district_center=center)


@pytest.mark.parametrize("state, action, actor, target", [
    (case("accepted"), "hand_down", CITY_LEAD, None),
    (case("filed"), "hand_down", CITY_DISP, None),
    (case("accepted", "610402"), "escalate", QD_LEAD, None),
    (case("dispatched", "610402"), "escalate", QD_LEAD, None),
    (case("accepted", "610402"), "file", QD_LEAD, "filed"),
    (case("accepted", "610402"), "file", CITY_LEAD, "filed"),  # the city center may act on every case
    (case("reported", "610402"), "accept", QD_OP, "accepted"),
    (case("dispatched", "610402"), "supervise", CITY_LEAD, None),  # 督办 a district
])
def test_allowed(state, action, actor, target):
    assert decide(state, action, actor) == target


@pytest.mark.parametrize("state, action, actor, status, code", [
    (case("accepted"), "file", QD_LEAD, 403, "not-your-district"),  # the city's case
    (case("accepted", "610404"), "file", QD_LEAD, 403, "not-your-district"),  # another district's
    (case("reported", "610404"), "accept", QD_OP, 403, "not-your-district"),
    (case("accepted"), "hand_down", QD_LEAD, 403, "city-center-only"),
    (case("accepted", "610402"), "hand_down", CITY_LEAD, 409, "already-district"),
    (case("accepted", center=False), "hand_down", CITY_LEAD, 409, "no-district-center"),
    (case("dispatched"), "hand_down", CITY_LEAD, 409, "wrong-stage"),
    (case("accepted", "610402"), "escalate", CITY_LEAD, 403, "district-center-only"),
    (case("accepted", "610404"), "escalate", QD_LEAD, 403, "not-your-district"),
    (case("accepted"), "escalate", ADMIN, 409, "not-district-case"),
    (case("handled", "610402"), "escalate", QD_LEAD, 409, "wrong-stage"),
])
def test_refused(state, action, actor, status, code):
    with pytest.raises(WorkflowError) as err:
        decide(state, action, actor)
    assert (err.value.status, err.value.code) == (status, code)


def test_a_district_center_is_offered_only_its_own_cases():
    assert available_actions(case("accepted"), QD_LEAD) == []
    # (作废 needs a request first; 回退 goes back to the operator's 受理)
    assert set(available_actions(case("accepted", "610402"), QD_LEAD)) == {
        "file", "refuse", "send_back_to_operator", "supervise", "escalate", "annotate"}
    assert "hand_down" in available_actions(case("accepted"), CITY_LEAD)
    assert "hand_down" not in available_actions(case("accepted", center=False), CITY_LEAD)
