"""What is counted (pure): the per-case counters with their names, how they are packed into two integers, which
object each evaluated kind groups them by, and the standard rates (standards.md §6.1).

A case's counters are stored as bits of `flags` (0/1 counters) and small fields of `counts` (multi-valued ones),
so a month of a million cases is read as a few integer columns and summed with numpy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# 0/1 counters, one bit each, in bit order (never reorder: stored rows depend on it; append only).
FLAGS: tuple[tuple[str, str, str], ...] = (
    ("reported", "上报数", "reported"),
    ("valid_reported", "有效上报数", "valid reports"),
    ("self_closed", "自行处置数", "self-handled"),
    ("accept_due", "应受理数", "to accept"),
    ("accepted", "受理数", "accepted"),
    ("accepted_on_time", "按时受理数", "accepted on time"),
    ("not_accepted", "不予受理数", "not accepted"),
    ("merged", "重复案件数", "merged duplicates"),
    ("verify_sent", "发核实数", "sent to verify"),
    ("verify_sent_on_time", "按时发核实数", "sent to verify on time"),
    ("verify_due", "应核实数", "to verify"),
    ("verified", "核实数", "verified"),
    ("verified_on_time", "按时核实数", "verified on time"),
    ("verified_false", "核实不属实数", "verified false"),
    ("public_verified", "监督举报核实数(漏报数)", "public reports verified true (missed)"),
    ("file_due", "应立案数", "to file"),
    ("filed", "立案数", "filed"),
    ("filed_on_time", "按时立案数", "filed on time"),
    ("refused", "不予立案数", "refused"),
    ("voided", "作废数", "voided after filing"),
    ("accurate_filed", "准确立案数", "accurately filed"),
    ("dispatch_due", "应派遣数", "to dispatch"),
    ("dispatched", "派遣数", "dispatched"),
    ("dispatched_on_time", "按时派遣数", "dispatched on time"),
    ("wrong_dispatch", "错误派遣数", "wrong dispatches"),
    ("accurate_dispatched", "准确派遣数", "accurately dispatched"),
    ("handle_due", "应处置数", "to handle"),
    ("handled", "处置数", "handled"),
    ("handled_on_time", "按期处置数", "handled on time"),
    ("handled_overtime", "超期处置数", "handled late"),
    ("reworked", "返工案件数", "reworked cases"),
    ("suspended", "挂账数", "suspended now"),
    ("close_due", "应结案数", "to close"),
    ("closed", "结案数", "closed"),
    ("closed_on_time", "按期结案数", "closed on time"),
    ("closed_overtime", "超期结案数", "closed late"),
    ("lead_close_due", "应结案审核数", "to close (shift lead)"),
    ("lead_closed", "结案审核数", "closed (shift lead)"),
    ("lead_closed_on_time", "按时结案审核数", "closed on time (shift lead)"),
    ("rated", "评价数", "rated"),
    ("satisfied", "满意数", "satisfied"),
    ("dissatisfied", "不满意数", "dissatisfied"),
    ("supervised", "督办案件数", "supervised"),
    # docs/workflow.md: 发核查 by the 受理员 (CITYLOOP_CHECK_DISPATCH=operator), 回退 to the previous node,
    # 特殊结案, 督办单.
    ("check_send_due", "应发核查数", "check tasks to send"),
    ("check_sent", "发核查数", "check tasks sent"),
    ("check_sent_on_time", "按时发核查数", "check tasks sent on time"),
    ("sent_back_to_lead", "回退至值班长数", "sent back to the shift lead"),
    ("sent_back_to_operator", "回退至受理员数", "sent back to the operator"),
    ("closed_special", "特殊结案数", "closed as special"),
    ("supervision_ordered", "督办单案件数", "cases with a supervision order"),
    ("supervise_unanswered", "督办超期未回复数", "supervision orders answered late or not at all"),
    ("supervise_repeated", "重复督办数", "cases supervised again (same unit)"),
)
# Multi-valued counters: (name, bits, zh, en); the values saturate at 2**bits - 1. The usual ones come first so
# the packed number stays short (it is read as text on SQLite).
COUNTS: tuple[tuple[str, int, str, str], ...] = (
    ("check_due", 6, "应核查数", "to check"),
    ("checked", 6, "核查数", "checked"),
    ("checked_on_time", 6, "按时核查数", "checked on time"),
    ("reworks", 6, "返工次数", "reworks"),
    ("returns", 6, "回退次数", "returns"),
    ("extensions", 6, "延期次数", "extensions"),
    ("suspensions", 6, "历史挂账数", "suspensions (history)"),
    ("overtime_multiple", 10, "超时倍数", "overtime multiples"),
    # internal: the running node whose deadline may still be ahead (see PENDING). The last field, so widening it
    # from 3 to 4 bits (for send_check) left every stored row readable.
    ("open_node", 4, "", ""),
)
# Figures computed when a period is assessed, from the counters and the time of assessment.
DERIVED = {"overdue_open": ("超期未处置数", "overdue, not handled")}

FLAG_BIT = {name: bit for bit, (name, _, _) in enumerate(FLAGS)}
COUNT_FIELD: dict[str, tuple[int, int]] = {}
_shift = 0
for _name, _bits, _, _ in COUNTS:
    COUNT_FIELD[_name] = (_shift, _bits)
    _shift += _bits
assert len(FLAGS) < 63 and _shift < 63, "the packed counters must fit a signed 64-bit integer"

LABELS: dict[str, tuple[str, str]] = {n: (zh, en) for n, zh, en in FLAGS}
LABELS |= {n: (zh, en) for n, _, zh, en in COUNTS if n != "open_node"}
LABELS |= DERIVED
COUNTERS = tuple(LABELS)  # every public counter name

# Workflow nodes as stored in the open_node field.
NODE_CODES = {"accept": 1, "verify": 2, "file": 3, "dispatch": 4, "handle": 5, "check": 6, "close": 7,
              "send_check": 8}
# While a counted node is running and its deadline is still ahead (or the case is 挂账), it is not yet due:
# these counters do not count it yet (an open *overdue* node does count, against the on-time rates).
PENDING = {1: ("accept_due",), 2: ("verify_due",), 3: ("file_due",), 4: ("dispatch_due",),
           5: ("handle_due", "close_due"), 6: ("check_due",), 7: ("lead_close_due",), 8: ("check_send_due",)}
NEVER = 2**62  # pending_ts of a suspended case: never due while 挂账


def pack(counters: dict[str, int]) -> tuple[int, int]:
    """(flags, counts) for a case's counters; unknown names are an error, counts saturate."""
    flags = counts = 0
    for name, value in counters.items():
        if not value:
            continue
        if name in FLAG_BIT:
            flags |= 1 << FLAG_BIT[name]
        elif name in COUNT_FIELD:
            shift, bits = COUNT_FIELD[name]
            counts |= min(int(value), (1 << bits) - 1) << shift
        else:
            raise KeyError(name)
    return flags, counts


