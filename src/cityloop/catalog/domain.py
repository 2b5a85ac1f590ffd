"""Catalog rules (pure): reading catalog tables, default filing conditions (立案条件), component ids, distances."""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field, replace
from datetime import date

from cityloop.sla.domain import LimitError, parse_limit

GBT = "GB/T 47678.5-2026"
CJT = "CJ/T 214-2007"
CATEGORY_COLUMNS = ("kind", "major_code", "major_name", "minor_code", "minor_name")
CONDITION_COLUMNS = ("code", "condition_code", "description", "limit", "urgent", "closing_condition")
COMPONENT_COLUMNS = ("id", "type_code", "lon", "lat")  # optional: name, state, owner, maintainer, competent, …
KINDS = {"component": "component", "matter": "matter", "event": "matter", "部件": "component", "事项": "matter",
         "事件": "matter"}
FLAGS = {"": False, "0": False, "1": True, "false": False, "true": True, "否": False, "是": True}

DEFAULT_CLOSING = "问题已处置，现场恢复正常"
FALLBACK = ("1d", "0", DEFAULT_CLOSING)  # a local major class without a rule
# Component matters ("…异常"): a hazard is urgent (continuous time), the rest is ordinary maintenance.
COMPONENT_DEFAULTS = (
    ("01", "部件缺失、破损，存在安全隐患", "4h", "1", "部件已补齐或修复，安全隐患消除"),
    ("02", "部件污损、倾斜、功能异常", "3d", "0", "部件已清洁、扶正或修复，功能恢复正常"),
)
# Other matters: one condition by major class (limit, urgent 0/1, closing condition).
MATTER_DEFAULTS = {
    "06": ("4h", "0", "问题已处置，现场恢复整洁"),
    "07": ("1d", "0", "违规广告宣传品已清除或整改到位"),
    "08": ("2d", "0", "施工问题已整改，现场符合管理要求"),
    "09": ("2h", "0", "街面秩序已恢复，现场无违规行为"),
    "10": ("4h", "0", "问题已处置，安全隐患消除"),
}
# CJ/T 214-2007 event classes (loaded as SJ01 …) follow their GB/T counterparts; 突发事件 cannot wait for work hours.
MATTER_DEFAULTS |= {"SJ01": MATTER_DEFAULTS["06"], "SJ02": MATTER_DEFAULTS["07"], "SJ03": MATTER_DEFAULTS["08"],
                    "SJ04": ("2h", "1", "险情已排除，现场恢复正常"), "SJ05": MATTER_DEFAULTS["09"]}

_MAJOR = re.compile(r"[0-9]{2}")
_MINOR = re.compile(r"[0-9]{4,8}")
_CONDITION = re.compile(r"[0-9A-Za-z]{1,16}")
_NUMBER = re.compile(r"-?[0-9]{1,3}(\.[0-9]+)?")
EARTH_RADIUS_M = 6_371_008.8

Row = tuple[int, dict[str, str]]


class CatalogError(ValueError):
    """A table that cannot be loaded; line is the 1-based line of the file."""

    def __init__(self, line: int, zh: str, en: str) -> None:
        super().__init__(f"line {line}: {en}")
        self.line, self.zh, self.en = line, zh, en


@dataclass(frozen=True)
class ConditionSpec:
    """A filing condition (立案条件) with its handling limit and closing condition."""

    code: str
    description: str
    limit_value: int
    limit_unit: str
    urgent: bool
    closing_condition: str


@dataclass
class CategorySpec:
    """A component type or a matter as read from a table with its conditions (see default_position)."""

    kind: str
    major_code: str
    major_name: str
    code: str
    name: str
    component_code: str | None = None
    conditions: list[ConditionSpec] = field(default_factory=list)


@dataclass(frozen=True)
class ComponentSpec:
    """A surveyed component instance (部件普查) as read; text cells (name, owner, grid_code, …) kept as given."""

    line: int
    id: str
    type_code: str
    lon: float
    lat: float
    initial_date: date | None
    cells: dict[str, str]


