"""Muck-truck supervision (渣土车监管): registry, permits, JT/T 808 positions, violations, appeals."""
