"""CLI commands of dissemination: exports for the tools people already use."""

from __future__ import annotations

import json
from pathlib import Path

import click

from aquila.cli.errors import handle_errors
from aquila.cli.render import emit, err
from aquila.errors import InputError

__all__ = ["export"]


@click.command()
@click.argument("source", type=click.Path(dir_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(["geojson", "kml", "cot"]), help="default: from --output")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="write here instead of stdout")
@click.option("--stale", "stale_s", type=click.FloatRange(1, 7 * 86400), default=3600.0, show_default=True,
              help="CoT: seconds until a track is stale")
@handle_errors
def export(source: str, fmt: str | None, output: str | None, stale_s: float) -> None:
    """Detections or findings (GeoJSON: `aquila detect ships`/`fuse` output, a finding's detections asset, STAC
    items) as GeoJSON, KML or Cursor-on-Target for TAK, every feature with its label's marking."""
    from aquila.dissemination.exports import export as convert

    if fmt is None:
        ext = Path(output).suffix.lower() if output else ""
        fmt = {".kml": "kml", ".cot": "cot", ".xml": "cot"}.get(ext, "geojson")
    try:
        doc = json.loads(Path(source).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{Path(source).name!r} is not JSON ({exc})", field="SOURCE",
                         expected="a GeoJSON FeatureCollection or STAC item") from None
    text = convert(doc, fmt, stale_s=stale_s)
    emit(text, output)
    n = text.count("<event ") if fmt == "cot" else text.count("<Placemark") if fmt == "kml" else len(
        json.loads(text)["features"])
    err.print(f"{n} features as {fmt}", highlight=False)
