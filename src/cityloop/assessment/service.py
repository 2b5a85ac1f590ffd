"""Assessment use cases: a period's rows for a kind (published snapshot or computed live), publishing (freezing)
a period with the checksum of its inputs, and the cases behind a figure."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.assessment import engine, method, queries, scoring, store
from cityloop.assessment.figures import KINDS, LABELS, REGION_DIGITS
from cityloop.assessment.models import Publication
from cityloop.assessment.periods import Period, PeriodError, parse_period, previous
from cityloop.config import Settings
from cityloop.shared.errors import AppError, Conflict, Invalid, NotFound

CORE = ("flags", "counts", "pending_ts")


def period_of(text: str) -> Period:
    """A period from the query text, or 422."""
    try:
        return parse_period(text)
    except PeriodError as exc:
        raise Invalid("bad-period", f"期间无效：{exc}", f"Invalid period: {exc}") from exc


def kind_of(kind: str) -> str:
    """A known object kind, or 404."""
    if kind not in KINDS:
        raise NotFound("unknown-kind", f"未知评价对象：{kind}", f"Unknown object kind {kind}; have {', '.join(KINDS)}")
    return kind


@lru_cache(maxsize=8)
def _config(source: str, weights: str, bands: str, grades: str) -> scoring.ScoreConfig:
    import json

    base = method.load(source).config()
    overrides = json.loads(weights)
    merged = {f: w | overrides.get(f, {}) for f, w in base.weights.items()} | {
        f: w for f, w in overrides.items() if f not in base.weights}
    return scoring.make_config(merged, base.bands | json.loads(bands), json.loads(grades) or base.grades,
                               base.options, base.min_volume)


def score_config(settings: Settings) -> scoring.ScoreConfig:
    """Weights, bands, grades and options: the 考核办法 file with the deployment's setting overrides."""
    import json

    try:
        return _config(settings.assessment_method_file, *(json.dumps(v, sort_keys=True) for v in (
            settings.assessment_weights, settings.assessment_bands, settings.assessment_grades)))
    except ValueError as exc:
        raise AppError("assessment-config", f"考核权重配置错误：{exc}", f"Bad assessment configuration: {exc}",
                       status=503) from exc


def bounds_ts(settings: Settings, period: Period) -> tuple[int, int]:
    """The period as epoch seconds [start, end) in the deployment's time zone."""
    start, end = period.bounds(ZoneInfo(settings.timezone))
    return int(start.timestamp()), int(end.timestamp())


def published(session: Session, period: Period) -> Publication | None:
    """The frozen snapshot of a period, if it was published."""
    return session.scalar(select(Publication).where(Publication.period == period.key))


def compute(session: Session, settings: Settings, period: Period, kinds: list[str], now: datetime,
            compare: bool = True) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Every requested kind's rows computed from the projection now, and how many cases the period holds."""
    cfg = score_config(settings)
    columns = CORE + tuple(sorted({c for k in kinds for c in KINDS[k].sources}))
    counters = tuple({c for k in kinds for c in KINDS[k].counters})
    data = engine.decode(store.fetch(session, *bounds_ts(settings, period), columns), int(now.timestamp()), counters)
    memo: dict[str, Any] = {}
    out = {kind: _rows(session, data, kind, cfg, memo) for kind in kinds}
    if compare:
        before = _previous_ranks(session, settings, period, kinds, now)
        for kind in kinds:
            scoring.compare(out[kind], before[kind])
    return out, data.size


def _object_id(kind: str, key: int) -> int | str:
    return str(key).zfill(REGION_DIGITS[kind]) if kind in REGION_DIGITS else key


def _rows(session: Session, data: engine.Decoded, kind: str, cfg: scoring.ScoreConfig,
          memo: dict[str, Any]) -> list[dict[str, Any]]:
    totals = engine.sums(data, kind)
    objs = queries.objects(session, kind, set(totals), memo)
    bands = _grid_bands(session, data, kind, cfg) if scoring.family(kind) == "region" else {}
    zero = dict.fromkeys(KINDS[kind].counters, 0)
    rows: list[dict[str, Any]] = []
    for key in objs.listed | set(totals):
        counters = totals.get(key, zero)
        rates = engine.rates_of(kind, counters, cfg.options["missed_rate_denominator"])
        value, parts = scoring.score(kind, counters, rates, cfg, bands.get(key))
        group = objs.groups.get(key, "other")
        rows.append({"object_id": _object_id(kind, key), "name": objs.names.get(key, str(key)), "group": group,
                     "group_name": queries.group_name(kind, group)[0], "counters": dict(counters), "rates": rates,
                     "score": value, "grade": scoring.grade(value, cfg.grades), "indicators": parts,
                     "too_few": scoring.too_few(kind, counters, cfg)})
    scoring.rank(rows)
    rows.sort(key=lambda r: (r["group"], r["rank"] is None, r["rank"] or 0, r["name"]))
    return rows


def _grid_bands(session: Session, data: engine.Decoded, level: str, cfg: scoring.ScoreConfig) -> dict[int, float]:
    """立案数分值 of each region: the mean of its unit grids' band scores (a grid without a case scores band(0))."""
    if "grid_band" not in data.cache:
        counts = engine.grid_counts(data, "filed")
        classes = queries.grid_classes(session)
        grids = sorted(set(classes) | set(counts))
        scores = [scoring.band(counts.get(g, 0), cfg.bands[f"region_class{classes.get(g, 1)}"]) for g in grids]
        data.cache["grid_band"] = (np.array(grids, dtype=np.int64), np.array(scores))
    grids, scores = data.cache["grid_band"]
    if not len(grids):
        return {}
    uniq, inverse = np.unique(engine.region_keys(grids, level), return_inverse=True)
    means = np.bincount(inverse, weights=scores) / np.bincount(inverse)
    return {int(k): round(float(m), 2) for k, m in zip(uniq, means)}


