"""Build src/aquila/data/kcfar_table.npz: K-distribution CFAR thresholds, once, offline.

For K-distributed intensity of mean 1 (gamma texture of shape nu, mean 1, times gamma speckle of L looks)
the table holds log(t) where P(I > t) = Pfa, over a grid of nu, L and Pfa. The detector interpolates it
(aquila/analytics/sar/kdist.py); a test checks entries against a Monte Carlo draw of the same clutter.

    P(I > t) = integral over tau of Q(L, L t / tau) * Gamma(tau; nu, 1/nu) d tau

(Q: regularised upper incomplete gamma) by quadrature on the texture's quantiles in u = 1 - exp(-s)
(dense in the upper tail, where the threshold lives), on a grid of ln t, inverted by interpolation.

    .venv/bin/python tools/build_kcfar_table.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.special import gammaincc, gammainccinv

NU = np.geomspace(0.3, 100.0, 25)
LOOKS = np.geomspace(1.0, 100.0, 13)
LOG10_PFA = np.linspace(-2.0, -10.0, 17)
LOG_T = np.linspace(-3.0, 7.5, 400)  # ln t: the CCDF is evaluated here, then inverted by interpolation
S = np.linspace(0.0, 40.0, 1501)[1:]  # u = 1 - exp(-s): texture quantiles down to 4e-18 in the upper tail


def texture_nodes(nu: float) -> tuple[np.ndarray, np.ndarray]:
    """Texture values tau and their weights (quadrature over u in (0, 1))."""
    s_mid = 0.5 * (np.concatenate([[0.0], S[:-1]]) + S)
    w = np.diff(np.concatenate([[0.0], -np.expm1(-S)]))  # du per node
    tail = np.exp(-s_mid)  # 1 - u at the node
    tau = gammainccinv(nu, tail) / nu  # upper-tail quantile of Gamma(nu, 1/nu)
    return tau, w


def threshold(nu: float, looks: float, log10_pfa: np.ndarray) -> np.ndarray:
    """ln t with P(I > t) = Pfa: the CCDF on the LOG_T grid, inverted by interpolation in log10 P."""
    tau, w = texture_nodes(nu)
    p = (gammaincc(looks, looks * np.exp(LOG_T)[:, None] / tau[None, :]) * w[None, :]).sum(axis=1)
    logp = np.log10(np.maximum(p, 1e-300))  # decreasing in t
    return np.interp(-log10_pfa, -logp, LOG_T)


def main() -> None:
    table = np.empty((len(NU), len(LOOKS), len(LOG10_PFA)))
    for i, nu in enumerate(NU):
        for j, looks in enumerate(LOOKS):
            table[i, j] = threshold(nu, looks, LOG10_PFA)
    out = Path(__file__).resolve().parents[1] / "src" / "aquila" / "data" / "kcfar_table.npz"
    np.savez_compressed(out, nu=NU, looks=LOOKS, log10_pfa=LOG10_PFA, log_t=table.astype(np.float32))
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
