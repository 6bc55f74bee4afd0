"""Revisit statistics and the sharing gain, checked against a brute-force timeline."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aquila.constellation.assets import GENERIC_SENSOR, OwnerKind, Satellite
from aquila.orbits.access import AccessMode, AccessResult
from aquila.orbits.frames import TimeGrid
from aquila.orbits.revisit import revisit_statistics, sharing_gain, worst_gap_s
from aquila.orbits.targets import TargetSet
from conftest import EPOCH, generated_elements

SPAN_S = 6 * 3600
GRID = TimeGrid.build(EPOCH, EPOCH + timedelta(seconds=SPAN_S), 60.0)
ELEMENTS = generated_elements(1)[0]
OWNERS = ["AAA", "BBB", "CCC"]


def _result(windows: list[tuple[int, int, int, int]], n_sats: int, n_targets: int) -> AccessResult:
    sats = [Satellite(f"S{i}", i + 1, OWNERS[i % 3], "t", OwnerKind.NATIONAL, GENERIC_SENSOR, ELEMENTS)
            for i in range(n_sats)]
    tset = TargetSet.from_points(np.zeros(n_targets), np.arange(n_targets, dtype=float))
    w = np.array(windows, dtype=float).reshape(-1, 4)
    cols = {"sat": w[:, 0].astype(np.int64), "target": w[:, 1].astype(np.int64), "start_s": w[:, 2],
            "culm_s": w[:, 2], "end_s": w[:, 3], "start_clipped": w[:, 2] == 0, "end_clipped": w[:, 3] == SPAN_S,
            "max_elevation_deg": np.full(len(w), 45.0), "min_off_nadir_deg": np.full(len(w), 10.0),
            "best_gsd_m": np.ones(len(w))}
    return AccessResult(sats, tset.targets, GRID, AccessMode.VISIBILITY, 10.0, cols)


def _brute(windows: list[tuple[int, int, int, int]], target: int, sats: set[int]) -> list[int]:
    covered = np.zeros(SPAN_S, bool)
    for s, t, a, b in windows:
        if t == target and s in sats:
            covered[a:b] = True
    gaps, run = [], 0
    for c in covered:
        if c:
            if run:
                gaps.append(run)
            run = 0
        else:
            run += 1
    gaps.append(run)  # the tail gap (possibly 0) closes the period
    if covered[0]:
        gaps.insert(0, 0)  # a window open at the start leaves a zero lead-in gap
    return gaps


windows_strategy = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 2), st.integers(0, SPAN_S - 1), st.integers(1, 1800)).map(
        lambda x: (x[0], x[1], x[2], min(SPAN_S, x[2] + x[3]))),
    max_size=40)


@settings(max_examples=60, deadline=None)
@given(windows_strategy)
def test_gaps_match_brute_force_timeline(windows: list[tuple[int, int, int, int]]) -> None:
    res = _result(windows, 6, 3)
    for owners in (None, ["AAA"], ["BBB", "CCC"]):
        stats = revisit_statistics(res, owners=owners)
        sats = {i for i in range(6) if owners is None or OWNERS[i % 3] in owners}
        for t, s in enumerate(stats):
            gaps = _brute(windows, t, sats)
            assert abs(s.max_gap_s - max(gaps)) <= 1
            n = sum(1 for w in windows if w[1] == t and w[0] in sats)
            assert s.accesses == n
            if n:
                assert s.time_to_first_access_s == min(w[2] for w in windows if w[1] == t and w[0] in sats)
                assert abs(s.mean_gap_s - np.mean(gaps)) <= 1
                assert abs(s.p90_gap_s - np.percentile(gaps, 90)) <= 1
            else:
                assert s.time_to_first_access_s is None and s.max_gap_s == SPAN_S


@settings(max_examples=40, deadline=None)
@given(windows_strategy)
def test_pooling_never_hurts_and_leaving_out_never_helps(windows: list[tuple[int, int, int, int]]) -> None:
    res = _result(windows, 6, 3)
    gain = sharing_gain(res)
    pooled = worst_gap_s(gain.pooled)
    for n in gain.nations:
        assert n.pooled_worst_gap_s == pooled <= n.own_worst_gap_s
        assert 0.0 <= n.worst_gap_reduction <= 1.0
        if n.best_partner_worst_gap_s is not None:
            assert pooled <= n.best_partner_worst_gap_s <= n.own_worst_gap_s
    for c in gain.contributions:
        assert c.worst_gap_increase_s >= 0 and c.mean_max_gap_increase_s >= 0


def test_worked_example() -> None:
    """Windows at 1:00-1:15 and 3:50-4:00 over 6 h: gaps 1 h, 2 h 35 min, 2 h (lead-in, between, tail)."""
    res = _result([(0, 0, 3600, 4500), (1, 0, 14400, 14400 + 0), (1, 0, 14400 - 600, 14400)], 2, 1)
    (s,) = revisit_statistics(res)
    assert s.accesses == 3 and s.time_to_first_access_s == 3600
    assert s.max_gap_s == 13800 - 4500
    assert s.mean_gap_s == np.mean([3600, 13800 - 4500, 21600 - 14400])


def test_maps_draw_the_shipped_coastlines() -> None:
    """Coasts come with the package (no download): the Baltic's are where the Baltic is."""
    import numpy as np

    from aquila.orbits.coverage import CoverageGrid
    from aquila.orbits.plots import coastlines, plot_coverage

    lines = coastlines()
    assert len(lines) > 500
    baltic = [ln for ln in lines if ((ln[:, 0] > 17) & (ln[:, 0] < 23) & (ln[:, 1] > 57) & (ln[:, 1] < 60)).any()]
    assert baltic  # Gotland, the Estonian and Latvian coasts
    assert not any(((ln[:, 0] > -28) & (ln[:, 0] < -18) & (ln[:, 1] > -10) & (ln[:, 1] < -2)).any()
                   for ln in lines)  # the open South Atlantic
    lat, lon = np.arange(50.5, 68, 1.0), np.arange(5.5, 35, 1.0)
    z = np.ones((len(lat), len(lon)))
    grid = CoverageGrid(lat, lon, z * 3600, z * 1800, z, None)  # type: ignore[arg-type]
    fig = plot_coverage(grid, "test")
    assert len(fig.axes[0].lines) >= len(baltic)


