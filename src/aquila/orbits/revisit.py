"""Revisit statistics per target and the sharing gain of pooling the constellation.

Conventions (stated once, used everywhere):

* An *access* is one window of one satellite. Overlapping windows of several satellites are
  several accesses but one period of coverage.
* A *gap* is time with no coverage: between the end of one coverage period (the union of
  overlapping windows) and the start of the next. The analysis period is treated as closed: the
  time from its start to the first access and from the last access to its end are gaps too, so a
  target never accessed has one gap as long as the period. This is what a collection manager
  means by "unseen for X hours", without pretending the world ends at the period's edges.
* *Time to first access* is from the period start to the first window start (0 when a window is
  already open at the start; None when there is none).
* p90 is the 90th percentile of gap durations (linear interpolation).

The *sharing gain* of a nation compares its own satellites with the pooled constellation: how much
its worst gap (the largest max gap over the targets) shrinks. Contributions are measured by
leaving one owner out of the pool at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aquila.orbits.access import AccessResult

__all__ = ["RevisitStats", "NationGain", "Contribution", "SharingGain", "revisit_statistics", "sharing_gain",
           "worst_gap_s"]


@dataclass(frozen=True)
class RevisitStats:
    """Revisit statistics of one target for one set of satellites."""

    target: str
    accesses: int
    accesses_per_day: float
    time_to_first_access_s: float | None
    mean_gap_s: float
    max_gap_s: float
    p90_gap_s: float
    coverage_fraction: float

    def as_dict(self) -> dict[str, object]:
        return {
            "target": self.target, "accesses": self.accesses,
            "accesses_per_day": round(self.accesses_per_day, 3),
            "time_to_first_access_s": None if self.time_to_first_access_s is None else round(
                self.time_to_first_access_s, 1),
            "mean_gap_s": round(self.mean_gap_s, 1), "max_gap_s": round(self.max_gap_s, 1),
            "p90_gap_s": round(self.p90_gap_s, 1), "coverage_fraction": round(self.coverage_fraction, 5),
        }


def _stats_for(starts: np.ndarray, ends: np.ndarray, span_s: float, target: str) -> RevisitStats:
    days = span_s / 86400.0
    n = len(starts)
    if n == 0:
        return RevisitStats(target, 0, 0.0, None, span_s, span_s, span_s, 0.0)
    o = np.argsort(starts)
    s, e = starts[o], np.maximum.accumulate(ends[o])
    new = np.concatenate([[True], s[1:] > e[:-1]])
    idx = np.flatnonzero(new)
    cov_s = s[idx]
    cov_e = np.maximum.reduceat(ends[o], idx)
    cov_e = np.maximum.accumulate(cov_e)
    gaps = np.concatenate([[cov_s[0] - 0.0], cov_s[1:] - cov_e[:-1], [span_s - cov_e[-1]]])
    gaps = np.maximum(gaps, 0.0)
    covered = float(np.sum(np.minimum(cov_e, span_s) - np.maximum(cov_s, 0.0)))
    return RevisitStats(target, n, n / days if days > 0 else 0.0, float(max(s[0], 0.0)), float(np.mean(gaps)),
                        float(np.max(gaps)), float(np.percentile(gaps, 90)), covered / span_s if span_s else 0.0)


def revisit_statistics(result: AccessResult, owners: Sequence[str] | None = None,
                       row_mask: np.ndarray | None = None) -> list[RevisitStats]:
    """Statistics per target, for all satellites or those of `owners` (or rows in `row_mask`)."""
    c = result.columns
    mask = np.ones(len(result), bool) if row_mask is None else row_mask.copy()
    if owners is not None:
        mask &= result.owners_mask(owners)
    tg = c["target"][mask]
    st, en = c["start_s"][mask], c["end_s"][mask]
    o = np.argsort(tg, kind="stable")
    tg, st, en = tg[o], st[o], en[o]
    bounds = np.searchsorted(tg, np.arange(len(result.targets) + 1))
    return [_stats_for(st[bounds[i]:bounds[i + 1]], en[bounds[i]:bounds[i + 1]], result.span_s, t.id)
            for i, t in enumerate(result.targets)]


def worst_gap_s(stats: Sequence[RevisitStats]) -> float:
    """The largest max gap over the targets."""
    return max((s.max_gap_s for s in stats), default=0.0)


@dataclass(frozen=True)
class NationGain:
    """How pooling changes one nation's persistent surveillance of the targets."""

    nation: str
    satellites: int
    own_worst_gap_s: float
    pooled_worst_gap_s: float
    own_mean_max_gap_s: float
    pooled_mean_max_gap_s: float
    own_accesses_per_day: float
    pooled_accesses_per_day: float
    best_partner: str | None
    best_partner_worst_gap_s: float | None

    @property
    def worst_gap_reduction(self) -> float:
        """Fraction by which pooling shrinks the nation's worst gap (0..1)."""
        if self.own_worst_gap_s <= 0:
            return 0.0
        return 1.0 - self.pooled_worst_gap_s / self.own_worst_gap_s

    @property
    def gain_factor(self) -> float:
        """own worst gap / pooled worst gap (inf when pooling leaves no gap)."""
        return self.own_worst_gap_s / self.pooled_worst_gap_s if self.pooled_worst_gap_s > 0 else float("inf")

    def as_dict(self) -> dict[str, object]:
        return {
            "nation": self.nation, "satellites": self.satellites,
            "own_worst_gap_h": round(self.own_worst_gap_s / 3600, 3),
            "pooled_worst_gap_h": round(self.pooled_worst_gap_s / 3600, 3),
            "worst_gap_reduction": round(self.worst_gap_reduction, 4),
            "own_mean_max_gap_h": round(self.own_mean_max_gap_s / 3600, 3),
            "pooled_mean_max_gap_h": round(self.pooled_mean_max_gap_s / 3600, 3),
            "own_accesses_per_day": round(self.own_accesses_per_day, 3),
            "pooled_accesses_per_day": round(self.pooled_accesses_per_day, 3),
            "best_partner": self.best_partner,
            "best_partner_worst_gap_h": None if self.best_partner_worst_gap_s is None else round(
                self.best_partner_worst_gap_s / 3600, 3),
        }