def unpack(flags: int, counts: int) -> dict[str, int]:
    """The counters (non-zero ones) of a packed case."""
    out = {name: 1 for name, bit in FLAG_BIT.items() if flags >> bit & 1}
    for name, (shift, bits) in COUNT_FIELD.items():
        value = counts >> shift & ((1 << bits) - 1)
        if value:
            out[name] = value
    return out


# The projection's object columns (0 = none) and the counters each kind takes from which column.
OBJECT_COLUMNS = ("grid", "department_id", "return_department_id", "reporter_id", "operator_id", "verifier_id",
                  "filer_id", "dispatcher_id", "checker_id", "closer_id")
DEPARTMENT_COUNTERS = ("handle_due", "handled", "handled_on_time", "handled_overtime", "overdue_open",
                       "overtime_multiple", "reworked", "reworks", "extensions", "suspended", "suspensions",
                       "close_due", "closed", "closed_on_time", "closed_overtime", "rated", "satisfied",
                       "dissatisfied", "supervised", "filed", "closed_special", "supervision_ordered",
                       "supervise_unanswered", "supervise_repeated")
REGION_COUNTERS = ("reported", "valid_reported", "public_verified", "filed", "handle_due", "handled",
                   "handled_on_time", "overdue_open", "close_due", "closed", "closed_on_time", "closed_overtime",
                   "reworked", "suspended", "rated", "satisfied", "extensions")
