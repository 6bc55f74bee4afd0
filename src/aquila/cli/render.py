"""How the CLI shows results: one place for tables, CSV, files and the consoles (stdout, stderr)."""

from __future__ import annotations

import html
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["out", "err", "emit", "write_result", "table_text", "hours", "render_revisit_tables",
           "html_gain_table"]

err = Console(stderr=True, highlight=False)
out = Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def emit(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(text)


def write_result(table: Any, fmt: str, output: str | None, *, key: str, meta: dict[str, Any], pretty: bool,
                 title: str, max_rows: int, geometries: dict[str, Any] | None = None, result: Any = None) -> None:
    """A columnar result to `output` (atomically: a partial file never stays behind) or stdout.

    CZML draws the satellites' tracks, so it is written from the `result`, not only its table; KML of imaging
    opportunities adds the satellites' fields of regard where they cross the targets.
    """
    from aquila.errors import InputError
    from aquila.orbits.czml import write_czml
    from aquila.orbits.export import write_table

    footprints: list[Any] = []
    if fmt == "kml" and result is not None and result.mode.value == "imaging" and result.targets:
        import shapely

        from aquila.orbits.footprints import swaths

        w, s, e, n = shapely.union_all([t.geometry for t in result.targets]).bounds
        footprints = swaths(result, extent=(w, e, s, n))  # where the fields of regard cross the targets

    def write(dest: Any) -> None:
        if fmt == "czml":
            write_czml(result, dest, title or "Aquila access")
        else:
            write_table(table, fmt, dest, key=key, meta=meta, pretty=pretty, title=title, max_rows=max_rows,
                        geometries=geometries, footprints=footprints,
                        start=result.grid.start if result is not None else None)

    if output is None:
        if fmt == "parquet":
            raise InputError("Parquet is binary", field="--output", expected="-o FILE.parquet")
        write(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    dest = Path(output)
    tmp = dest.with_name(f".{dest.name}.partial")
    try:
        with tmp.open("wb") as f:
            write(f)
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    err.print(f"wrote {output} ({table.num_rows} rows, {fmt})", highlight=False)


def table_text(rows: list[dict[str, Any]], columns: Sequence[str], title: str) -> str:
    t = Table(title=title, show_lines=False)
    for col in columns:
        t.add_column(col, justify="right" if rows and isinstance(rows[0].get(col), (int, float)) else "left")
    for r in rows:
        t.add_row(*("" if r.get(col) is None else str(r.get(col)) for col in columns))
    con = Console(file=io.StringIO(), width=200, highlight=False)
    con.print(t)
    return con.file.getvalue()  # type: ignore[attr-defined]


def hours(s: float | None) -> str:
    return "-" if s is None else f"{s / 3600:.1f}"


def render_revisit_tables(gain: Any) -> str:
    con = Console(file=io.StringIO(), width=160, highlight=False)
    t = Table(title="Revisit per target (pooled constellation)")
    for col in ("target", "accesses", "per day", "first access h", "mean gap h", "p90 gap h", "max gap h"):
        t.add_column(col, justify="left" if col == "target" else "right")
    for s in gain.pooled:
        t.add_row(s.target, str(s.accesses), f"{s.accesses_per_day:.1f}", hours(s.time_to_first_access_s),
                  hours(s.mean_gap_s), hours(s.p90_gap_s), hours(s.max_gap_s))
    con.print(t)
    t = Table(title="Sharing gain: worst gap over all targets, own satellites vs the pool")
    for col in ("nation", "sats", "own worst gap h", "pooled worst gap h", "reduction", "best single partner"):
        t.add_column(col, justify="left" if col in ("nation", "best single partner") else "right")
    for n in gain.nations:
        partner = "-" if n.best_partner is None else f"{n.best_partner} ({hours(n.best_partner_worst_gap_s)} h)"
        t.add_row(n.nation, str(n.satellites), hours(n.own_worst_gap_s), hours(n.pooled_worst_gap_s),
                  f"{100 * n.worst_gap_reduction:.0f}%", partner)
    con.print(t)
    t = Table(title="Contributions: what the pool loses without each owner")
    for col in ("owner", "sats", "worst gap without h", "worst gap +h", "mean max gap +h"):
        t.add_column(col, justify="left" if col == "owner" else "right")
    for k in gain.contributions:
        t.add_row(k.owner, str(k.satellites), hours(k.worst_gap_without_s), f"{k.worst_gap_increase_s / 3600:+.2f}",
                  f"{k.mean_max_gap_increase_s / 3600:+.2f}")
    con.print(t)
    return con.file.getvalue()  # type: ignore[attr-defined]


def html_gain_table(gain: Any) -> str:
    rows = "".join(f"<tr><td>{html.escape(n.nation)}</td><td>{n.satellites}</td><td>{hours(n.own_worst_gap_s)}</td>"
                   f"<td>{hours(n.pooled_worst_gap_s)}</td><td>{100 * n.worst_gap_reduction:.0f}%</td></tr>"
                   for n in gain.nations)
    return ("<table border=1 cellpadding=4><tr><th>nation</th><th>satellites</th><th>own worst gap h</th>"
            f"<th>pooled worst gap h</th><th>reduction</th></tr>{rows}</table>")