def _previous_ranks(session: Session, settings: Settings, period: Period, kinds: list[str],
                    now: datetime) -> dict[str, dict[tuple[str, str], int | None]]:
    """Each kind's ranks in the period before: from its published snapshot, else computed now."""
    before = previous(period)
    snapshot = published(session, before)
    if snapshot is not None:
        rows = {kind: snapshot.results.get("kinds", {}).get(kind, []) for kind in kinds}
    else:
        rows = compute(session, settings, before, kinds, now, compare=False)[0]
    return {kind: {(r["group"], str(r["object_id"])): r["rank"] for r in rows[kind]} for kind in kinds}


def assessment(session: Session, settings: Settings, period: Period, kind: str, now: datetime) -> dict[str, Any]:
    """A kind's rows for a period: the published snapshot when the period was published, else computed now."""
    snapshot = published(session, period)
    head = {"period": period.key, "label": period.label[0], "label_en": period.label[1], "kind": kind,
            "kind_name": KINDS[kind].zh, "start": period.start.isoformat(), "end": period.end.isoformat()}
    if snapshot is not None:
        return head | {"source": "published", "published_at": snapshot.published_at.isoformat(),
                       "computed_at": snapshot.computed_at.isoformat(), "cases": snapshot.cases,
                       "rows": snapshot.results.get("kinds", {}).get(kind, [])}
    rows, cases = compute(session, settings, period, [kind], now)
    return head | {"source": "live", "published_at": None, "computed_at": now.isoformat(), "cases": cases,
                   "rows": rows[kind]}


def checksum(session: Session, settings: Settings, period: Period) -> tuple[str, int]:
    """SHA-256 of the period's projection rows (ordered by case), and how many there are."""
    cols = store.fetch(session, *bounds_ts(settings, period))
    order = np.argsort(cols["case_id"], kind="stable")
    digest = hashlib.sha256()
    for name in engine.FETCH:
        digest.update(np.ascontiguousarray(cols[name][order], dtype="<i8").tobytes())
    return digest.hexdigest(), len(order)


def publish(session: Session, settings: Settings, period: Period, now: datetime, by: str,
            note: str | None = None) -> Publication:
    """Freeze a finished period: every kind's rows as computed now, with the checksum of their inputs."""
    if period.bounds(ZoneInfo(settings.timezone))[1] > now:
        raise Conflict("period-not-over", f"{period.label[0]}尚未结束，不能发布", f"{period.key} is not over yet")
    if published(session, period) is not None:
        raise Conflict("already-published", f"{period.label[0]}已发布", f"{period.key} is already published")
    rows, cases = compute(session, settings, period, list(KINDS), now)
    digest, _ = checksum(session, settings, period)
    pub = Publication(period=period.key, published_at=now, published_by=by, checksum=digest, cases=cases,
                      computed_at=now, results={"kinds": rows}, note=note)
    session.add(pub)
    session.commit()
    return pub


def status(session: Session, settings: Settings, period: Period) -> dict[str, Any]:
    """Whether a period is published and whether its inputs changed since (drift)."""
    pub = published(session, period)
    digest, cases = checksum(session, settings, period)
    return {"period": period.key, "published": pub is not None, "published_at": pub.published_at if pub else None,
            "published_by": pub.published_by if pub else None, "published_checksum": pub.checksum if pub else None,
            "checksum": digest, "cases": cases, "drifted": pub is not None and pub.checksum != digest}


def object_key(kind: str, ident: str) -> int:
    """The integer key of an object id in a path (a region code of the kind's length, or a number), or 404."""
    digits = REGION_DIGITS.get(kind)
    if not ident.isdigit() or (digits and len(ident) != digits) or len(ident) > 18:
        raise NotFound("unknown-object", f"评价对象 {ident} 不存在", f"No {kind} {ident}")
    return int(ident)


def cases_behind(session: Session, settings: Settings, period: Period, kind: str, key: int, figure: str,
                 now: datetime, page: int, size: int) -> dict[str, Any]:
    """The cases that make one object's figure in a period (as the projection stands now), newest first."""
    spec = KINDS[kind]
    column = spec.column_of(figure)
    if column is None:
        raise Invalid("unknown-figure", f"{spec.zh}没有指标「{figure}」",
                      f"{kind} has no figure {figure}; have {', '.join(spec.counters)}")
    if column == "grid":
        scale = 10 ** (15 - REGION_DIGITS[kind])
        within = {"grid": (key * scale, (key + 1) * scale - 1)}
    else:
        within = {column: (key, key)}
    cols = store.fetch(session, *bounds_ts(settings, period), ("case_id", *CORE, column), within)
    data = engine.decode(cols, int(now.timestamp()), (figure,))
    hits = engine.matching(data, kind, key, figure)
    ids, values = cols["case_id"][hits], data.counters[figure][hits]
    order = np.argsort(-ids, kind="stable")
    chosen = order[(page - 1) * size: page * size]
    summaries = queries.case_rows(session, [int(i) for i in ids[chosen]])
    items = [summaries[int(i)] | {"value": int(v)} for i, v in zip(ids[chosen], values[chosen])
             if int(i) in summaries]
    return {"period": period.key, "kind": kind, "object_id": _object_id(kind, key), "figure": figure,
            "label": LABELS[figure][0], "value": int(values.sum()), "total": len(ids), "page": page, "size": size,
            "items": items}
