"""Composite scores, grades and rankings (pure), per standards.md §6.2 with configurable weights and bands.

A rate's 分值 is its percentage; lower-is-better rates (返工率, 漏报率, 监督举报率) score 100 − percentage; a count
scores by bands. An indicator whose rate has nothing due is left out and the other weights are scaled up to 100 %.

The regional formula as published weighs 10 + 20 + 30 + 10 = 70 %; we read 按期结案率 as 40 % (the likely
transcription error), so the default regional weights sum to 100 %. Deployments may set their own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cityloop.assessment.figures import KINDS

# indicator -> (mode, source): mode rate | inverse (100 − rate) | band (a counter through bands) | grid_band
INDICATORS: dict[str, dict[str, tuple[str, str]]] = {
    "department": {"filed_score": ("band", "filed"), "close_rate": ("rate", "close_rate"),
                   "handle_on_time_rate": ("rate", "handle_on_time_rate"), "rework_rate": ("inverse", "rework_rate"),
                   # 督办单 figures (docs/workflow.md): deployment options, weight 0 unless a 考核办法 sets one
                   "supervise_unanswered_rate": ("inverse", "supervise_unanswered_rate"),
                   "supervise_repeat_rate": ("inverse", "supervise_repeat_rate")},
    "region": {"public_report_rate": ("inverse", "public_report_rate"), "filed_score": ("grid_band", "filed"),
               "close_rate": ("rate", "close_rate"), "close_on_time_rate": ("rate", "close_on_time_rate")},
    "inspector": {"valid_report_rate": ("rate", "valid_report_rate"), "missed_rate": ("inverse", "missed_rate"),
                  "verify_on_time_rate": ("rate", "verify_on_time_rate"),
                  "check_on_time_rate": ("rate", "check_on_time_rate")},
    "operator": {"accepted_score": ("band", "accepted"),
                 "verify_send_on_time_rate": ("rate", "verify_send_on_time_rate"),
                 "check_send_on_time_rate": ("platform", "accepted"),
                 "accept_on_time_rate": ("rate", "accept_on_time_rate")},
    "shift_lead": {"file_on_time_rate": ("rate", "file_on_time_rate"),
                   "accurate_file_rate": ("rate", "accurate_file_rate"),
                   "lead_close_on_time_rate": ("rate", "lead_close_on_time_rate")},
    "dispatcher": {"dispatched_score": ("band", "dispatched"),
                   "dispatch_on_time_rate": ("rate", "dispatch_on_time_rate"),
                   "accurate_dispatch_rate": ("rate", "accurate_dispatch_rate")},
}
INDICATOR_NAMES = {"filed_score": ("立案数分值", "cases filed score"), "accepted_score": ("受理数分值", "accepted score"),
                   "dispatched_score": ("派遣数分值", "dispatched score"),
                   "check_send_on_time_rate": ("核查按时派发率", "check tasks sent on time")}
# 考核办法 formula options: name -> (the reference's choice, the alternatives). See docs/assessment.md.
OPTIONS: dict[str, tuple[str, ...]] = {
    "missed_rate_denominator": ("filed", "valid_reports_plus_missed"),
    "department_filed_score_base": ("filed", "due"),
    "operator_formula": ("reference", "deployed"),
}
DEFAULT_OPTIONS = {name: values[0] for name, values in OPTIONS.items()}
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "department": {"filed_score": 10, "close_rate": 30, "handle_on_time_rate": 30, "rework_rate": 30,
                   "supervise_unanswered_rate": 0, "supervise_repeat_rate": 0},
    "region": {"public_report_rate": 10, "filed_score": 20, "close_rate": 30, "close_on_time_rate": 40},
    "inspector": {"valid_report_rate": 40, "missed_rate": 20, "verify_on_time_rate": 20, "check_on_time_rate": 20},
    # operator_formula picks one of the last two: the reference's 核查按时派发率 (the platform sends 核查 tasks
    # itself the moment a department reports back, so they are all on time) or the deployed system's 按时受理率.
    "operator": {"accepted_score": 25, "verify_send_on_time_rate": 40, "check_send_on_time_rate": 35,
                 "accept_on_time_rate": 35},
    "shift_lead": {"file_on_time_rate": 25, "accurate_file_rate": 40, "lead_close_on_time_rate": 35},
    "dispatcher": {"dispatched_score": 20, "dispatch_on_time_rate": 40, "accurate_dispatch_rate": 40},
}
# Band and grade tables are JSON-like lists: [[upper bound or None, score], …] and [[letter, threshold], …].
BandTable = list[list[Any]]
GradeTable = list[list[Any]]
# [upper bound (inclusive; None = anything above), score]. The regional bands apply to each unit grid's count; a
# community, street or district scores the mean of its unit grids (a grid without a case scores 100).
DEFAULT_BANDS: dict[str, BandTable] = {
    "department": [[50, 100], [100, 90], [200, 75], [500, 60], [1000, 40], [None, 0]],
    "operator": [[100, 0], [300, 40], [500, 60], [1200, 75], [2000, 90], [None, 100]],
    "dispatcher": [[100, 0], [300, 40], [500, 60], [1200, 75], [2000, 90], [None, 100]],
    "region_class1": [[0, 100], [2, 90], [4, 75], [6, 60], [8, 40], [None, 0]],
    "region_class2": [[0, 100], [3, 90], [5, 75], [7, 60], [9, 40], [None, 0]],
}
DEFAULT_GRADES: GradeTable = [["A", 90], ["B", 75], ["C", 60], ["D", 40], ["E", 0]]
# 最低考核量: a unit with fewer due items than this in the period is scored but not ranked (样本不足), so a department
# with one case handled on time cannot top the table. Not in the reference (it sets no minimum): a deployment option.
VOLUME = {"department": "handle_due", "inspector": "reported", "operator": "accept_due", "shift_lead": "file_due",
          "dispatcher": "dispatch_due"}  # regions are ranked whatever their volume: few cases there is good news
DEFAULT_MIN_VOLUME = 5


@dataclass(frozen=True)
class ScoreConfig:
    """Weights per scoring family, bands and grade thresholds (defaults with a deployment's overrides)."""

    weights: dict[str, dict[str, float]] = field(default_factory=lambda: DEFAULT_WEIGHTS)
    bands: dict[str, BandTable] = field(default_factory=lambda: DEFAULT_BANDS)
    grades: GradeTable = field(default_factory=lambda: DEFAULT_GRADES)
    options: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_OPTIONS))
    min_volume: int = DEFAULT_MIN_VOLUME


def family(kind: str) -> str:
    """The scoring formula a kind uses (all region levels share one)."""
    return "region" if KINDS[kind].sources.keys() == {"grid"} else kind


def make_config(weights: Mapping[str, Mapping[str, Any]] | None = None, bands: Mapping[str, BandTable] | None = None,
                grades: GradeTable | None = None, options: Mapping[str, str] | None = None,
                min_volume: int | None = None) -> ScoreConfig:
    """Defaults overridden per family/band/option; unknown names or negative weights are a ValueError."""
    merged = {f: dict(w) for f, w in DEFAULT_WEIGHTS.items()}
    for fam, ws in (weights or {}).items():
        if fam not in INDICATORS:
            raise ValueError(f"unknown scoring family {fam!r}; have {', '.join(INDICATORS)}")
        for name, w in ws.items():
            if name not in INDICATORS[fam] or float(w) < 0:
                raise ValueError(f"bad weight {fam}.{name}={w!r}")
            merged[fam][name] = float(w)
    all_bands = {k: v for k, v in DEFAULT_BANDS.items()} | dict(bands or {})
    for name, table in all_bands.items():
        if not table or table[-1][0] is not None or any(b[0] is None for b in table[:-1]):
            raise ValueError(f"bands {name!r} must end with [null, score] and have bounds before it")
    grades = grades or DEFAULT_GRADES
    if [g[1] for g in grades] != sorted((g[1] for g in grades), reverse=True):
        raise ValueError("grades must be listed from the highest threshold down")
    opts = dict(DEFAULT_OPTIONS)
    for name, value in (options or {}).items():
        if name not in OPTIONS or value not in OPTIONS[name]:
            raise ValueError(f"bad option {name}={value!r}; have "
                             + "; ".join(f"{n}: {' | '.join(v)}" for n, v in OPTIONS.items()))
        opts[name] = value
    if min_volume is not None and min_volume < 0:
        raise ValueError(f"min_volume must be 0 or more, not {min_volume}")
    return ScoreConfig(merged, all_bands, [list(g) for g in grades], opts,
                       DEFAULT_MIN_VOLUME if min_volume is None else min_volume)