def read_csv(text: str, required: tuple[str, ...]) -> list[Row]:
    """Non-empty rows of a CSV text with their line numbers; the header must hold the required columns."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [(h or "").strip() for h in reader.fieldnames or []]
        missing = [c for c in required if c not in header]
        if missing:
            raise CatalogError(1, f"表头缺少列：{'、'.join(missing)}", f"missing columns: {', '.join(missing)}")
        reader.fieldnames = header
        rows = []
        for record in reader:
            if None in record:
                raise CatalogError(reader.line_num, "字段数多于表头", "more fields than the header has columns")
            cells = {k: (v or "").strip() for k, v in record.items()}
            if any(cells.values()):
                rows.append((reader.line_num, cells))
        return rows
    except csv.Error as exc:
        raise CatalogError(reader.line_num, f"CSV 格式错误：{exc}", f"malformed CSV: {exc}") from exc


def _text(line: int, row: dict[str, str], column: str, max_len: int, zh: str) -> str:
    value = row.get(column, "")
    if not value:
        raise CatalogError(line, f"{zh}（{column}）不能为空", f"{column} is empty")
    if len(value) > max_len:
        raise CatalogError(line, f"{zh}（{column}）超过 {max_len} 个字", f"{column} is longer than {max_len}")
    return value


def parse_condition(line: int, code: str, description: str, limit: str, urgent: str, closing: str) -> ConditionSpec:
    """One filing condition from its cells; the limit is 30m, 4h or 2d."""
    if not _CONDITION.fullmatch(code):
        raise CatalogError(line, f"立案条件代码“{code}”应为 1–16 位字母或数字",
                           f"condition code {code!r} must be 1-16 letters or digits")
    if not description:
        raise CatalogError(line, "立案条件描述不能为空", "the condition description is empty")
    try:
        value, unit = parse_limit(limit)
    except LimitError as exc:
        raise CatalogError(line, f"时限“{limit}”无效，应为 30m、4h 或 2d 的形式",
                           f"bad limit {limit!r}: use 30m, 4h or 2d") from exc
    if urgent.lower() not in FLAGS:
        raise CatalogError(line, f"紧急标志“{urgent}”应为 0 或 1", f"urgent {urgent!r} must be 0 or 1")
    return ConditionSpec(code, description, value, unit, FLAGS[urgent.lower()], closing or DEFAULT_CLOSING)


def _category(line: int, row: dict[str, str]) -> CategorySpec:
    kind = KINDS.get(row["kind"].lower())
    if kind is None:
        raise CatalogError(line, f"未知的类别种类“{row['kind']}”，应为 component（部件）或 matter（事项）",
                           f"unknown kind {row['kind']!r}: use component or matter")
    major, code = row["major_code"], row["minor_code"]
    if not _MAJOR.fullmatch(major):
        raise CatalogError(line, f"大类代码“{major}”应为 2 位数字", f"major code {major!r} must be 2 digits")
    if not _MINOR.fullmatch(code) or not code.startswith(major):
        raise CatalogError(line, f"小类代码“{code}”应为以大类代码 {major} 开头的 4–8 位数字",
                           f"minor code {code!r} must be 4-8 digits starting with the major code {major}")
    return CategorySpec(kind, major, _text(line, row, "major_name", 50, "大类名称"), code,
                        _text(line, row, "minor_name", 100, "小类名称"))


def _add_condition(line: int, spec: CategorySpec, cond: ConditionSpec) -> None:
    if any(c.code == cond.code for c in spec.conditions):
        raise CatalogError(line, f"事项 {spec.code} 的立案条件代码 {cond.code} 重复",
                           f"duplicate condition {cond.code} for matter {spec.code}")
    spec.conditions.append(cond)


def parse_categories(rows: list[Row]) -> list[CategorySpec]:
    """Validate category rows in file order; a matter may repeat on several rows, one condition each."""
    specs: dict[tuple[str, str], CategorySpec] = {}
    for line, row in rows:
        spec = _category(line, row)
        has_condition = any(row.get(c) for c in ("condition_code", "condition", "limit"))
        known = specs.get((spec.kind, spec.code))
        if known is not None and not (has_condition and known.conditions and
                                      (known.major_code, known.name) == (spec.major_code, spec.name)):
            raise CatalogError(line, f"代码 {spec.code} 重复", f"duplicate {spec.kind} code {spec.code}")
        spec = specs.setdefault((spec.kind, spec.code), spec)
        if not has_condition:
            continue
        if spec.kind != "matter":
            raise CatalogError(line, "部件类型不设立案条件，请只给事项填写", "only matters have filing conditions")
        code = row.get("condition_code") or f"{len(spec.conditions) + 1:02d}"
        _add_condition(line, spec, parse_condition(line, code, row.get("condition", ""), row.get("limit", ""),
                                                   row.get("urgent", ""), row.get("closing_condition", "")))
    return list(specs.values())


def attach_conditions(rows: list[Row], specs: list[CategorySpec]) -> list[CategorySpec]:
    """Give matters the conditions of a separate conditions table, in file order."""
    matters = {s.code: s for s in specs if s.kind == "matter"}
    for line, row in rows:
        spec = matters.get(row["code"])
        if spec is None:
            raise CatalogError(line, f"未知的事项代码“{row['code']}”", f"unknown matter code {row['code']!r}")
        _add_condition(line, spec, parse_condition(line, row["condition_code"], row["description"], row["limit"],
                                                   row["urgent"], row["closing_condition"]))
    return specs


def legacy_catalog(components: list[CategorySpec], events: list[CategorySpec]) -> list[CategorySpec]:
    """CJ/T 214-2007: events become SJ matters; each BJ component type also gets a "…问题" matter."""
    out = []
    for c in components:
        major, code = f"BJ{c.major_code}", f"BJ{c.code}"
        out.append(CategorySpec("component", major, c.major_name, code, c.name))
        out.append(CategorySpec("matter", major, c.major_name, code, f"{c.name}问题", component_code=code))
    out += [replace(e, kind="matter", major_code=f"SJ{e.major_code}", code=f"SJ{e.code}") for e in events]
    return out


def is_legacy(specs: list[CategorySpec]) -> bool:
    """A legacy 2+2 table (CJ/T 214 style, e.g. 来安's 5大类97小类部件 + 6大类92小类事件): every code has 4 digits,
    and components and events number themselves independently in that one code space."""
    return bool(specs) and all(len(s.code) == 4 for s in specs)


def local_catalog(specs: list[CategorySpec]) -> list[CategorySpec]:
    """A local table as loaded: a legacy 2+2 table keeps kinds apart like CJ/T 214 (BJ… components each with a
    "…问题" matter, SJ… events never linked to the component that shares their number); in a GB/T-shaped table
    every component type without a matter of its code gets one ("…异常")."""
    if is_legacy(specs):
        return legacy_catalog([s for s in specs if s.kind == "component"], [s for s in specs if s.kind == "matter"])
    matters = {s.code for s in specs if s.kind == "matter"}
    extra = [CategorySpec("matter", s.major_code, s.major_name, s.code, f"{s.name}异常"[:100], component_code=s.code)
             for s in specs if s.kind == "component" and s.code not in matters]
    return specs + extra


# 事项代码 (SXDM, GB/T 47678.5 Table 3): 6-digit admin code + 5-digit type code (2 major + 3 minor). A legacy 2+2
# code is widened to 2+3; legacy events get majors 51–56 (event major + 50), outside GB/T's 01–10, so a partner
# system never reads one as a different GB/T matter.
LEGACY_EVENT_MAJOR_OFFSET = 50


def type_code5(code: str) -> str | None:
    """The 5-digit type code of a category code (GB/T as is; BJmmnn → mm0nn; SJmmnn → (mm+50)0nn), or None."""
    if len(code) == 5 and code.isdigit():
        return code
    prefix, digits = code[:2], code[2:]
    if prefix in ("BJ", "SJ") and len(digits) == 4 and digits.isdigit():
        major = int(digits[:2]) + (LEGACY_EVENT_MAJOR_OFFSET if prefix == "SJ" else 0)
        return f"{major:02d}0{digits[2:]}"
    return None


def matter_code(admin_code: str, code: str) -> str | None:
    """The 11-digit 事项代码 of a matter in an area (admin code, 6 digits), or None if the code has no 5-digit form."""
    five = type_code5(code)
    admin = (admin_code or "")[:6]
    return admin + five if five and len(admin) == 6 and admin.isdigit() else None


def default_conditions(spec: CategorySpec) -> list[ConditionSpec]:
    """Conditions for a matter whose table names none: by its component type, else by major class."""
    if spec.component_code:
        return [parse_condition(0, *row) for row in COMPONENT_DEFAULTS]
    return [parse_condition(0, "01", f"{spec.name}，经核实属实", *MATTER_DEFAULTS.get(spec.major_code, FALLBACK))]


def default_position(conditions: list[ConditionSpec]) -> int:
    """Which condition 立案 uses when none is named: the first non-urgent one (紧急 is an explicit escalation)."""
    return next((i for i, c in enumerate(conditions) if not c.urgent), 0)


def complete(specs: list[CategorySpec]) -> list[CategorySpec]:
    """Link each matter to the component type with its code, and give matters without conditions the defaults."""
    component_codes = {s.code for s in specs if s.kind == "component"}
    for spec in specs:
        if spec.kind != "matter":
            continue
        if spec.component_code is None and spec.code in component_codes:
            spec.component_code = spec.code
        if not spec.conditions:
            spec.conditions = default_conditions(spec)
    return specs


def component_id_problem(component_id: str, admin_code: str, type_code: str) -> str | None:
    """Why this is not a component id of the area and type (text "zh / en"), or None."""
    # GB/T 47678.5: 17 digits = 6 admin + 5 type + 6 sequence; CJ/T 214: 16 digits = 6 admin + 2 + 2 + 6.
    component_id, type_digits = component_id or "", type_code.removeprefix("BJ")
    if not (component_id.isascii() and component_id.isdigit()):
        return "标识码只能由数字组成 / the id must contain digits only"
    type_len = {17: 5, 16: 4}.get(len(component_id))
    if type_len is None:
        return ("标识码应为 17 位（GB/T 47678.5）或 16 位（CJ/T 214） / "
                "the id must have 17 digits (GB/T 47678.5) or 16 (CJ/T 214)")
    if component_id[:6] != admin_code:
        return f"前 6 位应为行政区划代码 {admin_code} / the first 6 digits must be the admin code {admin_code}"
    if len(type_digits) != type_len:
        return (f"{len(component_id)} 位标识码需要 {type_len} 位部件类型代码，不能用 {type_code} / "
                f"a {len(component_id)}-digit id needs a {type_len}-digit type code, not {type_code}")
    if component_id[6:6 + type_len] != type_digits:
        return (f"第 7–{6 + type_len} 位应为部件类型代码 {type_digits} / "
                f"digits 7-{6 + type_len} must be the type code {type_digits}")
    if component_id[-6:] == "000000":
        return "顺序码不能为 000000 / the sequence number must not be 000000"
    return None


def _number(line: int, row: dict[str, str], column: str, bound: float) -> float:
    value = float(row[column]) if _NUMBER.fullmatch(row[column]) else math.nan
    if not -bound <= value <= bound:
        raise CatalogError(line, f"{column}“{row[column]}”应为 -{bound:g} 到 {bound:g} 之间的数",
                           f"{column} {row[column]!r} must be a number between -{bound:g} and {bound:g}")
    return value


def _date(line: int, text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError as exc:
        raise CatalogError(line, f"日期“{text}”应为 YYYYMMDD 或 YYYY-MM-DD", f"date {text!r}: use YYYYMMDD") from exc


def parse_components(rows: list[Row], admin_code: str) -> list[ComponentSpec]:
    """Validate component instance rows: ids against the admin code and type, coordinates, dates, lengths."""
    seen: set[str] = set()
    out = []
    for line, row in rows:
        cid, type_code = row["id"], row["type_code"]
        if not type_code:
            raise CatalogError(line, "部件类型代码（type_code）不能为空", "type_code is empty")
        problem = component_id_problem(cid, admin_code, type_code)
        if problem:
            zh, en = problem.split(" / ", 1)
            raise CatalogError(line, f"部件标识码“{cid}”无效：{zh}", f"bad component id {cid!r}: {en}")
        if cid in seen:
            raise CatalogError(line, f"部件标识码 {cid} 重复", f"duplicate component id {cid}")
        seen.add(cid)
        for column, max_len in (("name", 30), ("state", 10), ("data_source", 30), ("note", 1000)):
            if len(row.get(column, "")) > max_len:
                raise CatalogError(line, f"{column} 超过 {max_len} 个字", f"{column} is longer than {max_len}")
        out.append(ComponentSpec(line, cid, type_code, _number(line, row, "lon", 180), _number(line, row, "lat", 90),
                                 _date(line, row.get("initial_date", "")), row))
    return out


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bbox(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """A lon/lat box that contains the circle (for a cheap SQL pre-filter)."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat
