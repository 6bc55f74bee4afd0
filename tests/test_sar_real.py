"""Ship detection on real SAR when ../shared/data is present (skips cleanly otherwise): the HRSID chips (their
instance masks give the truth) and the Umbra land crop (no ship may be found on land once it is masked)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aquila.analytics.sar.detect import DetectorConfig, detect_array, detect_file
from aquila.analytics.sar.evaluate import read_instance_chip, score
from conftest import shared_path

HRSID_PIXEL_M = 1.0
"""The chips carry no georeferencing (HRSID is 0.5-3 m); the detector's metres are placed on a 1 m grid."""


def _hrsid(method: str) -> dict[str, float]:
    folder = shared_path("sar", "hrsid")
    tp = fp = fn = 0
    for img in sorted(Path(folder).glob("*[0-9].png")):
        x, tr, truth = read_instance_chip(img, img.with_name(img.stem + "_instance_id_RGB.png"), HRSID_PIXEL_M)
        found = detect_array(x, tr, "EPSG:4326", None, DetectorConfig(discriminator=method))
        r = score([{"lon": c.lon_deg, "lat": c.lat_deg} for c in found.ships], truth)
        tp, fp, fn = tp + r["tp"], fp + r["fp"], fn + r["fn"]
    p, rc = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return {"precision": p, "recall": rc, "f1": 2 * p * rc / max(p + rc, 1e-9), "truth": tp + fn}


def test_hrsid_chips_the_model_scores_a_higher_f1_than_the_rules() -> None:
    model, rules = _hrsid("model"), _hrsid("rules")
    assert model["truth"] == 146  # 10 + 122 + 8 + 6 ships in the four chips' masks
    assert model["f1"] > rules["f1"], (model, rules)
    assert model["recall"] >= 0.3, model  # harbour chips, no land mask: measured in docs/benchmarks.md


def test_umbra_land_crop_has_no_false_alarm_once_land_is_masked(tmp_path: Path) -> None:
    import rasterio

    path = shared_path("sar", "umbra_mount_yasur.tiff")
    with rasterio.open(path) as src:  # 8-bit amplitude, rotated UTM grid: written as intensity for the detector
        amp = src.read(1).astype(np.float32)
        profile = dict(src.profile, dtype="float32", nodata=0.0)
    with rasterio.open(tmp_path / "yasur.tif", "w", **profile) as dst:
        dst.write(np.where(amp > 0, (amp / 255.0) ** 2, 0).astype(np.float32), 1)
    masked = detect_file(tmp_path / "yasur.tif", land_mask="auto")
    assert masked.land_share > 0.99 and masked.ships == []
    unmasked = detect_file(tmp_path / "yasur.tif", land_mask="none")
    assert len(unmasked.ships) > 0  # what the mask is for: the volcano's bright slopes look like targets
    from click.testing import CliRunner

    from aquila.cli.main import cli

    r = CliRunner().invoke(cli, ["detect", "ships", str(tmp_path / "yasur.tif"), "-o", str(tmp_path / "y.geojson")])
    assert r.exit_code == 0 and "0 ships" in r.output and "all land" in r.output