def too_few(kind: str, counters: Mapping[str, float], cfg: ScoreConfig) -> bool:
    """True when a unit's volume is under the minimum for a ranking (样本不足)."""
    counter = VOLUME.get(family(kind))
    return counter is not None and counters.get(counter, 0) < cfg.min_volume


def _skipped(fam: str, options: dict[str, str]) -> str:
    """The indicator a formula option turns off."""
    if fam == "operator":
        return "accept_on_time_rate" if options["operator_formula"] == "reference" else "check_send_on_time_rate"
    return ""


def band(value: float, table: BandTable) -> float:
    """The score of a count by a band table."""
    for upper, score in table:
        if upper is None or value <= upper:
            return float(score)
    return 0.0


def grade(score: float | None, grades: GradeTable) -> str | None:
    """A–E by thresholds (A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, else E by default)."""
    if score is None:
        return None
    for letter, threshold in grades:
        if score >= threshold:
            found: str = letter
            return found
    last: str = grades[-1][0]
    return last


def score(kind: str, counters: Mapping[str, float], rates: Mapping[str, float | None], cfg: ScoreConfig,
          grid_band: float | None = None) -> tuple[float | None, dict[str, float]]:
    """(composite score 0–100 or None, each indicator's 分值) for one object."""
    fam = family(kind)
    parts: dict[str, float] = {}
    off = _skipped(fam, cfg.options)
    for name, (mode, source) in INDICATORS[fam].items():
        if name == off or not cfg.weights[fam].get(name):
            continue  # switched off by an option, or weighted 0 (an unused deployment option)
        if mode == "band" and fam == "department" and cfg.options["department_filed_score_base"] == "due":
            source = "handle_due"
        if mode == "platform":
            if (sent := rates.get(name)) is not None:  # CITYLOOP_CHECK_DISPATCH=operator: the 受理员 sent them
                parts[name] = 100.0 * sent
            elif counters.get(source):
                parts[name] = 100.0  # sent by the platform at once: on time by construction
        elif mode == "band":
            if not counters.get(source):
                continue  # nothing done: the count score is no measure of this object
            parts[name] = band(counters[source], cfg.bands[kind])
        elif mode == "grid_band":
            if grid_band is not None:
                parts[name] = grid_band
        elif (share := rates.get(source)) is not None:
            value = 100.0 * share
            parts[name] = 100.0 - value if mode == "inverse" else value
    weights = cfg.weights[fam]
    total = sum(weights[n] for n in parts)
    if not parts or total <= 0:
        return None, parts
    return round(sum(parts[n] * weights[n] for n in parts) / total, 2), {k: round(v, 2) for k, v in parts.items()}


def rank(rows: list[dict[str, Any]]) -> None:
    """Set `rank` within each `group` (1 = best score; equal scores share a rank; no score or `too_few`, no rank)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["group"], []).append(row)
    for members in groups.values():
        scored = sorted((r for r in members if r["score"] is not None and not r.get("too_few")),
                        key=lambda r: -r["score"])
        for i, row in enumerate(scored):
            row["rank"] = scored[i - 1]["rank"] if i and scored[i - 1]["score"] == row["score"] else i + 1
        for row in members:
            row.setdefault("rank", None)


def compare(rows: list[dict[str, Any]], before: dict[tuple[str, str], int | None]) -> None:
    """Set previous_rank and rank_change (positive = moved up) from the previous period's (group, id) -> rank."""
    for row in rows:
        prev = before.get((row["group"], str(row["object_id"])))
        row["previous_rank"] = prev
        row["rank_change"] = prev - row["rank"] if prev is not None and row["rank"] is not None else None
