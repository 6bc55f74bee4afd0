"""A report for an area and period, as a watch officer hands it on: a map, the findings and the products,
every row portion-marked with its label and the whole page marked with the highest classification in it.

Built from what one user was given (items from the API's search, the findings' detections assets), so a
report never holds more than its reader's token released. HTML (one self-contained file: inline SVG map, no
script, every value escaped) or PDF (matplotlib: a map page, then the tables).
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aquila.security.labels import Classification, Label

__all__ = ["ReportData", "render_html", "render_pdf", "portion"]

COLOURS = {"NU": "#2e7d32", "NR": "#6a4fb3", "NC": "#1f5fbf", "NS": "#c62828", "CTS": "#e07b00"}
_MAX_ROWS = 2000  # rows per table (the report says how many more there were)


@dataclass
class ReportData:
    """What the report shows: the area (west, south, east, north), the period, the items released to its reader,
    and the detections of each finding (finding key -> GeoJSON features)."""

    bbox: tuple[float, float, float, float]
    period: str
    reader: str
    items: list[dict[str, Any]]
    detections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    generated: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def findings(self) -> list[dict[str, Any]]:
        return [i for i in self.items if "aquila:vessels" in i.get("properties", {})]

    @property
    def products(self) -> list[dict[str, Any]]:
        return [i for i in self.items if "aquila:vessels" not in i.get("properties", {})]

    @property
    def overall(self) -> Classification:
        """The page's marking: the highest classification of anything in it (NU for an empty report)."""
        return max((Label.from_properties(i["properties"]).classification for i in self.items),
                   default=Classification.NU)


def portion(props: dict[str, Any]) -> tuple[str, str]:
    """('(NR)', 'NATO RESTRICTED REL TO NATO') of an item's label: the portion mark and the full marking."""
    label = Label.from_properties(props)
    return f"({label.classification.name})", label.marking


def _rings(geom: dict[str, Any] | None) -> list[list[list[float]]]:
    if not geom:
        return []
    if geom["type"] == "Polygon":
        return [geom["coordinates"][0]]
    if geom["type"] == "MultiPolygon":
        return [p[0] for p in geom["coordinates"]]
    return []


def _point(geom: dict[str, Any] | None) -> tuple[float, float] | None:
    if geom and geom.get("type") == "Point":
        x, y = geom["coordinates"][:2]
        return float(x), float(y)
    return None


def _svg(data: ReportData, width: int = 900, height: int = 520) -> str:
    w, s, e, n = data.bbox
    sx, sy = width / max(e - w, 1e-9), height / max(n - s, 1e-9)
    k = min(sx, sy)
    px = lambda lon, lat: (round((lon - w) * k, 1), round((n - lat) * k, 1))  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{round((e - w) * k)}" height="{round((n - s) * k)}" '
           f'class="map" role="img" aria-label="map of the area"><rect width="100%" height="100%" fill="#0b2233"/>']
    for it in data.products:
        colour = COLOURS.get(it["properties"].get("sec:classification"), "#999")
        for ring in _rings(it.get("geometry")):
            pts = " ".join(f"{x},{y}" for x, y in (px(c[0], c[1]) for c in ring))
            out.append(f'<polygon points="{pts}" fill="{colour}" fill-opacity="0.25" stroke="{colour}"/>')
        p = _point(it.get("geometry"))
        if p:
            x, y = px(*p)
            out.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>')
    for feats in data.detections.values():
        for f in feats:
            p = _point(f.get("geometry"))
            if p is None:
                continue
            x, y = px(*p)
            props = f.get("properties", {})
            if props.get("kind") == "ais-unseen":
                out.append(f'<circle cx="{x}" cy="{y}" r="4" fill="none" stroke="#ffab00"/>')
            elif props.get("dark"):
                out.append(f'<circle cx="{x}" cy="{y}" r="4.5" fill="#ff1744" stroke="#fff"/>')
            else:
                out.append(f'<circle cx="{x}" cy="{y}" r="3" fill="#4fc3f7"/>')
    out.append("</svg>")
    return "".join(out)


def _table(head: list[str], rows: list[list[str]], levels: list[str]) -> str:
    esc = html.escape
    body = "".join(f'<tr><td class="pm" style="background:{COLOURS.get(lv, "#999")}">{esc(r[0])}</td>'
                   + "".join(f"<td>{esc(c)}</td>" for c in r[1:]) + "</tr>" for r, lv in zip(rows, levels, strict=True))
    return f"<table><thead><tr>{''.join(f'<th>{esc(h)}</th>' for h in head)}</tr></thead><tbody>{body}</tbody></table>"


def _rows(data: ReportData) -> tuple[list[list[str]], list[str], list[list[str]], list[str]]:
    frows, flev, prows, plev = [], [], [], []
    for it in data.findings[:_MAX_ROWS]:
        p = it["properties"]
        mark, full = portion(p)
        frows.append([mark, full, f"{it['collection']}/{it['id']}", str(p.get("datetime", "")),
                      str(p.get("aquila:vessels", "")), str(p.get("aquila:dark_vessels", "")),
                      ", ".join(p.get("aquila:source") or [])])
        flev.append(p["sec:classification"])
    for it in data.products[:_MAX_ROWS]:
        p = it["properties"]
        mark, full = portion(p)
        prows.append([mark, full, f"{it['collection']}/{it['id']}", str(p.get("datetime", "")),
                      str(p.get("platform", ""))])
        plev.append(p["sec:classification"])
    return frows, flev, prows, plev


