"""The gate that rate-limits a device gateway's database lookups after directory misses."""

import pytest

from cityloop.shared.lookup_gate import LookupGate


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize("steps, expected", [
    # (advance seconds, key) → verdicts
    ([(0, "a"), (0, "a")], ["look", "recent"]),
    ([(0, "a"), (0.5, "a"), (0.6, "a")], ["look", "recent", "look"]),
    ([(0, "a"), (0, "b"), (0, "c")], ["look", "look", "limited"]),
    ([(0, "a"), (0, "b"), (1.0, "c")], ["look", "look", "look"]),
])
def test_gate_verdicts(steps, expected):
    clock = Clock()
    gate = LookupGate(again=1.0, per_second=2, clock=clock)
    got = []
    for advance, key in steps:
        clock.now += advance
        got.append(gate.ask(key))
    assert got == expected


def test_clear_forgets_misses():
    gate = LookupGate(again=1.0, per_second=10, clock=Clock())
    assert gate.ask("a") == "look"
    gate.clear()
    assert gate.ask("a") == "look"
