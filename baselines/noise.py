"""``noise``: random noise at a matched PSNR — the control row.

A defence that lowers recognition accuracy only as much as random noise of the same strength does
nothing targeted.  This protector adds Gaussian or uniform noise, clipped to the valid range, scaled per
image so that the PSNR of the *written* image (after uint8 rounding, against the clean image rounded
the same way) equals ``target_psnr`` within ``tolerance`` dB.  The scale is found by bisection because
clipping at 0 and 255 and rounding both make the PSNR a non-linear function of the noise amplitude.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from baselines import register_protector
from baselines.base import Protector
from nullswap.images import from_uint8, psnr, to_uint8

#: NullSwap's PSNR in the paper's Table 1 (41.31 dB): noise at the method's own distortion
DEFAULT_TARGET_PSNR = 41.31


def noise_at_psnr(
    reference: np.ndarray, unit_noise: np.ndarray, target: float, tolerance: float, max_iter: int = 60
) -> tuple[np.ndarray, float, float]:
    """Scale ``unit_noise`` so that ``round(clip(reference + s * noise))`` is ``target`` dB from
    ``reference`` (uint8 values as float64).  Returns (noisy uint8, realised PSNR, scale)."""
    ref = reference.astype(np.float64)

    def realise(scale: float) -> tuple[np.ndarray, float]:
        noisy = np.clip(np.round(ref + scale * unit_noise), 0.0, 255.0)
        return noisy, psnr(ref, noisy)

    rms = 255.0 / 10.0 ** (target / 20.0)
    hi = rms / max(float(np.sqrt(np.mean(unit_noise**2))), 1e-12)
    lo = 0.0
    noisy, db = realise(hi)
    expansions = 0
    while db > target:  # clipping ate part of the noise: widen the bracket
        lo, hi = hi, hi * 2.0
        noisy, db = realise(hi)
        expansions += 1
        if expansions > 30:
            raise ValueError(
                f"noise cannot reach {target} dB on this image (saturated pixels?); best {db:.2f} dB"
            )
    best = (noisy, db, hi)
    for _ in range(max_iter):
        if abs(best[1] - target) <= tolerance:
            break
        mid = 0.5 * (lo + hi)
        noisy, db = realise(mid)
        if abs(db - target) < abs(best[1] - target):
            best = (noisy, db, mid)
        if db > target:
            lo = mid
        else:
            hi = mid
    if abs(best[1] - target) > tolerance:
        raise ValueError(f"noise reached {best[1]:.3f} dB, not {target} ± {tolerance} dB")
    return best[0].astype(np.uint8), best[1], best[2]


@register_protector("noise")
class Noise(Protector):
    name = "noise"
    threat_model = "none"
    kind = "noise"

    def __init__(
        self,
        target_psnr: float = DEFAULT_TARGET_PSNR,
        distribution: Literal["gaussian", "uniform"] = "gaussian",
        tolerance: float = 0.05,
        seed: int = 0,
        record_stats: bool = True,
    ) -> None:
        if distribution not in ("gaussian", "uniform"):
            raise ValueError(f"distribution must be 'gaussian' or 'uniform', got {distribution!r}")
        if not 10.0 <= float(target_psnr) <= 80.0:
            raise ValueError(f"target_psnr {target_psnr} dB is outside the meaningful range 10–80 dB")
        if tolerance <= 0:
            raise ValueError("tolerance must be positive")
        self.target_psnr = float(target_psnr)
        self.distribution = distribution
        self.tolerance = float(tolerance)
        self.seed = int(seed)
        self.record_stats = record_stats
        self.rng = np.random.default_rng(self.seed)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        clean = to_uint8(images)
        outputs, realised = [], []
        for reference in clean:
            if self.distribution == "gaussian":
                unit = self.rng.standard_normal(reference.shape)
            else:
                unit = self.rng.uniform(-1.0, 1.0, reference.shape)
            noisy, psnr, scale = noise_at_psnr(reference, unit, self.target_psnr, self.tolerance)
            outputs.append(noisy)
            realised.append({"psnr_target_realised": psnr, "noise_scale_255": scale})
        self.forward_stats = realised
        return from_uint8(outputs, like=images)

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "target_psnr": self.target_psnr,
            "distribution": self.distribution,
            "tolerance": self.tolerance,
            "seed": self.seed,
        }
