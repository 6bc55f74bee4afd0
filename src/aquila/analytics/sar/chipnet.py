"""The chip scorer: a small CNN that looks at each candidate's image chip (`chips`) and says how ship-like its
pixels are, as a logit the discriminator's trees take as one more feature.

What the hand-made features cannot say — the shape of the bright pixels and of the sea around them, a hull's
straight, narrow line against a texture bump's blob — a convolutional net learns from the chips themselves.
Trained by `tools/train_discriminator.py` with PyTorch on chips of synthesized scenes of its own (disjoint
from the trees' scenes, so the trees learn how far to trust it), exported to ONNX
(`aquila/data/ship_chipnet.onnx`) and run here with onnxruntime on the CPU, on the candidates the
discriminator's screen passes.
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from aquila.analytics.sar.chips import CHIP_PX

__all__ = ["CHIPNET_FILE", "CHIP_MIN_PIXEL_M", "ChipScorer", "load_chipnet"]

CHIPNET_FILE = "ship_chipnet.onnx"
CHIP_MIN_PIXEL_M = 4.0
"""The scorer learned 5-20 m pixels; finer ones (where a chip covers less than a small ship) are not scored, and
the discriminator's screen (trees without the chip logit) decides alone. Chosen after seeing HRSID at 1 m, where
the scorer's chips call clutter ships (precision 0.29)."""
_BATCH = 1024


class ChipScorer:
    """An ONNX chip scorer: inputs `chip` (n, 1, CHIP_PX, CHIP_PX) float32 — the chip in dB over the background,
    divided by 10 — and `log2_px` (n, 1), log2 of the pixel size over 10 m; output `logit` (n,)."""

    def __init__(self, model: bytes | str) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # the detector's tiles already run on every core
        opts.inter_op_num_threads = 1
        self._session: Any = ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])

    def logits(self, chips: np.ndarray, pixel_m: float, workers: int = 1) -> np.ndarray:
        """(n,) float64 logits of (n, CHIP_PX, CHIP_PX) chips (float32, or float16 as the detector keeps them) at
        `pixel_m` metres per pixel; batches run on `workers` threads (onnxruntime releases the GIL)."""
        n = len(chips)
        if chips.shape[1:] != (CHIP_PX, CHIP_PX):
            raise ValueError(f"chips must be (n, {CHIP_PX}, {CHIP_PX}), not {chips.shape}")
        out = np.empty(n)
        px = np.full((min(n, _BATCH), 1), math.log2(max(pixel_m, 1e-3) / 10.0), np.float32)

        def run(i: int) -> None:
            part = np.ascontiguousarray(chips[i:i + _BATCH], np.float32)[:, None] / np.float32(10.0)
            res = self._session.run(["logit"], {"chip": part, "log2_px": px[:len(part)]})[0]
            out[i:i + len(part)] = np.asarray(res, np.float64).reshape(-1)

        starts = range(0, n, _BATCH)
        if workers < 2 or n <= _BATCH:
            for i in starts:
                run(i)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(run, starts))
        return out


@lru_cache(maxsize=1)
def load_chipnet() -> ChipScorer:
    """The shipped chip scorer (aquila/data/ship_chipnet.onnx)."""
    return ChipScorer(resources.files("aquila").joinpath("data", CHIPNET_FILE).read_bytes())
