"""The collector pause around large pages: off inside, back as it was after, whatever the nesting or threads."""

from __future__ import annotations

import gc
import threading

import pytest

from aquila.catalog.gcpause import gc_paused


def test_paused_inside_and_resumed_after_nested_and_on_errors() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("a failing search")
    assert gc.isenabled()


def test_a_collector_disabled_by_the_process_stays_disabled() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_pauses_from_threads_end_together() -> None:
    inside, release = threading.Barrier(9), threading.Event()
    seen: list[bool] = []

    def search() -> None:
        with gc_paused():
            inside.wait(10)
            release.wait(10)
            seen.append(gc.isenabled())

    threads = [threading.Thread(target=search) for _ in range(8)]
    for t in threads:
        t.start()
    inside.wait(10)  # all eight are inside their pause
    assert not gc.isenabled()
    release.set()
    for t in threads:
        t.join(10)
    assert seen == [False] * 8  # each saw it off: it was inside its own pause
    assert gc.isenabled()


def test_a_pause_kept_open_by_overlapping_ones_still_collects_now_and_then(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Searches overlapping without end must not keep cyclic garbage forever: once the collector has been off
    for MAX_PAUSE_S, the next pause to end runs a collection."""
    import weakref

    import aquila.catalog.gcpause as gp

    class Node:
        pass

    monkeypatch.setattr(gp, "MAX_PAUSE_S", 0.0)
    with gc_paused():  # held open, as by a long search on another thread
        a, b = Node(), Node()
        a.other, b.other = b, a  # type: ignore[attr-defined]  # a cycle only the collector frees
        gone = weakref.ref(a)
        del a, b
        assert gone() is not None
        with gc_paused():
            pass
        assert gone() is None  # collected when the inner pause ended
        assert not gc.isenabled()
    assert gc.isenabled()
