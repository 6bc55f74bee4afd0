"""CLI commands of the analytics: synthetic SAR scenes, ship detection, scoring against truth."""

from __future__ import annotations

import csv
import io
import json

import click

from aquila.analytics.batch import tune_for_batch
from aquila.cli.errors import handle_errors
from aquila.cli.render import emit, err
from aquila.errors import InputError

__all__ = ["synth", "detect", "evaluate", "fuse", "analyze"]


@click.group()
def synth() -> None:
    """Synthetic data with ground truth (for tests, training and demos)."""


@synth.command("sar")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--size", "size_px", type=click.IntRange(64, 20_000), default=1024, show_default=True,
              help="pixels on a side")
@click.option("--pixel-m", type=click.FloatRange(0.5, 100.0), default=10.0, show_default=True)
@click.option("--shape", type=click.FloatRange(0.3, 100.0), default=3.0, show_default=True,
              help="K texture shape (small: spiky clutter)")
@click.option("--gamma", is_flag=True, help="no texture: pure gamma speckle")
@click.option("--looks", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--ships", type=click.IntRange(0, 10_000), default=30, show_default=True)
@click.option("--no-land", is_flag=True, help="open sea only")
@click.option("--centre", default="19.5,57.5", show_default=True, help="lon,lat of the scene centre")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="directory to write")
@click.option("--ais-time", help="also simulate AIS around this image time (ISO 8601 UTC): ais.jsonl")
@click.option("--dark-share", type=click.FloatRange(0, 1), default=0.3, show_default=True,
              help="share of the ships that send no AIS (with --ais-time)")
@handle_errors
def synth_sar(seed: int, size_px: int, pixel_m: float, shape: float, gamma: bool, looks: int, ships: int,
              no_land: bool, centre: str, out_dir: str, ais_time: str | None, dark_share: float) -> None:
    """A SAR scene (scene.tif, linear sigma0), its land mask (land.tif) and the truth (truth.geojson); with
    --ais-time, AIS of the ships that are not dark (ais.jsonl, plus two spoofed tracks)."""
    from aquila.analytics.sar.synth import SceneSpec, synthesize, write_scene
    from aquila.times import UNIX_EPOCH, parse_instant

    try:
        lon, lat = (float(v) for v in centre.split(","))
    except ValueError:
        raise InputError(f"{centre!r}", field="--centre", expected="lon,lat in degrees, e.g. 19.5,57.5") from None
    if not (-180 < lon < 180 and -80 < lat < 80):
        raise InputError(f"{centre!r}", field="--centre", expected="-180 < lon < 180, -80 < lat < 80")
    spec = SceneSpec(seed=seed, size_px=size_px, pixel_m=pixel_m, centre_lon_deg=lon, centre_lat_deg=lat,
                     shape=None if gamma else shape, looks=looks, ships=ships, land=not no_land)
    t = parse_instant(ais_time, "--ais-time") if ais_time else None
    scene = synthesize(spec)
    paths = write_scene(scene, out_dir)
    note = ""
    if t is not None:
        from pathlib import Path

        from aquila.analytics.ais import write_jsonl
        from aquila.analytics.ais.simulate import simulate_ais

        ais, dark = simulate_ais(scene, (t - UNIX_EPOCH).total_seconds(), seed=seed, dark_share=dark_share)
        (Path(out_dir) / "ais.jsonl").write_text(write_jsonl(ais))
        note = f", {Path(out_dir) / 'ais.jsonl'} ({len(scene.ships) - len(dark)} ships broadcasting, {len(dark)} dark)"
    err.print(f"wrote {paths['scene']}, {paths['land']}, {paths['truth']} ({len(scene.ships)} ships){note}",
              highlight=False)


@click.group()
def detect() -> None:
    """Detect objects in imagery."""


