"""Access results as a columnar table (Arrow) and their writers: JSON, NDJSON, CSV, (Geo)Parquet, GeoJSON, KML.

Results stay columnar from the engine to the file: the table is built from the engine's numpy
columns without a Python object per row, and the text formats are written by a compiled formatter
(`textrows`) on two threads while the file is written, so 1.5 M passes take under two seconds to write.
Every row carries its target's coordinates (a polygon's representative point), so a row means something on its own.

JSON keeps its envelope (`{"passes": [...], "start": ..., ...}`, compact unless `pretty`); for
pandas use `pd.read_json(path, lines=True)` on NDJSON, `pd.read_parquet`, or `AccessResult`'s
`to_pandas()` directly.
"""

from __future__ import annotations

import io
import json
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import shapely.geometry

from aquila.errors import InputError
from aquila.orbits.access import AccessMode, AccessResult
from aquila.orbits.textrows import csv_header, format_rows

__all__ = ["FORMATS", "EXTENSIONS", "access_table", "format_for", "write_table", "table_text_preview"]

FORMATS = ("json", "ndjson", "csv", "parquet", "geojson", "kml", "czml", "table")
EXTENSIONS = {".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv", ".parquet": "parquet",
              ".geojson": "geojson", ".kml": "kml", ".czml": "czml", ".txt": "table"}
_CHUNK_ROWS = 50_000
_PARQUET_GROUP_ROWS = 500_000
_AHEAD = 1