@dataclass(frozen=True)
class Contribution:
    """What the pool loses without one owner's satellites."""

    owner: str
    satellites: int
    worst_gap_without_s: float
    mean_max_gap_without_s: float
    worst_gap_increase_s: float
    mean_max_gap_increase_s: float

    def as_dict(self) -> dict[str, object]:
        return {
            "owner": self.owner, "satellites": self.satellites,
            "worst_gap_without_h": round(self.worst_gap_without_s / 3600, 3),
            "worst_gap_increase_h": round(self.worst_gap_increase_s / 3600, 3),
            "mean_max_gap_increase_h": round(self.mean_max_gap_increase_s / 3600, 3),
        }


@dataclass(frozen=True)
class SharingGain:
    pooled: list[RevisitStats]
    nations: list[NationGain]
    contributions: list[Contribution]

    def as_dict(self) -> dict[str, object]:
        return {
            "pooled": [s.as_dict() for s in self.pooled],
            "nations": [n.as_dict() for n in self.nations],
            "contributions": [c.as_dict() for c in self.contributions],
        }


def _mean_max(stats: Sequence[RevisitStats]) -> float:
    return float(np.mean([s.max_gap_s for s in stats])) if stats else 0.0


def _apd(stats: Sequence[RevisitStats]) -> float:
    return float(np.mean([s.accesses_per_day for s in stats])) if stats else 0.0


def sharing_gain(result: AccessResult, nations: Sequence[str] | None = None) -> SharingGain:
    """Per-nation sharing gain and each owner's contribution to the pool (leave-one-out).

    Only allies pool: windows of other owners' satellites (and of unknown ones) count nowhere
    here. A nation in `nations` without satellites of its own gets what the pool gives it.
    """
    if not all(s.ally for s in result.satellites):
        allies = np.array([s.ally for s in result.satellites] or [False])
        result = result.select(allies[result.columns["sat"]] if len(result) else np.zeros(0, bool))
    owners = sorted({s.owner for s in result.satellites if s.ally})
    nations = list(nations) if nations is not None else owners
    counts = {o: sum(1 for s in result.satellites if s.owner == o and s.ally) for o in owners}
    pooled = revisit_statistics(result)
    pooled_worst, pooled_mm = worst_gap_s(pooled), _mean_max(pooled)
    gains = []
    for n in nations:
        own = revisit_statistics(result, owners=[n])
        best_partner, best_gap = None, None
        for k in owners:
            if k == n:
                continue
            gap = worst_gap_s(revisit_statistics(result, owners=[n, k]))
            if best_gap is None or gap < best_gap:
                best_partner, best_gap = k, gap
        gains.append(NationGain(n, counts.get(n, 0), worst_gap_s(own), pooled_worst, _mean_max(own), pooled_mm,
                                _apd(own), _apd(pooled), best_partner, best_gap))
    contributions = []
    for k in owners:
        rest = revisit_statistics(result, owners=[o for o in owners if o != k])
        w, mm = worst_gap_s(rest), _mean_max(rest)
        contributions.append(Contribution(k, counts[k], w, mm, w - pooled_worst, mm - pooled_mm))
    contributions.sort(key=lambda c: (-c.worst_gap_increase_s, -c.mean_max_gap_increase_s))
    gains.sort(key=lambda g: -g.worst_gap_reduction)
    return SharingGain(pooled, gains, contributions)
