"""quiet_collector: the startup heap is frozen out of collections and full collections become rare."""

from __future__ import annotations

import gc

from cityloop.shared.collector import quiet_collector


def test_quiet_collector_freezes_the_heap_and_spaces_full_collections() -> None:
    before = gc.get_threshold()
    try:
        quiet_collector()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (before[0], before[1], 100)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
