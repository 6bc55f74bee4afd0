"""Train the chip scorer (`aquila.analytics.sar.chipnet`): a small CNN on candidates' image chips, with PyTorch,
exported to ONNX. Used by `tools/train_discriminator.py` (which draws the chips); not part of the package.

Reproducible from the seed on the CPU: fixed torch and numpy seeds, deterministic kernels, one thread order.
Augmentation: the eight flips and quarter turns of a chip (they keep rows and columns — a sidelobe cross or an
azimuth ambiguity stays on its row or column).
"""

from __future__ import annotations

import io
import time
import warnings
from typing import Any

import numpy as np

__all__ = ["train_chipnet"]


def _net(width: int) -> Any:
    import torch
    from torch import nn

    class ChipNet(nn.Module):
        """Three 3 x 3 convolutions (width, 2 width, 4 width channels) with 2 x 2 max pooling between them, the
        mean and the maximum of the last map, the pixel size, then two dense layers: about 1.4 M multiply-adds
        per 24 x 24 chip."""

        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(2 * width, 4 * width, 3, padding=1), nn.ReLU())
            self.head = nn.Sequential(nn.Linear(8 * width + 1, 64), nn.ReLU(), nn.Linear(64, 1))

        def forward(self, chip: torch.Tensor, log2_px: torch.Tensor) -> torch.Tensor:
            z = self.features(chip)
            return self.head(torch.cat([z.mean(dim=(2, 3)), z.amax(dim=(2, 3)), log2_px], 1))[:, 0]

    return ChipNet()


def train_chipnet(chips: np.ndarray, pixel_m: np.ndarray, is_ship: np.ndarray, seed: int, epochs: int = 12,
                  width: int = 16, batch: int = 256) -> tuple[bytes, dict[str, Any]]:
    """(the ONNX model, what training measured) from (n, 24, 24) chips in dB over their background, each chip's
    pixel size (m) and its label; the export is checked against PyTorch's own logits."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(seed)
    c = torch.from_numpy(np.ascontiguousarray(chips, np.float32) / np.float32(10.0))[:, None]
    px = torch.from_numpy(np.log2(np.asarray(pixel_m, np.float64) / 10.0).astype(np.float32))[:, None]
    y = torch.from_numpy(np.asarray(is_ship, np.float32))
    net = _net(width)
    opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-4)
    steps = epochs * -(-len(y) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps)
    loss_f = nn.BCEWithLogitsLoss()
    t0 = time.time()
    losses = []
    for epoch in range(epochs):
        net.train()
        perm = torch.from_numpy(rng.permutation(len(y)))
        total = 0.0
        for i in range(0, len(y), batch):
            b = perm[i:i + batch]
            x = torch.rot90(c[b], int(rng.integers(4)), (2, 3))
            if rng.random() < 0.5:
                x = torch.flip(x, (3,))
            loss = loss_f(net(x, px[b]), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(b)
        losses.append(round(total / len(y), 4))
        print(f"  chip scorer epoch {epoch + 1}/{epochs}: loss {losses[-1]} ({time.time() - t0:.0f} s)", flush=True)
    net.eval()
    buf = io.BytesIO()
    sample = (c[:2], px[:2])
    with warnings.catch_warnings():  # the TorchScript exporter: all a static CNN needs, without onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(net, sample, buf, input_names=["chip", "log2_px"], output_names=["logit"],
                          dynamic_axes={"chip": {0: "n"}, "log2_px": {0: "n"}, "logit": {0: "n"}}, dynamo=False)
    model = buf.getvalue()
    from aquila.analytics.sar.chipnet import ChipScorer

    check = slice(0, min(len(y), 2048))
    with torch.no_grad():
        ref = net(c[check], px[check]).numpy()
    scorer = ChipScorer(model)
    got = np.concatenate([scorer.logits(chips[check][m], float(p)) for p in np.unique(pixel_m[check])
                          for m in [pixel_m[check] == p]])
    want = np.concatenate([ref[pixel_m[check] == p] for p in np.unique(pixel_m[check])])
    np.testing.assert_allclose(got, want, atol=1e-4)
    return model, {"epochs": epochs, "width": width, "loss": losses, "chips": int(len(y)),
                   "ships": int(np.sum(is_ship)), "parameters": int(sum(p.numel() for p in net.parameters())),
                   "minutes": round((time.time() - t0) / 60, 1)}
