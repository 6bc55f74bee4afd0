"""The interactive revisit map as a user opens it: `aquila revisit --grid ... --plot map.html` in real headless
Chromium. It draws without errors or network, hovering shows the cell's figures as the JSON output has them,
the wheel zooms, and the field-of-regard swaths and ground tracks are drawn where they are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from browser import chromium_page

ARGS = ["revisit", "--grid", "10,53,30,66", "--resolution", "1", "--start", "2026-03-19T00:00:00Z",
        "--end", "2026-03-19T12:00:00Z", "--name", "SENTINEL-*"]


def _aquila(tmp_path: Path, *args: str) -> None:
    out = subprocess.run([sys.executable, "-m", "aquila", *ARGS, *args], capture_output=True, text=True,
                         env={**os.environ, "AQUILA_DATA_DIR": str(tmp_path / "data")}, timeout=300)
    assert out.returncode == 0, out.stderr


def test_revisit_map_in_chromium(tmp_path: Path) -> None:
    _aquila(tmp_path, "--tracks", "--footprints", "--plot", str(tmp_path / "map.html"), "-o",
            str(tmp_path / "grid.json"))
    grid = json.loads((tmp_path / "grid.json").read_text())
    with chromium_page() as page:
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto((tmp_path / "map.html").as_uri())
        page.wait_for_function("document.getElementById('legend').innerHTML.length > 0", timeout=10_000)
        assert page.errors == [] and all(u.startswith("file:") for u in requests)  # nothing fetched
        assert page.evaluate("D.swaths.length") > 0 and page.evaluate("D.tracks.length") > 0

        # hover the cell at lat 57.5, lon 19.5: the tip shows the figures of that cell in the JSON output
        box = page.locator("#map").bounding_box()
        i, j = grid["lat_deg"].index(57.5), grid["lon_deg"].index(19.5)
        x, y = box["x"] + (19.5 - 10) / 20 * box["width"], box["y"] + (66 - 57.5) / 13 * box["height"]
        page.mouse.move(x, y)
        tip = page.locator("#tip").inner_text()
        assert tip.startswith("57.50, 19.50: max gap ")
        shown_h = float(tip.split("max gap ")[1].split(" h")[0])  # the page rounds to 0.01 h, the JSON to 0.001 h
        assert abs(shown_h - grid["max_gap_h"][i][j]) <= 0.0051

        # the swaths are on the canvas: a pixel inside one changes when they are left out
        # a ring is the inner edge, then the outer edge reversed: halfway across its middle is inside the band
        inside = page.evaluate("""() => {
          for (const r of D.swaths) { const n = (r.length / 2 - 1) / 2, m = Math.floor(n / 2), o = 2 * n - 1 - m;
            const lon = (r[2 * m] + r[2 * o]) / 2, lat = (r[2 * m + 1] + r[2 * o + 1]) / 2;
            if (Number.isInteger(n) && lon > 11 && lon < 29 && lat > 54 && lat < 65) {
              const [a, b] = px(lon, lat); return [Math.round(a), Math.round(b)]; } }
          return null; }""")
        assert inside is not None
        pixel = "([x, y]) => Array.from(ctx.getImageData(x, y, 1, 1).data)"
        with_swaths = page.evaluate(pixel, inside)
        without = page.evaluate("(xy) => { const keep = D.swaths; D.swaths = []; draw();"
                                "const p = Array.from(ctx.getImageData(xy[0], xy[1], 1, 1).data);"
                                "D.swaths = keep; draw(); return p; }", inside)
        assert with_swaths != without

        # wheel: zoom in around the cursor; the same cell stays under it, the view narrows
        before = page.evaluate("view.x1 - view.x0")
        page.mouse.wheel(0, -300)
        page.wait_for_function(f"view.x1 - view.x0 < {before}", timeout=5_000)
        page.mouse.move(x + 1, y)
        assert page.locator("#tip").inner_text().startswith("57.50, 19.50")
        artifacts = Path(os.environ.get("AQUILA_TEST_ARTIFACTS", tmp_path))
        artifacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(artifacts / "revisit-map.png"))
        assert page.errors == []
