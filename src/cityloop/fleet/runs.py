"""Episodes of a condition over a stream of positions, evaluated a batch at a time with numpy (pure).

Points come sorted by vehicle, then time. A *run* is a stretch of consecutive points where the condition holds;
it *fires* once when it has lasted min_s seconds (or covered min_m metres, or both if `both`), optionally only
if `need` held somewhere in it, and *closes* when the condition stops. A run still going at a vehicle's last
point is carried to the next batch in RunState, so batch boundaries change nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_OFFSET = 1e7  # larger than any value whose running maximum is taken (speeds, metres)


@dataclass
class RunState:
    """Per vehicle (by state index): the run in progress at its last point, if any."""

    active: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    start: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fired: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    metres: np.ndarray = field(default_factory=lambda: np.zeros(0))
    seen: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    peak: np.ndarray = field(default_factory=lambda: np.zeros(0))
    last_t: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def grow(self, n: int) -> None:
        """Make room for n vehicles."""
        for name, fill in (("active", False), ("start", 0.0), ("fired", False), ("metres", 0.0), ("seen", False),
                           ("peak", -np.inf), ("last_t", 0.0)):
            old = getattr(self, name)
            if len(old) < n:
                setattr(self, name, np.concatenate([old, np.full(n - len(old), fill, dtype=old.dtype)]))


@dataclass
class Groups:
    """Batch layout shared by every rule: state index per point, group edges, and whether a point continues the
    previous one (same vehicle, no gap; for a group's first point: continues the previous batch)."""

    vi: np.ndarray
    first: np.ndarray
    last: np.ndarray
    cont: np.ndarray
    t: np.ndarray
    step: np.ndarray  # metres from the previous point (0 where not continuing)


@dataclass
class Fired:
    idx: np.ndarray  # batch index of the point where each run fired
    start: np.ndarray
    metres: np.ndarray
    peak: np.ndarray


@dataclass
class Closed:
    vi: np.ndarray  # state index of each vehicle whose fired run ended
    start: np.ndarray
    end: np.ndarray
    metres: np.ndarray
    peak: np.ndarray


def runs(st: RunState, g: Groups, cond: np.ndarray, min_s: float, min_m: float = np.inf, *, both: bool = False,
         need: np.ndarray | None = None, value: np.ndarray | None = None) -> tuple[Fired, Closed]:
    """Advance one rule over a batch: the runs that fired in it and the fired runs that ended in it."""
    vi, t, first = g.vi, g.t, g.first
    carried = st.active[vi] & first & g.cont  # the group's first point may continue a run from the last batch
    prev = np.zeros(len(cond), bool)
    prev[1:] = cond[:-1]
    prev = np.where(first, carried, prev & g.cont)
    marker = cond & (~prev | first)  # each run's first point in this batch
    m_idx = np.flatnonzero(marker)
    from_state = prev[m_idx]  # runs continuing from the previous batch
    sv = vi[m_idx]
    rstart = np.where(from_state, st.start[sv], t[m_idx])
    fired0 = from_state & st.fired[sv]
    metres0 = np.where(from_state, st.metres[sv], 0.0)
    seen0 = from_state & st.seen[sv]
    peak0 = np.where(from_state, st.peak[sv], -np.inf)

    # A carried run whose vehicle now reports without the condition (or after a gap) ended at its last point.
    ended_carried = first & st.active[vi] & ~(cond & g.cont)
    cv = vi[ended_carried & st.fired[vi]]
    closed_parts = [(cv, st.start[cv], st.last_t[cv], st.metres[cv], st.peak[cv])]

    ci = np.flatnonzero(cond)
    r = np.cumsum(marker)[ci] - 1  # run number of each condition point
    firsts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]]) if len(ci) else np.zeros(0, int)
    lasts = np.r_[firsts[1:] - 1, len(ci) - 1] if len(ci) else np.zeros(0, int)
    step = np.where(marker[ci] & ~prev[ci], 0.0, g.step[ci])
    csum = np.cumsum(step)
    metres = csum - (csum[firsts] - step[firsts])[r] + metres0[r]
    dur = t[ci] - rstart[r]
    ok = (dur >= min_s) & (metres >= min_m) if both else (dur >= min_s) | (metres >= min_m)
    seen = None
    if need is not None:
        nsum = np.cumsum(need[ci])
        seen = ((nsum - (nsum[firsts] - need[ci][firsts])[r]) > 0) | seen0[r]
        ok &= seen
    if value is not None:
        peak = np.maximum(np.maximum.accumulate(value[ci] + r * _OFFSET) - r * _OFFSET, peak0[r])
    else:
        peak = np.full(len(ci), -np.inf)
    ok &= ~fired0[r]
    hit = np.flatnonzero(ok)
    runs_hit, at = np.unique(r[hit], return_index=True)
    pos = hit[at]
    fired_run = fired0.copy()
    fired_run[runs_hit] = True
    fired = Fired(ci[pos], rstart[runs_hit], metres[pos], peak[pos])

    last_idx = ci[lasts]
    ends = ~g.last[last_idx] & fired_run  # runs that stop inside the batch
    closed_parts.append((vi[last_idx[ends]], rstart[ends], t[last_idx[ends]], metres[lasts[ends]],
                         peak[lasts[ends]]))
    closed = Closed(*(np.concatenate(parts) for parts in zip(*closed_parts)))

    gl = np.flatnonzero(g.last)  # carry each vehicle's state to the next batch
    v = vi[gl]
    st.active[v] = cond[gl]
    going = gl[cond[gl]]
    if len(going):
        pos_c = np.searchsorted(ci, going)
        rr = r[pos_c]
        vv = vi[going]
        st.start[vv], st.fired[vv], st.metres[vv] = rstart[rr], fired_run[rr], metres[pos_c]
        st.peak[vv], st.last_t[vv] = peak[pos_c], t[going]
        if seen is not None:
            st.seen[vv] = seen[pos_c]
    return fired, closed
