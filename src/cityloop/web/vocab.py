"""One zh-CN/en vocabulary for every label a page shows: stages, nodes, sources and channels, roles, actions, close
types, requests, truck violation kinds, sensor types, states, levels and value keys. Pages use `label()` (the Jinja
filter `label`) and scripts `cityloop.label(kind, code)` over the same table (GET /vocab.js); a code missing from the
table is shown as 其他/other, never as itself."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from cityloop.cases.api import ACTION_NAMES, CLOSE_TYPES, NODES, REQUEST_KINDS, SOURCE_NAMES, STAGES
from cityloop.channels.domain import CHANNEL_NAMES, FLAG_NAMES
from cityloop.fleet.domain import KINDS as VIOLATION_KINDS
from cityloop.org.domain import ROLE_NAMES
from cityloop.sensors.domain import ALARM_STATES, DEVICE_TYPES, LEVELS, METRIC_NAMES, METRICS

REQUESTS = {"return": ("回退", "return"), "extension": ("延期", "extension"), "suspension": ("挂账", "suspension"),
            "void": ("作废", "void")}
SENSOR_STATUS = {"normal": ("正常", "normal"), "alarm": ("报警", "alarm"), "offline": ("离线", "offline"),
                 "silent": ("未上报", "never reported"), "off": ("停用", "not active")}
DEVICE_STATES = {"active": ("在用", "active"), "maintenance": ("维护中", "maintenance"), "retired": ("已停用", "retired")}
LIGHTS = {"green": ("正常", "on time"), "yellow": ("预警", "warning"), "red": ("超时", "overdue"),
          "grey": ("挂账", "suspended")}

# kind -> code -> (zh, en); the codes are strings (some tables are keyed by a Literal of them)
VOCAB: dict[str, Mapping[Any, tuple[str, str]]] = {
    "stage": STAGES, "node": NODES, "source": SOURCE_NAMES, "channel": CHANNEL_NAMES, "role": ROLE_NAMES,
    "action": ACTION_NAMES, "close_type": CLOSE_TYPES, "request": {k: REQUESTS[k] for k in REQUEST_KINDS},
    "violation": VIOLATION_KINDS, "device_type": {k: (v["zh"], v["en"]) for k, v in DEVICE_TYPES.items()},
    "sensor_status": SENSOR_STATUS, "device_state": DEVICE_STATES, "alarm_state": ALARM_STATES, "level": LEVELS,
    "metric": METRIC_NAMES, "light": LIGHTS, "photo_flag": FLAG_NAMES,
}
OTHER = ("其他", "other")
UNITS = {"°C": "℃"}


def label(kind: str, code: str | None, lang: str = "zh") -> str:
    """The name of a code in the page's language ('' for none, 其他 for a code the vocabulary does not know)."""
    if code is None or code == "":
        return ""
    return VOCAB[kind].get(code, OTHER)[lang == "en"]


def reading(metric: str, value: object, lang: str = "zh") -> str:
    """One value as a person reads it: 温度 9.5 ℃, 井盖开启 是."""
    name = label("metric", metric, lang)
    kind, _, _, unit = METRICS.get(metric, ("num", 0, 0, ""))
    if kind == "bool" or isinstance(value, bool):
        return f"{name} {('是', 'yes')[lang == 'en'] if value else ('否', 'no')[lang == 'en']}"
    if isinstance(value, float):
        value = round(value, 1)
    unit = UNITS.get(unit, unit)
    return f"{name} {value}{' ' + unit if unit else ''}"


def readings(values: Mapping[str, object] | None, lang: str = "zh") -> str:
    """A device's latest values on one line: 水深 12 cm · 电量 87 %."""
    return " · ".join(reading(k, v, lang) for k, v in (values or {}).items())


@cache
def vocab_json(lang: str = "zh") -> str:
    """The vocabulary in one language for scripts (kind -> code -> name, plus metric units)."""
    table = {kind: {code: names[lang == "en"] for code, names in words.items()} for kind, words in VOCAB.items()}
    table["unit"] = {k: UNITS.get(v[3], v[3]) for k, v in METRICS.items()}
    return json.dumps(table, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
