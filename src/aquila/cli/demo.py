"""`aquila demo`: the shipped Baltic / Black Sea scenario on the built-in constellation, ending by serving its
common operational picture (`aquila.cli.cop_demo`)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from aquila.cli.render import render_revisit_tables
from aquila.cli.selection import summarise
from aquila.config import Settings
from aquila.constellation.store import load_constellation
from aquila.orbits.access import AccessMode, compute_access
from aquila.orbits.revisit import sharing_gain
from aquila.orbits.targets import load_targets

__all__ = ["run_demo", "DEMO_TARGETS"]

DEMO_TARGETS = Path(str(resources.files("aquila") / "data" / "demo_aois.geojson"))


def run_demo(start: datetime, hours: float, workers: int | None, out: Console, err: Console) -> None:
    """Access and sharing gain over the demo areas, then the shared-library half (who sees what)."""
    settings = Settings()
    end = start + timedelta(hours=hours)
    targets = load_targets(DEMO_TARGETS)
    c = load_constellation(settings.data_dir, start)
    stale = sorted(c.stale(end, settings.max_element_age_days), key=lambda s: -s.elements.age_days(end))
    if stale:  # the demo runs anyway (as with --allow-stale), and says so
        summarise(f"satellites have stored elements older than {settings.max_element_age_days:g} days at the "
                  "period's end (positions drift; `aquila constellation update`, or --start near their epoch)",
                  stale, lambda s: f"{s.elements.age_days(end):.0f} days old", False,
                  short=lambda s: f"{s.elements.age_days(end):.0f} days old")
    nominal = sum(1 for s in c if s.nominal)
    out.print(f"[bold]Aquila demo[/] - {len(c)} satellites of {len(c.owners)} owners over {len(targets)} areas of "
              f"interest in the Baltic and Black Seas, {start:%Y-%m-%d %H:%M} UTC + {hours:g} h")
    if nominal:
        out.print(f"[dim]{nominal} satellites use nominal elements from published orbit facts: revisit is "
                  "representative, pass times are not (load current elements: aquila constellation update).[/]")
    res = compute_access(c, targets, start, end, mode=AccessMode.IMAGING, step_s=settings.step_s,
                         workers=workers or settings.workers)
    col = res.columns
    t = Table(title=f"Imaging opportunities in the next {hours:g} h, per nation")
    for h in ("nation", "sats", "opportunities", "targets reached", "best GSD m", "first (UTC)", "first target"):
        t.add_column(h, justify="left" if h in ("nation", "first target", "first (UTC)") else "right")
    sat_owner = np.array([s.owner for s in res.satellites])
    for owner in c.owners:
        m = sat_owner[col["sat"]] == owner if len(res) else np.zeros(0, bool)
        n_sats = int(np.sum(sat_owner == owner))
        if not m.any():
            t.add_row(owner, str(n_sats), "0", "0", "-", "-", "-")
            continue
        first = int(np.flatnonzero(m)[np.argmin(col["start_s"][m])])
        t.add_row(owner, str(n_sats), str(int(m.sum())), f"{len(set(col['target'][m].tolist()))}/{len(targets)}",
                  f"{float(np.min(col['best_gsd_m'][m])):.2f}",
                  res.grid.to_iso(col["start_s"][first:first + 1])[0][5:16].replace("T", " "),
                  res.targets[int(col["target"][first])].id)
    out.print(t)
    out.file.write(render_revisit_tables(sharing_gain(res)))
    from aquila.cli.cop_demo import prepare_cop_demo, serve_cop_demo

    cop = prepare_cop_demo(res, out)
    err.print(f"[dim]{len(res)} windows computed; try: aquila access --targets {DEMO_TARGETS} --format table[/]",
              soft_wrap=True)
    if os.environ.get("AQUILA_DEMO_NO_SERVE", "") in ("", "0"):
        serve_cop_demo(cop, out)
    else:
        out.print(f"[dim]AQUILA_DEMO_NO_SERVE is set: not serving the picture (aquila serve --data {cop.data_dir} "
                  f"--aois {DEMO_TARGETS} serves it)[/]", soft_wrap=True)
