"""CLI commands of dissemination: exports for the tools people already use, and following alerts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from aquila.cli.errors import handle_errors
from aquila.cli.render import emit, err
from aquila.errors import InputError

__all__ = ["export", "subscribe", "report"]


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
    with _reaching(url):
        created = _answer(httpx.post(url.rstrip("/") + "/subscriptions", json=body, headers=headers, timeout=30),
                          201)
    err.print(f"subscription {created['id']} on {', '.join(collections)}", highlight=False)
    if not follow:
        click.echo(json.dumps(created))
        return
    n = 0
    with _reaching(url), httpx.Client(timeout=httpx.Timeout(30, read=None)) as c, c.stream(
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


@click.command()
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="the Aquila server")
@click.option("--token", envvar="AQUILA_TOKEN", required=True, help="bearer token (or AQUILA_TOKEN): whose rights")
@click.option("--bbox", required=True, help="the area: west,south,east,north (degrees)")
@click.option("--datetime", "period", default="../..", show_default=False,
              help="the period: START/END (RFC 3339, .. for open), e.g. 2026-12-01T00:00:00Z/..")
@click.option("--collection", "collections", multiple=True, help="only these collections (repeatable)")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="report.html or report.pdf")
@click.option("--max-items", type=click.IntRange(1, 20_000), default=5000, show_default=True)
@handle_errors
def report(url: str, token: str, bbox: str, period: str, collections: tuple[str, ...], output: str,
           max_items: int) -> None:
    """A report for an area and period: a map, the findings and products with their labels (portion-marked),
    from what the server releases to the token; HTML, or PDF by the output's extension."""
    import httpx

    from aquila.catalog.params import parse_bbox, parse_datetime
    from aquila.dissemination.report import ReportData, render_html, render_pdf

    box = parse_bbox(bbox)
    if period != "../..":
        parse_datetime(period)
    fmt = "pdf" if output.lower().endswith(".pdf") else "html"
    headers = {"Authorization": f"Bearer {token}"}
    body: dict[str, object] = {"bbox": list(box), "limit": min(max_items, 1000),
                               "sortby": [{"field": "properties.datetime", "direction": "desc"}]}
    if period != "../..":
        body["datetime"] = period
    if collections:
        body["collections"] = list(collections)
    items: list[dict[str, Any]] = []
    detections: dict[str, list[dict[str, Any]]] = {}
    with _reaching(url), httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        me = _answer(client.get("/me"))
        while True:
            page = _answer(client.post("/search", json=body))
            items += page["features"]
            nxt = next((lk for lk in page.get("links", []) if lk.get("rel") == "next"), None)
            if nxt is None or len(items) >= max_items:
                break
            body = {**body, **nxt.get("body", {})}
        for it in items[:max_items]:
            href = ((it.get("assets") or {}).get("detections") or {}).get("href")
            if href and str(href).startswith(url.rstrip("/") + "/"):  # the token goes to this server only
                r = client.get(str(href))
                if r.status_code == 200:
                    detections[f"{it['collection']}/{it['id']}"] = r.json().get("features", [])
    reader = f"{me['subject']} ({me['nation']}, {me['clearance_name']})"
    data = ReportData(box, period, reader, items[:max_items], detections)
    Path(output).write_bytes(render_pdf(data) if fmt == "pdf" else render_html(data).encode())
    err.print(f"{len(data.findings)} findings and {len(data.products)} products, marked "
              f"{data.overall.full_name}, in {output}", highlight=False)


@contextmanager
def _reaching(url: str) -> Iterator[None]:
    """A server that cannot be reached (refused, timed out, cut off) as one line naming --url."""
    import httpx

    try:
        yield
    except httpx.TransportError as exc:
        raise InputError(f"cannot reach {url}: {exc}", field="--url", expected="a running `aquila serve`") from None


def _answer(r: object, status: int = 200) -> dict[str, Any]:
    """The JSON of a successful answer; the server's own error otherwise (it names what to fix)."""
    import httpx

    assert isinstance(r, httpx.Response)
    if r.status_code != status:
        try:
            detail = r.json()
        except ValueError:
            detail = {}
        detail = detail if isinstance(detail, dict) else {}
        raise InputError(f"the server answered {r.status_code}: {detail.get('description', r.text[:200])}",
                         field=str(detail.get("field") or "--url/--token"),
                         expected=str(detail.get("expected") or "a reachable Aquila server and a valid token"))
    doc = r.json()
    assert isinstance(doc, dict)
    return doc