REGION_RATES = ("handle_rate", "handle_on_time_rate", "close_rate", "close_on_time_rate", "rework_rate",
                "public_report_rate", "valid_report_rate", "satisfaction_rate", "filed_rate", "open_rate",
                "overtime_close_rate", "extension_rate")
# Unit-grid code digits of each region level (6 admin + 3 street + 3 community + 3 sequence).
REGION_DIGITS = {"district": 6, "street": 9, "community": 12, "grid": 15}


@dataclass(frozen=True)
class Kind:
    """An evaluated object kind: its name, where its counters come from, and the rates it shows."""

    zh: str
    en: str
    sources: dict[str, tuple[str, ...]]  # object column -> counters
    rates: tuple[str, ...]

    @property
    def counters(self) -> tuple[str, ...]:
        return tuple(c for cs in self.sources.values() for c in cs)

    def column_of(self, counter: str) -> str | None:
        """The object column a counter of this kind is grouped by."""
        return next((col for col, cs in self.sources.items() if counter in cs), None)


def _region(zh: str, en: str) -> Kind:
    return Kind(zh, en, {"grid": REGION_COUNTERS}, REGION_RATES)


KINDS: dict[str, Kind] = {
    "department": Kind("专业部门", "Departments", {"department_id": DEPARTMENT_COUNTERS,
                                                  "return_department_id": ("returns",)},
                       ("handle_rate", "handle_on_time_rate", "close_rate", "close_on_time_rate", "rework_rate",
                        "overdue_open_rate", "satisfaction_rate", "overtime_close_rate", "extension_rate",
                        "supervise_unanswered_rate", "supervise_repeat_rate")),
    "district": _region("区县", "Districts"),
    "street": _region("街道/乡镇", "Streets and towns"),
    "community": _region("社区/村", "Communities"),
    "grid": _region("单元网格", "Unit grids"),
    "inspector": Kind("监督员", "Inspectors", {
        "reporter_id": ("reported", "valid_reported", "self_closed", "filed"),
        "verifier_id": ("verify_due", "verified", "verified_on_time", "verified_false", "public_verified"),
        "checker_id": ("check_due", "checked", "checked_on_time")},
        ("valid_report_rate", "missed_rate", "verify_on_time_rate", "check_on_time_rate")),
    "operator": Kind("受理员", "Operators", {"operator_id": (
        "accept_due", "accepted", "accepted_on_time", "not_accepted", "merged", "verify_sent",
        "verify_sent_on_time", "check_send_due", "check_sent", "check_sent_on_time", "sent_back_to_operator")},
        ("accept_on_time_rate", "verify_send_on_time_rate", "check_send_on_time_rate")),
    "shift_lead": Kind("值班长", "Shift leads", {
        "filer_id": ("file_due", "filed", "filed_on_time", "refused", "voided", "accurate_filed", "sent_back_to_lead"),
        "closer_id": ("lead_close_due", "lead_closed", "lead_closed_on_time")},
        ("file_on_time_rate", "accurate_file_rate", "lead_close_on_time_rate")),
    "dispatcher": Kind("派遣员", "Dispatchers", {"dispatcher_id": (
        "dispatch_due", "dispatched", "dispatched_on_time", "wrong_dispatch", "accurate_dispatched")},
        ("dispatch_on_time_rate", "accurate_dispatch_rate")),
}
PEOPLE_ROLES = {"inspector": "inspector", "operator": "operator", "shift_lead": "shift_lead",
                "dispatcher": "dispatcher"}


@dataclass(frozen=True)
class Rate:
    """numerator / (sum of denominators), shown as 0–1; None when nothing was due."""

    zh: str
    en: str
    numerator: str
    denominators: tuple[str, ...]
    minus: str | None = None  # subtracted from the numerator (未结案数 = 应结案数 − 结案数)


