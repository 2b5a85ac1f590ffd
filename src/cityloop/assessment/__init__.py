"""综合评价 assessment: per-case counters derived from events, KPIs, rankings, reports and public disclosure."""
