"""The outlook's publication time says nothing about how long it took to compute (which grows with every area
of interest, those a reader may not see included): a reader polling `GET /outlook` across a refresh sees the
new one appear a whole publication step after its `start`, whether the computation took a little or a lot —
and a failed one no sooner than a good one."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from aquila.orbits.outlook import Outlook, OutlookCache, compute_outlook

STEP_S = 0.6


def _appears_after_s(work_s: float, fail: bool = False) -> float:
    def compute(start: datetime) -> Outlook:
        time.sleep(work_s)  # the computation's own duration (areas, satellites), not a wait of the test
        if fail:
            raise RuntimeError("constellation store unreadable")
        return compute_outlook([], [], start, 1.0)

    cache = OutlookCache(compute, publish_step_s=STEP_S)
    t0 = time.monotonic()
    cache.start()
    try:
        got = cache.get(10)
        assert got is not None
    except RuntimeError:
        assert fail
    return time.monotonic() - t0


@pytest.mark.parametrize("work_s", [0.0, 0.05, 0.4])
def test_an_outlook_is_published_one_step_after_it_began_however_long_it_took(work_s: float) -> None:
    assert STEP_S - 0.01 <= _appears_after_s(work_s) <= STEP_S + 0.25


def test_a_computation_longer_than_the_step_is_published_at_the_next_whole_step() -> None:
    assert 2 * STEP_S - 0.01 <= _appears_after_s(STEP_S + 0.1) <= 2 * STEP_S + 0.25


def test_a_failure_is_reported_no_sooner_than_a_success() -> None:
    assert STEP_S - 0.01 <= _appears_after_s(0.0, fail=True) <= STEP_S + 0.25


def test_the_served_instance_publishes_on_a_step_by_default() -> None:
    from aquila.config import Settings

    assert Settings().outlook_publish_step_s >= 10