def render_html(data: ReportData) -> str:
    """One self-contained HTML page (no script, no external resource)."""
    esc = html.escape
    top = data.overall
    frows, flev, prows, plev = _rows(data)
    banner = f'<div class="banner" style="background:{COLOURS[top.name]}">{esc(top.full_name)}</div>'
    more = lambda n, shown: f"<p>... and {n - shown} more</p>" if n > shown else ""  # noqa: E731
    dark = sum(int(f["properties"].get("aquila:dark_vessels") or 0) for f in data.findings)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Aquila report {esc(data.period)}</title><style>
body {{ font: 13px/1.4 system-ui, sans-serif; margin: 0; color: #111; }}
main {{ padding: 8px 24px; }} .banner {{ color: #fff; text-align: center; font-weight: 700; padding: 3px; }}
table {{ border-collapse: collapse; width: 100%; margin: 8px 0 16px; }} td, th {{ border: 1px solid #ccc;
padding: 3px 6px; text-align: left; vertical-align: top; }} .pm {{ color: #fff; font-weight: 700; }}
.map {{ max-width: 100%; height: auto; border: 1px solid #ccc; }}
</style></head><body>{banner}<main>
<h1>Aquila report: area {esc(", ".join(f"{v:g}" for v in data.bbox))}, {esc(data.period)}</h1>
<p>For {esc(data.reader)}; generated {data.generated:%Y-%m-%d %H:%M} UTC from what the shared library released to
this reader. {len(data.findings)} findings ({dark} dark vessels), {len(data.products)} products.</p>
{_svg(data)}
<p>Footprints coloured by classification; vessels blue, dark vessels red, AIS vessels not seen amber rings.</p>
<h2>Findings</h2>{_table(["", "marking", "finding", "time", "vessels", "dark", "source"], frows, flev)}
{more(len(data.findings), len(frows))}
<h2>Products</h2>{_table(["", "marking", "item", "time", "platform"], prows, plev)}
{more(len(data.products), len(prows))}
</main>{banner}</body></html>
"""


def render_pdf(data: ReportData) -> bytes:
    """The same report as PDF: a map page, then the findings and products (40 rows a page), each page marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    top = data.overall
    frows, flev, prows, plev = _rows(data)

    def page(title: str) -> Any:
        fig = plt.figure(figsize=(11.69, 8.27))
        for y, va in ((0.985, "top"), (0.015, "bottom")):
            fig.text(0.5, y, top.full_name, ha="center", va=va, color="white", weight="bold",
                     bbox={"facecolor": COLOURS[top.name], "edgecolor": "none", "pad": 3})
        fig.text(0.04, 0.93, title, fontsize=13, weight="bold")
        return fig

    buf = io.BytesIO()
    with PdfPages(buf) as pdf:
        fig = page(f"Aquila report: area {', '.join(f'{v:g}' for v in data.bbox)}, {data.period} - for {data.reader}")
        ax = fig.add_axes((0.06, 0.08, 0.88, 0.8))
        ax.set_facecolor("#0b2233")
        for it in data.products:
            colour = COLOURS.get(it["properties"].get("sec:classification"), "#999")
            for ring in _rings(it.get("geometry")):
                ax.fill([c[0] for c in ring], [c[1] for c in ring], color=colour, alpha=0.3, lw=0.8)
        for feats in data.detections.values():
            for f in feats:
                p = _point(f.get("geometry"))
                if p:
                    dark = f.get("properties", {}).get("dark")
                    ax.plot(*p, "o", ms=4 if dark else 2.5, color="#ff1744" if dark else "#4fc3f7")
        w, s, e, n = data.bbox
        ax.set_xlim(w, e)
        ax.set_ylim(s, n)
        ax.set_aspect("equal")
        ax.set_xlabel("longitude, deg")
        ax.set_ylabel("latitude, deg")
        pdf.savefig(fig)
        plt.close(fig)
        for title, head, rows, levels in (("Findings", ["", "marking", "finding", "time", "vessels", "dark",
                                                          "source"], frows, flev),
                                          ("Products", ["", "marking", "item", "time", "platform"], prows, plev)):
            for k in range(0, max(len(rows), 1), 40):
                fig = page(f"{title} ({len(rows)})" + (f", from row {k + 1}" if k else ""))
                ax = fig.add_axes((0.03, 0.06, 0.94, 0.84))
                ax.axis("off")
                chunk = rows[k:k + 40] or [["", "none", *[""] * (len(head) - 2)]]
                table = ax.table(cellText=[[c[:60] for c in r] for r in chunk], colLabels=head, loc="upper left",
                                 cellLoc="left")
                table.auto_set_font_size(False)
                table.set_fontsize(6.5)
                for r, lv in enumerate(levels[k:k + 40], start=1):
                    table[r, 0].set_facecolor(COLOURS.get(lv, "#999"))
                    table[r, 0].get_text().set_color("white")
                pdf.savefig(fig)
                plt.close(fig)
    return buf.getvalue()