@detect.command("ships")
@click.argument("scene", type=click.Path(dir_okay=False))
@click.option("--land-mask", default="auto", show_default=True, help="FILE (raster, 1 = land), auto or none")
@click.option("--db", is_flag=True, help="the scene is in dB (default: linear sigma0)")
@click.option("--band", type=click.IntRange(1, 10_000), help="band of a multi-band scene (1-based)")
@click.option("--pfa", type=click.FloatRange(1e-10, 1e-2),
              help="false-alarm rate per pixel of the CFAR prescreen (default: the discriminator's own)")
@click.option("--discriminator", type=click.Choice(["model", "rules", "none"]), default="model", show_default=True,
              help="the learned model, the hand-set rules, or none (land buffer only)")
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv"]), help="default: from --output, else geojson")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="write here instead of stdout")
@handle_errors
def detect_ships(scene: str, land_mask: str, db: bool, band: int | None, pfa: float | None, discriminator: str,
                 fmt: str | None, output: str | None) -> None:
    """Ships in a SAR scene: a GeoJSON FeatureCollection of Points (lon/lat) with length_m, heading_deg,
    scr_db and confidence."""
    tune_for_batch()  # a one-shot job over a large scene: see aquila.analytics.batch
    from aquila.analytics.sar.detect import DetectorConfig, detect_file

    if fmt is None:
        fmt = "csv" if output and output.lower().endswith(".csv") else "geojson"
    found = detect_file(scene, land_mask=land_mask, db=db, band=band,
                        config=DetectorConfig(pfa=pfa, discriminator=discriminator))
    doc = found.as_geojson()
    if fmt == "csv":
        buf = io.StringIO()
        names = ["lon_deg", "lat_deg", "length_m", "width_m", "heading_deg", "scr_db", "peak_scr_db", "confidence"]
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(names)
        for f in doc["features"]:
            p = f["properties"]
            w.writerow([*f["geometry"]["coordinates"], *(p[n] for n in names[2:])])
        text = buf.getvalue()
    else:
        text = json.dumps(doc) + "\n"
    emit(text, output)
    reasons: dict[str, int] = {}
    for c in found.rejected:
        reasons[c.rejected] = reasons.get(c.rejected, 0) + 1
    said = ", ".join(f"{v} {k}" for k, v in sorted(reasons.items())) or "none"
    err.print(f"{len(found.ships)} ships; rejected: {said}; {found.pixels / 1e6:.1f} MPix, "
              f"{found.pixel_m[0]:.1f} x {found.pixel_m[1]:.1f} m pixels, {found.looks:.1f} looks, "
              f"{found.land_share:.0%} land", highlight=False, soft_wrap=True)
    if found.land_share > 0.99:
        err.print("note: the scene is (almost) all land by the land mask: there was no sea to search "
                  "(--land-mask none searches it anyway)", highlight=False)


@click.group()
def evaluate() -> None:
    """Score results against truth."""


@evaluate.command("ships")
@click.option("--pred", required=True, type=click.Path(dir_okay=False), help="detections (GeoJSON Points)")
@click.option("--truth", required=True, type=click.Path(dir_okay=False), help="truth (GeoJSON Points)")
@click.option("--max-distance", "max_distance_m", type=click.FloatRange(1, 10_000), default=200.0,
              show_default=True, help="matching radius, metres (xView3: 200)")
@handle_errors
def evaluate_ships(pred: str, truth: str, max_distance_m: float) -> None:
    """Precision, recall, F1 (one-to-one matching within 200 m), length error, recall per SCR bin."""
    from aquila.analytics.sar.evaluate import read_points, score

    result = score(read_points(pred, "--pred"), read_points(truth, "--truth", ships_only=True), max_distance_m)
    emit(json.dumps(result, indent=1, allow_nan=False) + "\n", None)  # strict JSON: open SCR bins are null