RATES: dict[str, Rate] = {
    "handle_rate": Rate("处置率", "handling rate", "handled", ("handle_due",)),
    "handle_on_time_rate": Rate("按期处置率", "on-time handling rate", "handled_on_time", ("handle_due",)),
    "close_rate": Rate("结案率", "closing rate", "closed", ("close_due",)),
    "close_on_time_rate": Rate("按期结案率", "on-time closing rate", "closed_on_time", ("close_due",)),
    "rework_rate": Rate("返工率", "rework rate", "reworked", ("close_due",)),
    "overdue_open_rate": Rate("超期未处置率", "overdue open rate", "overdue_open", ("handle_due",)),
    "satisfaction_rate": Rate("满意率", "satisfaction rate", "satisfied", ("rated",)),
    "public_report_rate": Rate("监督举报率", "public report rate", "public_verified", ("filed",)),
    "valid_report_rate": Rate("有效上报率", "valid report rate", "valid_reported", ("reported",)),
    "missed_rate": Rate("漏报率", "missed rate", "public_verified", ("filed",)),
    "verify_on_time_rate": Rate("按期核实率", "on-time verification rate", "verified_on_time", ("verify_due",)),
    "check_on_time_rate": Rate("按期核查率", "on-time check rate", "checked_on_time", ("check_due",)),
    "accept_on_time_rate": Rate("按时受理率", "on-time acceptance rate", "accepted_on_time", ("accept_due",)),
    "verify_send_on_time_rate": Rate("核实按时派发率", "verify tasks sent on time", "verify_sent_on_time",
                                     ("verify_sent",)),
    "file_on_time_rate": Rate("按时立案率", "on-time filing rate", "filed_on_time", ("filed",)),
    "accurate_file_rate": Rate("准确立案率", "accurate filing rate", "accurate_filed", ("filed",)),
    "lead_close_on_time_rate": Rate("按时结案率", "on-time closing (shift lead)", "lead_closed_on_time",
                                    ("lead_closed",)),
    "dispatch_on_time_rate": Rate("按时派遣率", "on-time dispatch rate", "dispatched_on_time", ("dispatch_due",)),
    "accurate_dispatch_rate": Rate("准确派遣率", "accurate dispatch rate", "accurate_dispatched", ("dispatch_due",)),
    "filed_rate": Rate("立案率", "filing rate", "filed", ("reported",)),
    "open_rate": Rate("未结案率", "open case rate", "close_due", ("reported",), minus="closed"),
    "overtime_close_rate": Rate("超期结案率", "overdue closing rate", "closed_overtime", ("close_due",)),
    "extension_rate": Rate("延期率", "extension rate", "extensions", ("handle_due",)),
    "check_send_on_time_rate": Rate("核查按时派发率", "check tasks sent on time", "check_sent_on_time",
                                    ("check_send_due",)),
    "supervise_unanswered_rate": Rate("督办超期未回复率", "supervision unanswered rate", "supervise_unanswered",
                                      ("supervision_ordered",)),
    "supervise_repeat_rate": Rate("重复督办率", "repeated supervision rate", "supervise_repeated", ("handle_due",)),
}
# A 考核办法 option may swap a rate's definition: (rate, option value) -> the rate it uses instead.
RATE_VARIANTS: dict[tuple[str, str], Rate] = {
    ("missed_rate", "valid_reports_plus_missed"): Rate("漏报率", "missed rate", "public_verified",
                                                      ("valid_reported", "public_verified")),
}


def rate(rule: Rate, counters: Mapping[str, float]) -> float | None:
    """The rate's value in [0, 1], or None when its denominator is zero."""
    den = sum(counters.get(d, 0) for d in rule.denominators)
    if not den:
        return None
    num = counters.get(rule.numerator, 0) - (counters.get(rule.minus, 0) if rule.minus else 0)
    return min(1.0, max(0.0, num / den))
