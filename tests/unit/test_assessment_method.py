"""The 考核办法: the reference's rates and formula options with worked examples, and the method file (presets,
custom files, refused files)."""

from __future__ import annotations

import pytest

from cityloop.assessment import engine, method
from cityloop.assessment.figures import RATE_VARIANTS, RATES, rate
from cityloop.assessment.scoring import DEFAULT_BANDS, DEFAULT_GRADES, DEFAULT_WEIGHTS, make_config, score

REF = make_config()
DEPLOYED = method.load("deployed").config()


# standards.md §6.1 (立案率 from the role tables' 立案数 ÷ 上报数); worked examples by hand.
@pytest.mark.parametrize("name, counters, expected", [
    ("filed_rate", {"filed": 45, "reported": 60}, 0.75),                                # 立案率 = 立案数/上报数
    ("filed_rate", {"filed": 0, "reported": 0}, None),
    ("open_rate", {"close_due": 40, "closed": 30, "reported": 50}, 0.2),                # 未结案率 = 未结案数/上报数
    ("open_rate", {"close_due": 3, "closed": 3, "reported": 8}, 0.0),
    ("overtime_close_rate", {"closed_overtime": 6, "close_due": 40}, 0.15),            # 超期结案率 = 超期结案数/应结案数
    ("overtime_close_rate", {"closed_overtime": 0}, None),
    ("extension_rate", {"extensions": 3, "handle_due": 60}, 0.05),                     # 延期率 = 延期数/应处置数
    ("missed_rate", {"public_verified": 3, "filed": 30, "valid_reported": 12}, 0.1),   # 漏报率 = 漏报数/立案数
])
def test_reference_rates(name, counters, expected):
    got = rate(RATES[name], counters)
    assert got == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize("option, expected", [("filed", 0.1), ("valid_reports_plus_missed", 0.2)])
def test_missed_rate_options(option, expected):
    counters = {"public_verified": 3, "filed": 30, "valid_reported": 12}
    assert engine.rates_of("inspector", counters, option)["missed_rate"] == pytest.approx(expected)
    assert ("missed_rate", "valid_reports_plus_missed") in RATE_VARIANTS


@pytest.mark.parametrize("base, expected_band", [("filed", 100.0), ("due", 90.0)])
def test_department_filed_score_base(base, expected_band):
    # 40 cases filed for the department this month, 60 due (20 carried over): ≤ 50 → 100, 51–100 → 90
    counters = {"filed": 40, "handle_due": 60, "close_due": 60, "closed": 60, "handled_on_time": 60}
    cfg = make_config(options={"department_filed_score_base": base})
    _, parts = score("department", counters, engine.rates_of("department", counters), cfg)
    assert parts["filed_score"] == expected_band


@pytest.mark.parametrize("formula, value, indicator", [
    # 受理数 600 → 75; 核实按时派发率 90 %; 核查按时派发率 100 % (the platform sends them) vs 按时受理率 80 %
    ("reference", (75 * 25 + 90 * 40 + 100 * 35) / 100, "check_send_on_time_rate"),
    ("deployed", (75 * 25 + 90 * 40 + 80 * 35) / 100, "accept_on_time_rate"),
])
def test_operator_formula(formula, value, indicator):
    counters = {"accepted": 600, "accept_due": 600, "accepted_on_time": 480, "verify_sent": 100,
                "verify_sent_on_time": 90}
    cfg = make_config(options={"operator_formula": formula})
    got, parts = score("operator", counters, engine.rates_of("operator", counters), cfg)
    assert indicator in parts and len(parts) == 3
    assert got == pytest.approx(value, abs=0.005)


def test_the_default_follows_the_reference():
    assert REF.options == method.load("reference").config().options == {
        "missed_rate_denominator": "filed", "department_filed_score_base": "filed", "operator_formula": "reference"}
    assert DEPLOYED.options["missed_rate_denominator"] == "valid_reports_plus_missed"


def test_reference_preset_equals_the_built_in_tables():
    cfg = method.load("reference").config()
    assert cfg.bands == DEFAULT_BANDS and cfg.weights == DEFAULT_WEIGHTS and cfg.grades == DEFAULT_GRADES


def test_a_custom_band_file_changes_scores(tmp_path):
    f = tmp_path / "county.toml"
    f.write_text('name = "county"\n[bands]\ndepartment = [[200, 100], [1000, 80], ["above", 60]]\n', "utf-8")
    cfg = method.load(f).config()
    counters = {"filed": 150}
    assert score("department", counters, {}, cfg)[1]["filed_score"] == 100.0
    assert score("department", counters, {}, REF)[1]["filed_score"] == 75.0
    assert cfg.bands["operator"] == DEFAULT_BANDS["operator"]  # the rest stays the reference's


def test_a_json_method_file(tmp_path):
    f = tmp_path / "m.json"
    f.write_text('{"options": {"operator_formula": "deployed"}, "grades": [["优", 85], ["良", 0]]}', "utf-8")
    cfg = method.load(f).config()
    assert cfg.options["operator_formula"] == "deployed" and cfg.grades == [["优", 85], ["良", 0]]


@pytest.mark.parametrize("text, fault", [
    ('[bands]\ndepartment = [[50, 100], [100, 90]]\n', "above"),
    ('[bands]\ndepartment = [[100, 100], [50, 90], ["above", 0]]\n', "rise"),
    ('[bands]\nnonsense = [["above", 0]]\n', "nonsense"),
    ('[options]\nmissed_rate_denominator = "reported"\n', "missed_rate_denominator"),
    ('[weights.department]\nfiled_score = -1\n', "filed_score"),
    ('[weights.nobody]\nx = 1\n', "nobody"),
    ('[[rewards]]\naction = "约谈"\n', "exactly one"),
    ('grades = [["A", 50], ["B", 90]]\n', "highest"),
    ('surprise = 1\n', "surprise"),
    ('[bands\n', "cannot read"),
])
def test_a_bad_file_is_refused(tmp_path, text, fault):
    f = tmp_path / "bad.toml"
    f.write_text(text, "utf-8")
    with pytest.raises(method.MethodError, match=fault) as info:
        method.load(f)
    assert str(f) in str(info.value)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(method.MethodError, match="cannot read"):
        method.load(tmp_path / "absent.toml")
