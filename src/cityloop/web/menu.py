"""The console menu: each role sees the pages of its part of the loop. Areas add entries to MENU."""

from __future__ import annotations

from dataclasses import dataclass

from cityloop.deps import Actor


@dataclass(frozen=True)
class Entry:
    path: str
    zh: str
    en: str
    roles: frozenset[str]  # empty: every logged-in user


def entry(path: str, zh: str, en: str, *roles: str) -> Entry:
    return Entry(path, zh, en, frozenset(roles))


MENU: list[Entry] = [
    entry("/console", "工作台", "Dashboard"),
    entry("/console/inbox", "我的待办", "My inbox"),
    entry("/console/cases", "案件查询", "Cases", "operator", "shift_lead", "dispatcher", "leader", "department"),
    entry("/console/ownership", "待确权", "Ownership queue", "dispatcher"),
    entry("/console/overview", "督查督办", "Oversight", "leader", "shift_lead"),
    entry("/screen", "一屏观全域", "Big screen", "leader", "shift_lead", "dispatcher", "operator"),
    entry("/console/admin", "系统管理", "Administration", "admin", "dispatcher"),
    entry("/console/notify", "消息通知", "Notifications", "admin"),
    entry("/m/inspector", "城管通", "Inspector app", "inspector"),
    entry("/m/department", "部门处置通", "Department app", "department"),
    entry("/console/hotline", "热线受理", "Hotline intake", "operator", "shift_lead"),
    entry("/console/intake", "上报审核", "Intake review", "operator", "shift_lead"),
    entry("/console/workorders", "12345工单", "12345 orders", "operator", "shift_lead", "dispatcher", "leader"),
    entry("/console/sensors", "运行监测", "IoT monitoring", "operator", "shift_lead", "dispatcher", "leader", "department"),
    entry("/console/fleet", "渣土车监管", "Muck trucks", "operator", "shift_lead", "dispatcher", "leader", "department"),
    entry("/console/campaigns", "专项普查", "Campaigns", "operator", "shift_lead", "dispatcher", "leader", "inspector"),
    entry("/console/muck", "渣土车抽查", "Truck checks", "operator", "shift_lead", "dispatcher", "leader", "department",
          "inspector"),
    entry("/portal", "企业门户", "Company portal", "company"),
    entry("/console/assessment", "综合评价", "Assessment", "leader", "shift_lead", "dispatcher", "operator",
          "department", "inspector"),
    entry("/console/public", "公众服务", "Public services", "operator", "shift_lead", "dispatcher", "leader", "inspector"),
    entry("/console/exchange", "数据交换", "Data exchange", "operator", "shift_lead", "dispatcher", "leader"),
]


def menu_for(actor: Actor) -> list[Entry]:
    """The entries this actor may open (admins see all but the company portal, which needs a company's account)."""
    return [e for e in MENU if not e.roles or actor.has(*e.roles) or ("admin" in actor.roles and e.roles != COMPANY)]


COMPANY = frozenset({"company"})