def _footprint(path: str) -> object:
    import shapely.geometry

    try:
        doc = json.loads(open(path, encoding="utf-8").read())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path!r} ({exc})", field="--footprint",
                         expected="a GeoJSON Polygon, Feature or FeatureCollection") from None
    geoms = [f.get("geometry") for f in doc.get("features", [])] if doc.get("type") == "FeatureCollection" else \
        [doc.get("geometry")] if doc.get("type") == "Feature" else [doc]
    try:
        shapes = [shapely.geometry.shape(g) for g in geoms if g]
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise InputError(f"{path!r}: {exc}", field="--footprint", expected="polygons in lon/lat") from None
    if not shapes or not all(g.geom_type in ("Polygon", "MultiPolygon") and g.is_valid for g in shapes):
        raise InputError(f"{path!r} holds no valid polygon", field="--footprint", expected="polygons in lon/lat")
    return shapely.union_all(shapes)


@click.command("fuse")
@click.option("--detections", required=True, type=click.Path(dir_okay=False), help="GeoJSON Points (detect ships)")
@click.option("--ais", "ais_paths", required=True, multiple=True, type=click.Path(dir_okay=False),
              help="AIS: NMEA, MarineCadastre CSV or JSON lines (repeatable)")
@click.option("--time", "when", required=True, help="the image's time, ISO 8601 UTC")
@click.option("--footprint", type=click.Path(dir_okay=False), help="the image's footprint (GeoJSON): names unseen AIS")
@click.option("--received", help="capture time of untimed NMEA sentences, ISO 8601 UTC")
@click.option("--max-gap", "max_gap_s", type=click.FloatRange(1, 86_400), default=3600, show_default=True,
              help="vessels with no report this close to the image time (s) are not placed")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="write here instead of stdout")
@handle_errors
def fuse(detections: str, ais_paths: tuple[str, ...], when: str, footprint: str | None, received: str | None,
         max_gap_s: float, output: str | None) -> None:
    """Match detections to AIS at the image time: each detection gets its vessel, or is dark; AIS vessels in
    the footprint that were not seen are listed."""
    from aquila.analytics.ais import AisData, read_ais
    from aquila.analytics.fusion import FusionConfig
    from aquila.analytics.fusion import fuse as run_fuse
    from aquila.analytics.sar.evaluate import read_points
    from aquila.times import UNIX_EPOCH, parse_instant

    t = parse_instant(when, "--time")
    rec = parse_instant(received, "--received") if received else None
    dets = read_points(detections, "--detections")
    parts = [read_ais(p, received=rec) for p in ais_paths]
    ais = AisData.concat(parts)
    result = run_fuse(dets, ais, (t - UNIX_EPOCH).total_seconds(), _footprint(footprint) if footprint else None,
                      FusionConfig(max_gap_s=max_gap_s))
    props = [{k: v for k, v in d.items() if k not in ("lon", "lat")} for d in dets]
    emit(json.dumps(result.as_geojson(props)) + "\n", output)
    st = ais.stats
    err.print(f"{len(dets)} detections: {len(dets) - len(result.dark)} matched, {len(result.dark)} dark; "
              f"{len(result.unseen)} AIS vessels in the footprint unseen; AIS: {st.positions} positions of "
              f"{len(ais.vessel_ids)} vessels placed {result.vessels_placed} at the time ({st.bad_checksum} bad "
              f"checksums, {st.malformed} malformed skipped)", highlight=False)


@click.group()
def analyze() -> None:
    """Run analytics on a scene of the shared library and publish the findings there."""


@analyze.command("ships")
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False, exists=True),
              help="instance data directory")
@click.option("--item", "item_ref", required=True, help="COLLECTION/ITEM: the SAR scene (its data asset)")
@click.option("--ais", "ais_paths", multiple=True, type=click.Path(dir_okay=False),
              help="AIS around the image time: NMEA, MarineCadastre CSV or JSON lines (repeatable)")
