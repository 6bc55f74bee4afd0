"""CLI commands of dissemination: exports for the tools people already use, and following alerts."""

from __future__ import annotations

import json
from pathlib import Path

import click

from aquila.cli.errors import handle_errors
from aquila.cli.render import emit, err
from aquila.errors import InputError

__all__ = ["export", "subscribe"]


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


@click.command()
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="the Aquila server")
@click.option("--token", envvar="AQUILA_TOKEN", required=True, help="bearer token (or AQUILA_TOKEN)")
@click.option("--collection", "collections", multiple=True, required=True, help="collection id (repeatable)")
@click.option("--bbox", help="west,south,east,north")
@click.option("--filter", "cql2", help="CQL2 text, e.g. \"aquila:dark_vessels >= 1\"")
@click.option("--follow/--no-follow", default=True, show_default=True,
              help="then print the alerts as they arrive, one JSON line each (Ctrl-C stops)")
@click.option("--max-alerts", type=click.IntRange(1), help="stop after this many alerts")
@handle_errors
def subscribe(url: str, token: str, collections: tuple[str, ...], bbox: str | None, cql2: str | None, follow: bool,
              max_alerts: int | None) -> None:
    """Create a standing query on a server and (by default) follow its alerts over Server-Sent Events."""
    import httpx

    body: dict[str, object] = {"collections": list(collections)}
    if bbox:
        body["bbox"] = bbox.split(",")
    if cql2:
        body["filter"] = cql2
    headers = {"Authorization": f"Bearer {token}"}
    try:
        r = httpx.post(url.rstrip("/") + "/subscriptions", json=body, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        raise InputError(f"cannot reach {url}: {exc}", field="--url", expected="a running `aquila serve`") from None
    if r.status_code != 201:
        detail = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        raise InputError(str(detail.get("description", r.text[:200])), field=str(detail.get("field") or "--token"),
                         expected=str(detail.get("expected") or "a valid token and subscription"))
    err.print(f"subscription {r.json()['id']} on {', '.join(collections)}", highlight=False)
    if not follow:
        click.echo(json.dumps(r.json()))
        return
    n = 0
    with httpx.Client(timeout=httpx.Timeout(30, read=None)) as c, c.stream(
            "GET", url.rstrip("/") + "/alerts/stream", headers=headers) as s:
        event = None
        for line in s.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "alert":
                click.echo(line[5:].strip())
                n += 1
                if max_alerts is not None and n >= max_alerts:
                    return
            elif line.startswith("data:") and event == "end":
                raise InputError("the server ended the stream: " + line[5:].strip(), field="--token",
                                 expected="a token that is not revoked or expired")
