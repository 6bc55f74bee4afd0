"""Plots people would rather look at than read: sharing gain bars and revisit heat maps (PNG/HTML)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from aquila.errors import InputError
from aquila.orbits.coverage import CoverageGrid
from aquila.orbits.footprints import ground_tracks, swaths
from aquila.orbits.revisit import SharingGain

__all__ = ["plot_sharing_gain", "plot_coverage", "save_figure", "coastlines", "draw_coastlines"]


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_sharing_gain(gain: SharingGain, title: str = "Worst revisit gap: own satellites vs the pool"):  # type: ignore[no-untyped-def]
    """Horizontal bars per nation: own worst gap and pooled worst gap (hours)."""
    plt = _figure()
    nations = [n.nation for n in gain.nations]
    own = [n.own_worst_gap_s / 3600 for n in gain.nations]
    pooled = [n.pooled_worst_gap_s / 3600 for n in gain.nations]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(nations) + 1.5))
    y = np.arange(len(nations))
    ax.barh(y + 0.2, own, height=0.4, label="own satellites", color="#c0504d")
    ax.barh(y - 0.2, pooled, height=0.4, label="pooled constellation", color="#4f81bd")
    ax.set_yticks(y, nations)
    ax.invert_yaxis()
    ax.set_xlabel("worst gap over the targets (hours)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def coastlines() -> list[np.ndarray]:
    """Coastlines at 0.1 deg as (n, 2) lon/lat arrays (shipped; see tools/build_coastlines.py)."""
    from importlib import resources

    with resources.files("aquila").joinpath("data/coastlines.npz").open("rb") as f:
        data = np.load(f)
        xy, offsets = data["xy"], data["offsets"]
    return [xy[offsets[k]:offsets[k + 1]] for k in range(len(offsets) - 1)]


def draw_coastlines(ax, extent: tuple[float, float, float, float]) -> None:  # type: ignore[no-untyped-def]
    """Coasts over a lon/lat map (only the lines that reach into `extent`), without changing its limits."""
    w, e, s, n = extent
    for line in coastlines():
        x, y = line[:, 0], line[:, 1]
        if x.max() < w or x.min() > e or y.max() < s or y.min() > n:
            continue
        ax.plot(x, y, color="#2b2b2b", linewidth=0.6)
    ax.set_xlim(w, e)
    ax.set_ylim(s, n)


def plot_coverage(grid: CoverageGrid, title: str = "Maximum revisit gap (hours)",  # type: ignore[no-untyped-def]
                  tracks: bool = False, footprints: bool = False):
    """Heat map of the max gap per cell on lon/lat axes, with the coastlines (and the satellites' ground tracks
    and field-of-regard swaths over the period, where they cross the map)."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(8, 5))
    dlat, dlon = grid.cell_size()
    extent = (grid.lon_deg[0] - dlon / 2, grid.lon_deg[-1] + dlon / 2, grid.lat_deg[0] - dlat / 2,
              grid.lat_deg[-1] + dlat / 2)
    im = ax.imshow(grid.max_gap_s / 3600.0, origin="lower", extent=extent, cmap="magma_r", aspect="auto")
    fig.colorbar(im, ax=ax, label="hours")
    if footprints:
        from matplotlib.patches import Polygon as Patch

        for sw in swaths(grid.result, extent=extent):
            for part in getattr(sw.polygon, "geoms", [sw.polygon]):
                ax.add_patch(Patch(np.asarray(part.exterior.coords), closed=True, facecolor="#2ca02c", alpha=0.16,
                                   edgecolor="none"))
    if tracks:
        for _, line in ground_tracks(grid.result, extent=extent):
            ax.plot(line[:, 0], line[:, 1], color="#1f77b4", linewidth=0.7, alpha=0.7)
    draw_coastlines(ax, extent)
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def save_figure(fig, path: str | Path, table_html: str = "") -> Path:  # type: ignore[no-untyped-def]
    """Write a figure as PNG, or as a self-contained HTML page (figure inline plus a table)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".png", ".html"):
        raise InputError(f"{p.name}", field="plot", expected="a file name ending in .png or .html")
    if suffix == ".png":
        fig.savefig(p, dpi=120)
    else:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120)
        img = base64.b64encode(buf.getvalue()).decode()
        title = html.escape(fig.axes[0].get_title() if fig.axes else "Aquila")
        p.write_text(f"<!doctype html><meta charset='utf-8'><title>{title}</title>"
                     f"<body style='font-family:sans-serif'><h1>{title}</h1>"
                     f"<img alt='{title}' src='data:image/png;base64,{img}'>{table_html}</body>\n", encoding="utf-8")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return p