@click.option("--received", help="capture time of untimed NMEA sentences, ISO 8601 UTC")
@click.option("--as", "nation", help="the nation the analysis is for (default: the scene's originator)")
@click.option("--caveat", "caveats", multiple=True, help="caveat the analysis may use (repeatable)")
@click.option("--land-mask", default="auto", show_default=True, help="FILE (raster, 1 = land), auto or none")
@click.option("--read-root", "read_roots", multiple=True, type=click.Path(file_okay=False, exists=True),
              help="ROOT whose ROOT/<NATION>/ files that nation's scenes may name by file: href "
                   "(repeatable; default: none, uploaded assets only)")
@handle_errors
def analyze_ships(data_dir: str, item_ref: str, ais_paths: tuple[str, ...], received: str | None, nation: str | None,
                  caveats: tuple[str, ...], land_mask: str, read_roots: tuple[str, ...]) -> None:
    """Detect ships in a catalog scene, match them to AIS, publish the finding into maritime-findings with its
    derived label (the scene's, unless its originator's release rule allows a lower one)."""
    tune_for_batch()  # a one-shot job over a large scene: see aquila.analytics.batch
    from pathlib import Path

    from aquila.analytics.ais import AisData, read_ais
    from aquila.analytics.findings import analyze_ships as run
    from aquila.analytics.findings import producer_for
    from aquila.catalog.validate import check_id
    from aquila.errors import LabelError, NotFound
    from aquila.instance import Instance
    from aquila.security.nations import check_nation
    from aquila.times import parse_instant

    cid, sep, iid = item_ref.partition("/")
    if not sep:
        raise InputError(f"{item_ref!r}", field="--item", expected="COLLECTION/ITEM, e.g. sar-scenes/S1A_0001")
    check_id(cid, "--item collection")
    check_id(iid, "--item id")
    rec = parse_instant(received, "--received") if received else None
    ais = AisData.concat([read_ais(p, received=rec) for p in ais_paths]) if ais_paths else None
    inst = Instance.open(data_dir)
    try:
        if nation is None:
            origin = inst.store.scopes_of(cid, iid)
            if not origin:
                raise InputError(f"{item_ref!r} is not in the library", field="--item", expected="an existing item")
            nation = origin[0].originator
            caveats = (*caveats, *origin[0].caveats)  # the scene's own caveats: its originator holds them
        try:
            check_nation(nation)
        except ValueError as exc:
            raise InputError(str(exc), field="--as", expected="an ISO 3166-1 alpha-3 nation") from None
        try:
            user = producer_for(nation, frozenset(caveats))
        except LabelError as exc:
            raise InputError(exc.reason, field="--caveat", expected=exc.expected) from None
        try:
            found = run(inst.library, user, cid, iid, ais, id_key=inst.findings_key, land_mask=land_mask,
                        read_roots=[Path(r) for r in read_roots])
        except NotFound:
            raise InputError(f"{item_ref!r} is not in the library or not releasable to {nation}", field="--item",
                             expected=f"a scene {nation} may read (or --as a nation it is releasable to)") from None
    finally:
        inst.close()
    from aquila.security.labels import Label

    p = found.item["properties"]
    lab = Label.from_properties(p)  # as stored (an earlier run's finding keeps the label it was given)
    emit(json.dumps(found.item) + "\n", None)
    state = "published" if found.published else "already published (same scene, same pipeline version)"
    dark = p.get("aquila:dark_vessels")
    fresh = found.derivation if found.published else None
    err.print(f"{found.item['collection']}/{found.item['id']} {state}: {p['aquila:vessels']} vessels"
              + (f", {dark} dark" if dark is not None else " (no AIS given: none called dark)")
              + f"; label {lab.classification.name} REL {','.join(sorted(lab.releasable_to)) or '(originator only)'}"
              + (f" [{','.join(sorted(lab.caveats))}]" if lab.caveats else "")
              + (f"; release rules applied: {', '.join(str(c.rule) for c in fresh.applied)}"
                 if fresh and fresh.applied else "")
              + "".join(f"; rule {r} would apply after {t:%Y-%m-%d %H:%M}Z" for _, r, t in
                        (fresh.pending if fresh else ())),
              highlight=False, soft_wrap=True)
