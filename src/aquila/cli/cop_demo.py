"""The last act of `aquila demo`: the common operational picture of the demo scenario, served at
http://127.0.0.1:8000/cop/ for two nations' watch officers (set AQUILA_DEMO_NO_SERVE=1 to stop before serving).

One instance holds both halves of the demo: the shared library's products (one per imaging opportunity, with
its owner's label) and the maritime findings (DEU SAR scenes, detections, dark vessels, derived labels). Each
watch officer gets a token and a standing subscription (dark vessels in their area), and sees on the map only
what the labels release to their nation.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from rich.console import Console

from aquila.analytics.findings import FINDINGS_COLLECTION
from aquila.instance import Instance
from aquila.orbits.access import AccessResult
from aquila.security.labels import Classification
from aquila.security.policy import User

__all__ = ["WATCH_OFFICERS", "CopDemo", "prepare_cop_demo", "serve_cop_demo"]

WATCH_OFFICERS = {
    "DEU": (User("DEU", Classification.NS, subject="deu-watch-officer"), [10.0, 53.5, 24.0, 59.5]),
    "EST": (User("EST", Classification.NR, frozenset({"BALTIC"}), subject="est-watch-officer"),
            [21.0, 56.5, 28.5, 60.5]),
}
"""nation -> (the officer, the bbox of their dark-vessel subscription)."""


@dataclass
class CopDemo:
    data_dir: Path
    tokens: dict[str, str]  # nation -> bearer token


def prepare_cop_demo(res: AccessResult, out: Console, data_dir: Path | None = None, size_px: int = 1024
                     ) -> CopDemo:
    """Both halves of the demo in one instance, a token and a subscription per watch officer."""
    from aquila.cli.library_demo import run_library_demo
    from aquila.cli.maritime_demo import run_maritime_demo
    from aquila.dissemination import Dissemination

    d = Path(data_dir or tempfile.mkdtemp(prefix="aquila-demo-"))
    run_library_demo(res, out, d)
    run_maritime_demo(out, d, size_px=size_px)
    inst = Instance.open(d)
    try:
        diss = Dissemination(inst)
        tokens = {}
        for nation, (user, bbox) in WATCH_OFFICERS.items():
            tok = inst.tokens.issue(user, timedelta(hours=12))
            tokens[nation] = tok
            diss.subscribe(user, {"collections": [FINDINGS_COLLECTION], "bbox": bbox,
                                  "filter": "aquila:dark_vessels >= 1", "filter-lang": "cql2-text",
                                  "channel": "sse"}, inst.tokens.times(tok))
        diss.close()
    finally:
        inst.close()
    return CopDemo(d, tokens)


def serve_cop_demo(demo: CopDemo, out: Console, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Print how to open the picture as each officer, then serve it (with the pipelines) until Ctrl-C."""
    from aquila.cli.demo import DEMO_TARGETS

    base = f"http://{host}:{port}"
    out.print(f"\n[bold]Common operational picture[/] at {base}/cop/ - sign in with a token (valid 12 h):")
    for nation, tok in demo.tokens.items():
        user = WATCH_OFFICERS[nation][0]
        out.print(f"  [bold]{nation}[/] watch officer ({user.clearance.full_name}"
                  f"{', ' + ' '.join(sorted(user.caveats)) if user.caveats else ''}):\n    {base}/cop/#token={tok}\n"
                  f"    token: {tok}", soft_wrap=True)
    out.print("  (each sees only what the labels release to their nation; Ctrl-C stops the server)")
    os.environ.setdefault("AQUILA_AOIS", str(DEMO_TARGETS))
    from aquila.cli.library import serve

    serve.main(["--data", str(demo.data_dir), "--host", host, "--port", str(port)], standalone_mode=False)