def _target_points(res: AccessResult) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) of each target: the point itself, or a point inside the polygon."""
    lon = np.empty(len(res.targets))
    lat = np.empty(len(res.targets))
    for i, t in enumerate(res.targets):
        g = t.geometry
        if g.geom_type != "Point":
            parts = list(getattr(g, "geoms", [g]))
            g = max(parts, key=lambda p: p.area).representative_point() if parts[0].area > 0 else parts[0]
        lon[i], lat[i] = g.x, g.y
    return lon, lat


def _timestamps(res: AccessResult, seconds: np.ndarray) -> pa.Array:
    base = np.datetime64(res.grid.start.replace(tzinfo=None), "us")
    us = base + np.round(seconds * 1e6).astype("timedelta64[us]")
    return pa.array(us.astype("datetime64[ms]")).cast(pa.timestamp("ms", tz="UTC"))


def _dictionary(indices: np.ndarray, values: list[str]) -> pa.Array:
    """A dictionary column of `values[indices]` (distinct dictionary values: pandas categories must be unique)."""
    uniq, inverse = np.unique(np.asarray(values, dtype=object).astype(str), return_inverse=True) if values \
        else (np.array([], dtype=str), np.zeros(0, np.int64))
    codes = inverse[indices] if len(indices) else indices
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes).astype(np.int32)), pa.array(uniq.tolist(),
                                                                                                  pa.string()))


def access_table(res: AccessResult, consume: bool = False) -> pa.Table:
    """One row per window; names follow the mode (passes: rise/culmination/set; imaging: start/closest/end).

    With `consume`, each engine column is let go as soon as its Arrow column is built, so the peak holds
    little more than the table (the result is empty afterwards: for a caller that only writes the table).
    """
    c = res.columns if not consume else res.columns.copy()
    if consume:
        res.columns.clear()

    def take(name: str) -> np.ndarray:
        return c.pop(name) if consume else c[name]

    n = len(c["sat"])
    sat, tgt = take("sat").astype(np.int64), take("target").astype(np.int64)
    sats = res.satellites
    lon, lat = _target_points(res)
    visibility = res.mode == AccessMode.VISIBILITY
    t0, tc, t1 = ("rise", "culmination", "set") if visibility else ("start", "closest_approach", "end")
    cols: dict[str, pa.Array] = {
        "norad_id": pa.array(np.array([s.norad_id for s in sats], dtype=np.int64)[sat] if len(sats) else sat),
        "satellite": _dictionary(sat, [s.name for s in sats]),
        "owner": _dictionary(sat, [s.owner for s in sats]),
    }
    if not visibility:
        cols["sensor"] = _dictionary(sat, [s.sensor.type.value for s in sats])
    del sat
    cols["target"] = _dictionary(tgt, [t.id for t in res.targets])
    cols["target_lon_deg"] = pa.array(np.round(lon[tgt], 6) if len(lon) else np.zeros(n))
    cols["target_lat_deg"] = pa.array(np.round(lat[tgt], 6) if len(lat) else np.zeros(n))
    del tgt
    start_s, end_s = take("start_s"), take("end_s")
    cols[t0] = _timestamps(res, start_s)
    cols[tc] = _timestamps(res, take("culm_s"))
    cols[t1] = _timestamps(res, end_s)
    cols["duration_s"] = pa.array(np.round(end_s - start_s, 3))
    del start_s, end_s
    cols["max_elevation_deg"] = pa.array(np.round(take("max_elevation_deg").astype(np.float64), 4))
    off, gsd = take("min_off_nadir_deg"), take("best_gsd_m")
    if not visibility:
        cols["min_off_nadir_deg"] = pa.array(np.round(off.astype(np.float64), 4))
        cols["best_gsd_m"] = pa.array(np.round(gsd.astype(np.float64), 3))
    del off, gsd
    cols[f"{t0}_clipped"] = pa.array(take("start_clipped").astype(bool))
    cols[f"{t1}_clipped"] = pa.array(take("end_clipped").astype(bool))
    return pa.table(cols)


def format_for(output: str | None, fmt: str | None) -> str:
    """The format: `--format` if given, else the output file's extension, else JSON — checked before any work
    (a binary format needs a file, a file needs an existing directory)."""
    if output is not None and not Path(output).resolve().parent.is_dir():
        raise InputError(f"{output!r}: no such directory", field="--output", expected="a file in an existing directory")
    if fmt is not None:
        if fmt == "parquet" and output is None:
            raise InputError("Parquet is binary", field="--output", expected="-o FILE.parquet")
        return fmt
    if output is None:
        return "json"
    ext = Path(output).suffix.lower()
    if ext not in EXTENSIONS:
        raise InputError(f"{Path(output).name!r} has no known extension", field="--output",
                         expected=f"a file ending in {', '.join(EXTENSIONS)}, or --format {'|'.join(FORMATS)}")
    return EXTENSIONS[ext]


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def write_table(table: pa.Table, fmt: str, dest: IO[bytes], *, key: str, meta: Mapping[str, Any],
                pretty: bool = False, title: str = "", max_rows: int = 50,
                geometries: Mapping[str, Any] | None = None, footprints: Sequence[Any] = (),
                start: datetime | None = None) -> None:
    """Write `table` to a binary stream as `fmt` (`key` names the row list in JSON, beside `meta`;
    `geometries` maps target ids to their shapely geometry, for GeoJSON and KML; KML also draws the
    `footprints` (fields of regard, `footprints.Swath`, times counted from `start`) in a folder of their own)."""
    if fmt == "geojson":
        _write_geojson(table, dest, geometries or {}, title or key)
        return
    if fmt == "kml":
        _write_kml(table, dest, geometries or {}, title or key, footprints, start)
        return
    if fmt == "parquet":
        _write_geoparquet(table, dest, meta)
        return
    if fmt == "table":
        dest.write(table_text_preview(table, title, max_rows).encode())
        return
    if fmt == "json" and pretty:
        rows = [json.loads(r) for r in _rows(table)]
        dest.write(json.dumps({key: rows, **meta}, indent=1, ensure_ascii=False).encode() + b"\n")
    elif fmt in ("csv", "ndjson"):
        for chunk in _text_chunks(table, fmt):
            dest.write(chunk)
    elif fmt == "json":
        dest.write(b'{"' + key.encode() + b'":[')
        for k, chunk in enumerate(_text_chunks(table, fmt)):
            if k:
                dest.write(b",")
            dest.write(chunk)
        dest.write(b"]")
        for name, value in meta.items():
            dest.write(b"," + _json_bytes(name) + b":" + _json_bytes(value))
        dest.write(b"}\n")
    else:
        raise InputError(f"{fmt!r}", field="--format", expected="|".join(FORMATS))


def _write_geoparquet(table: pa.Table, dest: IO[bytes], meta: Mapping[str, Any]) -> None:
    """Parquet with a GeoParquet 1.1 `geometry` column: the target's point (WKB, OGC:CRS84); written a row
    group at a time, so the WKB and the encoded pages of only one group are in memory at once."""
    import pyarrow.parquet as pq

    lon = table.column("target_lon_deg").to_numpy()
    lat = table.column("target_lat_deg").to_numpy()
    bbox = [float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())] if len(lon) else []
    column: dict[str, Any] = {"encoding": "WKB", "geometry_types": ["Point"]}
    if bbox:
        column["bbox"] = bbox
    geo = {"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": column}}
    schema = table.schema.append(pa.field("geometry", pa.binary()))
    schema = schema.with_metadata({**(table.schema.metadata or {}), b"geo": json.dumps(geo).encode(),
                                   b"aquila": json.dumps(dict(meta)).encode()})
    with pq.ParquetWriter(dest, schema, compression="zstd") as writer:
        for k in range(0, max(table.num_rows, 1), _PARQUET_GROUP_ROWS):
            part = table.slice(k, _PARQUET_GROUP_ROWS)
            n = part.num_rows
            geometry = _wkb_points(lon[k:k + n], lat[k:k + n])
            writer.write_table(part.append_column(schema.field("geometry"), geometry).replace_schema_metadata(
                schema.metadata))


def _text_chunks(table: pa.Table, fmt: str) -> Iterator[bytes | memoryview]:
    """The rows as CSV (with its header), NDJSON or the inside of a JSON array, `_CHUNK_ROWS` at a time, in order.

    Chunks are formatted by the compiled kernel of `textrows` on two threads (it releases the GIL) at most
    `_AHEAD` ahead of the writer, so formatting overlaps the disk write and memory stays bounded.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    rows = min(_CHUNK_ROWS, max(10_000, -(-table.num_rows // 8)))  # small results still use both threads

    def one(k: int) -> memoryview:
        text = format_rows(table.slice(k, rows), fmt)
        return memoryview(text[:-1] if fmt == "json" else text)  # type: ignore[arg-type]  # json: drop the last comma

    if fmt == "csv":
        yield csv_header(table.column_names)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="aquila-write") as pool:
        ahead: deque[Future[memoryview]] = deque()
        for k in range(0, table.num_rows, rows):
            ahead.append(pool.submit(one, k))
            if len(ahead) > _AHEAD:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def _rows(table: pa.Table) -> Iterator[bytes]:
    """Each row as one JSON object (bytes), times as ISO 8601 text."""
    for chunk in _text_chunks(table, "ndjson"):
        yield from bytes(chunk).splitlines()


def _write_geojson(table: pa.Table, dest: IO[bytes], shapes: Mapping[str, Any], name: str) -> None:
    """A FeatureCollection: each window a Feature with its target's geometry and the window's attributes."""
    geo = {t: _json_bytes(shapely.geometry.mapping(g)) for t, g in shapes.items()}
    targets = table.column("target").to_pylist()
    dest.write(b'{"type":"FeatureCollection","name":' + _json_bytes(name) + b',"features":[')
    for k, (props, tid) in enumerate(zip(_rows(table), targets, strict=True)):
        dest.write((b"," if k else b"") + b'{"type":"Feature","geometry":' + geo.get(tid, b"null") +
                   b',"properties":' + props + b"}")
    dest.write(b"]}\n")


def _kml_geometry(g: Any) -> str:
    def ring(coords: Any) -> str:
        return " ".join(f"{x:.6f},{y:.6f}" for x, y, *_ in coords)

    if g.geom_type == "Point":
        return f"<Point><coordinates>{g.x:.6f},{g.y:.6f}</coordinates></Point>"
    if g.geom_type == "Polygon":
        inner = "".join(f"<innerBoundaryIs><LinearRing><coordinates>{ring(h.coords)}</coordinates></LinearRing>"
                        "</innerBoundaryIs>" for h in g.interiors)
        return (f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{ring(g.exterior.coords)}</coordinates>"
                f"</LinearRing></outerBoundaryIs>{inner}</Polygon>")
    return "<MultiGeometry>" + "".join(_kml_geometry(p) for p in g.geoms) + "</MultiGeometry>"


def _write_kml(table: pa.Table, dest: IO[bytes], shapes: Mapping[str, Any], name: str,
               footprints: Sequence[Any] = (), start: datetime | None = None) -> None:
    """KML 2.2 for Google Earth: a Placemark per window, on its target, with a TimeSpan and the attributes;
    then a folder of the satellites' fields of regard, each piece timed when it is swept."""
    import re
    from xml.sax.saxutils import escape as xml_escape

    not_xml = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

    def escape(text: str) -> str:  # characters XML 1.0 cannot carry become U+FFFD; CR survives parsing as &#13;
        return xml_escape(not_xml.sub("\ufffd", text)).replace("\r", "&#13;")

    def text(v: Any) -> str:
        return ("true" if v else "false") if isinstance(v, bool) else str(v)  # as JSON and CSV write them

    geo = {t: _kml_geometry(g) for t, g in shapes.items()}
    names = table.column_names
    times = [n for n, t in zip(names, table.schema.types, strict=True) if pa.types.is_timestamp(t)]
    begin, end = times[0], times[-1]
    dest.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
               b"<name>" + escape(name).encode() + b"</name>")
    for row in (json.loads(r) for r in _rows(table)):
        title = escape(f"{row['satellite']} over {row['target']}")
        data = "".join(f'<Data name="{escape(k)}"><value>{escape(text(v))}</value></Data>' for k, v in row.items())
        dest.write((f"<Placemark><name>{title}</name><TimeSpan><begin>{row[begin]}</begin><end>{row[end]}</end>"
                    f"</TimeSpan><ExtendedData>{data}</ExtendedData>{geo.get(row['target'], '')}</Placemark>"
                    ).encode())
    if footprints and start is not None:
        def iso(s: float) -> str:
            return (start + timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ")

        dest.write(b'<Style id="for"><LineStyle><color>9900aa00</color><width>1</width></LineStyle>'
                   b"<PolyStyle><color>4000aa00</color></PolyStyle></Style>"
                   b"<Folder><name>Fields of regard</name>")
        for sw in footprints:
            dest.write((f"<Placemark><name>{escape(sw.satellite)} ({sw.side})</name><styleUrl>#for</styleUrl>"
                        f"<TimeSpan><begin>{iso(sw.start_s)}</begin><end>{iso(sw.end_s)}</end></TimeSpan>"
                        f"{_kml_geometry(sw.polygon)}</Placemark>").encode())
        dest.write(b"</Folder>")
    dest.write(b"</Document></kml>\n")


def _wkb_points(lon: np.ndarray, lat: np.ndarray) -> pa.Array:
    """ISO WKB points (little-endian), built as one buffer: a Python bytes object per row costs seconds."""
    n = len(lon)
    rec = np.zeros(n, dtype=[("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])
    rec["order"], rec["kind"], rec["x"], rec["y"] = 1, 1, lon, lat
    offsets = np.arange(0, 21 * (n + 1), 21, dtype=np.int32)
    return pa.BinaryArray.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(rec.tobytes())])


def table_text_preview(table: pa.Table, title: str, max_rows: int = 50) -> str:
    """The first `max_rows` rows as a text table, with the total (fast at any size: only those rows are read)."""
    from rich.console import Console
    from rich.table import Table

    head = [json.loads(r) for r in _rows(table.slice(0, max_rows))]
    shown = f"{title} (first {len(head)} of {table.num_rows} rows; -o FILE.parquet|.csv|.json for all)" \
        if table.num_rows > len(head) else title
    t = Table(title=shown, show_lines=False)
    numeric = {n for n, ty in zip(table.column_names, table.schema.types, strict=True)
               if pa.types.is_integer(ty) or pa.types.is_floating(ty)}
    skip = {"target_lon_deg", "target_lat_deg", "duration_s"} & set(table.column_names)
    names = [n for n in table.column_names if n not in skip and not n.endswith("_clipped")]
    for n in names:
        t.add_column(n, justify="right" if n in numeric else "left")
    for r in head:
        t.add_row(*("" if r[n] is None else str(r[n]) for n in names))
    con = Console(file=io.StringIO(), width=220, highlight=False)
    con.print(t)
    out: str = con.file.getvalue()  # type: ignore[attr-defined]
    return out
