"""Frames, budgets and measurements shared by the protector adapters.

Every protector hands back canonical 256 crops in [0, 1].  Most baselines were built for another frame
(128 or 256 px CelebA crops, pixels in [-1, 1]); an adapter converts, protects there, and brings only
the *change* back (upsample the delta, add, clamp), so that the clean pixels of our crop are never
replaced by a resampled copy.  Distortion is then measured here, in our frame, on the uint8 images
that would be written to disk — never taken from a method's own settings.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

from nullswap.images import psnr, quantize, to_uint8


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Square resize with antialiasing when shrinking (a crop of the same face, another resolution)."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    shrink = size < images.shape[-1]
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)


def apply_delta(clean: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Bring a perturbation made in another resolution back: upsample the delta, add, clamp to [0, 1]."""
    if delta.shape[-2:] != clean.shape[-2:]:
        delta = F.interpolate(delta, size=clean.shape[-2:], mode="bilinear", align_corners=False)
    return (clean + delta.to(clean.dtype)).clamp(0.0, 1.0)


def project_linf(
    clean: torch.Tensor, protected: torch.Tensor, eps: float, on_grid: bool = True
) -> torch.Tensor:
    """Project onto the L∞ ball of radius ``eps`` around ``clean`` and [0, 1].

    With ``on_grid`` the result lies on the uint8 grid *and* inside the ball: each pixel is rounded, then
    held within the grid values nearest to ``clean ± eps`` that stay inside it, so the budget holds after
    the image is written as PNG even when ``clean`` itself is not on the grid.
    """
    low = (clean - eps).clamp(0.0, 1.0)
    high = (clean + eps).clamp(0.0, 1.0)
    if not on_grid:
        return torch.minimum(torch.maximum(protected, low), high)
    tol = 1e-6
    low_q = torch.ceil(low * 255.0 - tol) / 255.0
    high_q = torch.floor(high * 255.0 + tol) / 255.0
    return torch.minimum(torch.maximum(quantize(protected), low_q), high_q)


def measure(clean: torch.Tensor, protected: torch.Tensor) -> list[dict[str, float]]:
    """Realised distortion per image on the uint8 images: L∞ (in /255), PSNR (dB), SSIM."""
    a, b = to_uint8(clean), to_uint8(protected)
    rows = []
    for x, y in zip(a, b):
        linf = float(np.abs(x.astype(np.float64) - y.astype(np.float64)).max())
        ssim = float(structural_similarity(x, y, channel_axis=-1, data_range=255))
        rows.append({"linf_255": linf, "psnr": psnr(x, y), "ssim": ssim})
    return rows


def summarise(rows: list[dict[str, float]]) -> dict[str, float]:
    """Mean of each measurement over images (max for L∞, which is a budget)."""
    if not rows:
        return {}
    finite = [r["psnr"] for r in rows if np.isfinite(r["psnr"])]
    return {
        "n": float(len(rows)),
        "linf_255_max": max(r["linf_255"] for r in rows),
        "psnr_mean": float(np.mean(finite)) if finite else float("inf"),
        "ssim_mean": float(np.mean([r["ssim"] for r in rows])),
    }