def test_interactive_map_shows_the_value_under_the_cursor(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The HTML map's own script, run in node against a stub canvas: it draws cells and coasts, and hovering a
    cell shows that cell's figures."""
    import json
    import re
    import shutil
    import subprocess

    import numpy as np
    import pytest

    from aquila.orbits.coverage import CoverageGrid
    from aquila.orbits.html_map import coverage_html

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    lat, lon = np.arange(50.5, 68, 1.0), np.arange(5.5, 35, 1.0)
    gap = np.add.outer(lat, lon) * 60.0  # distinct per cell
    page = coverage_html(CoverageGrid(lat, lon, gap, gap / 2, np.ones_like(gap), None), "Baltic <test>")  # type: ignore[arg-type]
    assert "Baltic &lt;test&gt;" in page and "https://" not in page  # escaped, nothing fetched
    script = re.search(r"<script>(.*)</script>", page, re.S).group(1)  # type: ignore[union-attr]
    data = json.loads(re.search(r"const D = (\{.*?\});\n", script, re.S).group(1))  # type: ignore[union-attr]
    assert data["extent"] == [5.0, 35.0, 50.0, 68.0] and len(data["coast"]) > 0
    harness = """
const listeners = {}; const fills = []; let strokes = 0;
const stubCtx = {clearRect() {}, fillRect(x, y, w, h) { fills.push([x, y, w, h]); }, beginPath() {}, moveTo() {},
  lineTo() {}, stroke() { strokes++; }, set fillStyle(v) {}, set strokeStyle(v) {}, set lineWidth(v) {}};
const stubTip = {style: {}, textContent: ""};
const canvas = {width: 960, height: 600, getContext: () => stubCtx, getBoundingClientRect: () => ({left: 0, top: 0}),
  addEventListener: (k, f) => { listeners[k] = f; }};
globalThis.document = {getElementById: id => id === "map" ? canvas : id === "tip" ? stubTip : {}};
globalThis.window = {addEventListener() {}};
""" + script + """
// hover the cell at lat 57.5, lon 19.5
const x = (19.5 - 5) / 30 * 960, y = (68 - 57.5) / 18 * 600;
listeners.mousemove({clientX: x, clientY: y});
console.log(JSON.stringify({fills: fills.length, strokes, tip: stubTip.textContent}));
"""
    js = tmp_path / "run.js"
    js.write_text(harness)
    out = subprocess.run([node, str(js)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["fills"] == len(lat) * len(lon) and result["strokes"] == len(data["coast"])
    expect = round((57.5 + 19.5) * 60.0 / 3600.0, 2)
    assert result["tip"].startswith("57.50, 19.50: max gap ") and f"max gap {expect} h" in result["tip"]


def test_ground_tracks_match_skyfield_subpoints() -> None:
    from datetime import timedelta

    import numpy as np
    from skyfield.api import EarthSatellite, wgs84

    from aquila.constellation.builtin import builtin_constellation
    from aquila.orbits.access import compute_access
    from aquila.orbits.footprints import ground_tracks
    from aquila.orbits.frames import timescale
    from aquila.orbits.targets import TargetSet
    from conftest import EPOCH

    c = [s for s in builtin_constellation(EPOCH) if s.name in ("SENTINEL-2A", "CAPELLA-14")]
    res = compute_access(c, TargetSet.from_points([0.0], [0.0]), EPOCH, EPOCH + timedelta(hours=3), workers=1)
    tracks = ground_tracks(res, minutes=100.0, step_s=30.0)
    ts = timescale()
    for name in ("SENTINEL-2A", "CAPELLA-14"):
        sat = next(s for s in c if s.name == name)
        first = next(line for n, line in tracks if n == name)
        sub = wgs84.subpoint_of(EarthSatellite.from_satrec(sat.elements.satrec, ts).at(ts.from_datetime(EPOCH)))
        assert abs(first[0, 1] - sub.latitude.degrees) < 0.01 and abs(first[0, 0] - sub.longitude.degrees) < 0.01
        pts = np.concatenate([line for n, line in tracks if n == name])
        assert len(pts) == 201 and np.abs(pts[:, 1]).max() <= min(sat.elements.inclination_deg,
                                                                  180 - sat.elements.inclination_deg) + 0.5
        assert all(np.abs(np.diff(line[:, 0])).max() < 180 for n, line in tracks if n == name)  # split at 180
