"""The console menu: each role sees the pages of its part of the loop, grouped by area so that the header stays one
line high at 1366 px. Areas add entries to MENU."""

from __future__ import annotations

from dataclasses import dataclass

from cityloop.org.actor import Actor


@dataclass(frozen=True)
class Entry:
    path: str
    zh: str
    en: str
    roles: frozenset[str]  # empty: every logged-in user
    group: str = ""  # a key of GROUPS; empty: always on the bar itself


# The header's dropdowns, in order: key → (zh, en).
GROUPS: dict[str, tuple[str, str]] = {
    "cases": ("案件办理", "Cases"), "oversight": ("督查考评", "Oversight"), "watch": ("专项监管", "Monitoring"),
    "mobile": ("移动应用", "Mobile apps"), "services": ("服务与管理", "Services"),
}


def entry(path: str, zh: str, en: str, *roles: str, group: str = "") -> Entry:
    return Entry(path, zh, en, frozenset(roles), group)


MENU: list[Entry] = [
    entry("/console", "工作台", "Dashboard"),
    entry("/console/inbox", "我的待办", "My inbox"),
    entry("/console/cases", "案件查询", "Cases", "operator", "shift_lead", "dispatcher", "leader", "department", group="cases"),
    entry("/console/ownership", "待确权", "Ownership queue", "dispatcher", group="cases"),
    entry("/console/overview", "督查督办", "Oversight", "leader", "shift_lead", group="oversight"),
    entry("/screen", "一屏观全域", "Big screen", "leader", "shift_lead", "dispatcher", "operator", group="oversight"),
    entry("/console/admin", "系统管理", "Administration", "admin", "dispatcher", group="services"),
    entry("/console/notify", "消息通知", "Notifications", "admin", group="services"),
    entry("/m/inspector", "城管通", "Inspector app", "inspector", group="mobile"),
    entry("/m/department", "部门处置通", "Department app", "department", group="mobile"),
    entry("/console/hotline", "热线受理", "Hotline intake", "operator", "shift_lead", group="cases"),
    entry("/console/intake", "上报审核", "Intake review", "operator", "shift_lead", group="cases"),
    entry("/console/workorders", "12345工单", "12345 orders", "operator", "shift_lead", "dispatcher", "leader", group="cases"),
    entry("/console/sensors", "运行监测", "IoT monitoring", "operator", "shift_lead", "dispatcher", "leader", "department", group="watch"),
    entry("/console/fleet", "渣土车监管", "Muck trucks", "operator", "shift_lead", "dispatcher", "leader", "department", group="watch"),
    entry("/console/campaigns", "专项普查", "Campaigns", "operator", "shift_lead", "dispatcher", "leader", "inspector", group="watch"),
    entry("/console/muck", "渣土车抽查", "Truck checks", "operator", "shift_lead", "dispatcher", "leader", "department",
          "inspector", group="watch"),
    entry("/portal", "企业门户", "Company portal", "company", group="services"),
    entry("/console/assessment", "综合评价", "Assessment", "leader", "shift_lead", "dispatcher", "operator",
          "department", "inspector", group="oversight"),
    entry("/console/public", "公众服务", "Public services", "operator", "shift_lead", "dispatcher", "leader", "inspector", group="services"),
    entry("/console/exchange", "数据交换", "Data exchange", "operator", "shift_lead", "dispatcher", "leader", group="services"),
]


def menu_for(actor: Actor) -> list[Entry]:
    """The entries this actor may open (admins see all but the company portal, which needs a company's account)."""
    return [e for e in MENU if not e.roles or actor.has(*e.roles) or ("admin" in actor.roles and e.roles != COMPANY)]


COMPANY = frozenset({"company"})


@dataclass(frozen=True)
class Group:
    zh: str
    en: str
    entries: list[Entry]


def grouped(entries: list[Entry]) -> list[Entry | Group]:
    """The header bar: ungrouped entries first, then one dropdown per area in GROUPS order; an area with a single
    entry for this user is shown as that entry."""
    bar: list[Entry | Group] = [e for e in entries if not e.group]
    for key, (zh, en) in GROUPS.items():
        mine = [e for e in entries if e.group == key]
        if len(mine) == 1:
            bar.extend(mine)
        elif mine:
            bar.append(Group(zh, en, mine))
    return bar
