"""The monthly arithmetic (numpy, no database): decode the packed counters of a period's cases, hold back what is
not yet due, and sum per object for each kind. One pass of decoding serves every kind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cityloop.assessment.figures import (COUNT_FIELD, DERIVED, FLAG_BIT, KINDS, PENDING, RATE_VARIANTS, RATES,
                                         REGION_DIGITS, rate)

FETCH = ("case_id", "assess_ts", "pending_ts", "flags", "counts") + (
    "grid", "department_id", "return_department_id", "reporter_id", "operator_id", "verifier_id", "filer_id",
    "dispatcher_id", "checker_id", "closer_id")


@dataclass
class Decoded:
    """A period's cases as arrays: object columns as fetched, counters by name (after holding back)."""

    columns: dict[str, np.ndarray]
    counters: dict[str, np.ndarray]
    cache: dict[object, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.columns["flags"])


def decode(columns: dict[str, np.ndarray], now_ts: int, names: tuple[str, ...] | None = None) -> Decoded:
    """Unpack counters (all, or `names` and what they need) and apply the time of assessment: a counted node
    still running before its deadline is not due yet; an unhandled case past its deadline is overdue_open."""
    flags, counts = columns["flags"], columns["counts"]
    wanted = set(names) if names is not None else set(FLAG_BIT) | set(COUNT_FIELD) | set(DERIVED)
    if "overdue_open" in wanted:
        wanted |= {"handle_due", "handled"}
    out: dict[str, np.ndarray] = {}
    # All flag bits at once, one contiguous row per bit: bytes of the little-endian flags, transposed, unpacked.
    by_byte = np.ascontiguousarray(np.ascontiguousarray(flags, dtype="<i8").view(np.uint8).reshape(-1, 8).T)
    bits = np.unpackbits(by_byte[:, None, :], axis=1, bitorder="little").reshape(64, -1)
    for name in wanted & set(FLAG_BIT):
        out[name] = bits[FLAG_BIT[name]]
    for name in wanted & set(COUNT_FIELD):
        shift, width = COUNT_FIELD[name]
        out[name] = ((counts >> shift) & ((1 << width) - 1)).astype(np.int32)
    shift, width = COUNT_FIELD["open_node"]
    node = (counts >> shift) & ((1 << width) - 1)
    waiting = (node != 0) & (columns["pending_ts"] > now_ts)
    if waiting.any():
        for code, held in PENDING.items():
            mask = waiting & (node == code)
            for name in held:
                if name in out and mask.any():
                    out[name] = np.maximum(out[name].astype(np.int32) - mask, 0)  # not due yet: not counted
    if "overdue_open" in wanted:
        out["overdue_open"] = ((out["handle_due"] > 0) & (out["handled"] == 0)).astype(np.uint8)
    return Decoded(columns, out)


def region_keys(grid: np.ndarray, level: str) -> np.ndarray:
    """The region code (as an integer) of each unit-grid code at a level."""
    keys: np.ndarray = grid // 10 ** (15 - REGION_DIGITS[level])
    return keys


def _totals(keys: np.ndarray, weights: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(distinct non-zero keys, their totals: one row per key, one column per weight array)."""
    if len(keys) and 0 <= keys.min() and keys.max() < 4_000_000:  # ids: count straight into a table
        present = np.nonzero(np.bincount(keys))[0]
        present = present[present != 0]
        table = np.array([np.bincount(keys, weights=w, minlength=present[-1] + 1 if len(present) else 1)[present]
                          for w in weights]).reshape(len(weights), len(present))
        return present, table.T
    uniq, inverse = np.unique(keys, return_inverse=True)
    table = np.array([np.bincount(inverse, weights=w, minlength=len(uniq)) for w in weights])
    keep = uniq != 0
    return uniq[keep], table.reshape(len(weights), len(uniq)).T[keep]


def sums(data: Decoded, kind: str) -> dict[int, dict[str, int]]:
    """Object key -> counter -> total, for every object with at least one case in the period."""
    spec = KINDS[kind]
    out: dict[int, dict[str, int]] = {}
    for column, counters in spec.sources.items():
        if column == "grid":
            keys, table = _region_totals(data, kind, counters)
        else:
            keys, table = _totals(data.columns[column], [data.counters[c] for c in counters])
        for key, row in zip(keys.tolist(), table.tolist()):
            out.setdefault(key, {}).update(zip(counters, (int(v) for v in row)))
    for row in out.values():
        for name in spec.counters:
            row.setdefault(name, 0)
    return out


def _region_totals(data: Decoded, level: str, counters: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Totals per region of a level, summed up from the unit grids (computed once per decoded period)."""
    cache_key = ("grid", counters)
    if cache_key not in data.cache:
        data.cache[cache_key] = _totals(data.columns["grid"], [data.counters[c] for c in counters])
    grids, table = data.cache[cache_key]
    if level == "grid":
        return grids, table
    uniq, inverse = np.unique(region_keys(grids, level), return_inverse=True)
    out = np.zeros((len(uniq), table.shape[1]))
    np.add.at(out, inverse, table)
    return uniq, out


def rates_of(kind: str, counters: Mapping[str, int], missed_rate: str = "filed") -> dict[str, float | None]:
    """The kind's rates from an object's counters (rounded to 4 places); missed_rate picks the 漏报率 variant."""
    out: dict[str, float | None] = {}
    for name in KINDS[kind].rates:
        value = rate(RATE_VARIANTS.get((name, missed_rate), RATES[name]), counters)
        out[name] = None if value is None else round(value, 4)
    return out


def grid_counts(data: Decoded, counter: str) -> dict[int, int]:
    """Unit grid -> total of one counter (for the regional count bands)."""
    grids, table = _totals(data.columns["grid"], [data.counters[counter]])
    return {int(g): int(t) for g, t in zip(grids.tolist(), table[:, 0].tolist())}


def empty_columns() -> dict[str, np.ndarray]:
    """Columns of a period without cases."""
    return {name: np.zeros(0, dtype=np.int64) for name in FETCH}


def matching(data: Decoded, kind: str, key: int, figure: str) -> np.ndarray:
    """Indexes of the cases behind one object's figure (the drill-down), in the order fetched."""
    column = KINDS[kind].column_of(figure)
    if column is None:  # the callers check the figure first
        raise KeyError(figure)
    keys = data.columns[column]
    if column == "grid":
        keys = region_keys(keys, kind)
    return np.nonzero((keys == key) & (data.counters[figure] > 0))[0]
