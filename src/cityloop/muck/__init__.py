"""Muck-truck street work: 沿街抛撒 reports matched to the truck that passed, and 上路抽查 roadside spot checks."""
