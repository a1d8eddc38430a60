"""The one place images cross between float tensors and the uint8 form they are saved in, and the one PSNR.

Every module takes float (B, 3, H, W) batches in [0, 1]; every image a user saves or shares is uint8
(B, H, W, 3).  Distortion counts only what survives that rounding, so all conversions and the PSNR that
measures them live here and use a single rule: scale by 255 and **round half to even** (``torch.round``
and ``np.round``), exactly as the metrics, the protectors and the saved files do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

#: the largest uint8 value, the peak of every PSNR here
PEAK = 255.0


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) float [0, 1] → (B, H, W, 3) uint8, rounded (half to even) as an image file stores it."""
    array = torch.round(images.detach().float().clamp(0.0, 1.0) * PEAK).to(torch.uint8)
    return array.permute(0, 2, 3, 1).cpu().numpy()


def from_uint8(arrays: np.ndarray | Sequence[np.ndarray], like: torch.Tensor | None = None) -> torch.Tensor:
    """(B, H, W, 3) uint8 → (B, 3, H, W) float [0, 1], on ``like``'s device and dtype when given."""
    batch = arrays if isinstance(arrays, np.ndarray) else np.stack(arrays)
    tensor = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float() / PEAK
    if like is not None:
        tensor = tensor.to(device=like.device, dtype=like.dtype)
    return tensor


def quantize(images: torch.Tensor) -> torch.Tensor:
    """Round float [0, 1] images to the uint8 grid (what a PNG stores), staying float in [0, 1]."""
    return torch.round(images.clamp(0.0, 1.0) * PEAK) / PEAK


def as_uint8(images: np.ndarray | torch.Tensor) -> np.ndarray:
    """uint8 (N, H, W, 3) from either uint8 NHWC arrays/tensors or float [0, 1] NCHW tensors (rounded as saved).

    Raises ``ValueError`` for anything else, so a float array in [0, 1] is never silently read as 0–255.
    """
    if isinstance(images, torch.Tensor):
        if images.dtype == torch.uint8:
            array = images.cpu().numpy()
            return array if array.shape[-1] == 3 else array.transpose(0, 2, 3, 1)
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected float (N, 3, H, W) images in [0, 1], got {tuple(images.shape)}")
        return to_uint8(images)
    array = np.asarray(images)
    if array.dtype != np.uint8:
        raise ValueError(f"numpy images must be uint8 (N, H, W, 3) as stored on disk, got {array.dtype}")
    if array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(f"numpy images must be uint8 (N, H, W, 3), got shape {array.shape}")
    return array


def mse(reference: np.ndarray, other: np.ndarray) -> float:
    """Mean squared error of one image pair on the 0–255 scale (any numeric dtype; computed in float64)."""
    diff = np.asarray(reference, dtype=np.float64) - np.asarray(other, dtype=np.float64)
    return float(np.mean(diff**2))


def psnr_from_mse(error: float) -> float:
    """PSNR in dB for a mean squared error on the 0–255 scale; ``inf`` for identical images."""
    return float("inf") if error == 0.0 else float(10.0 * np.log10(PEAK**2 / error))


def psnr(reference: np.ndarray, other: np.ndarray) -> float:
    """PSNR in dB of one image pair on the 0–255 scale (``inf`` when identical)."""
    return psnr_from_mse(mse(reference, other))


def psnr_per_image(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """PSNR in dB of each pair in two equally shaped (N, ...) batches on the 0–255 scale."""
    return np.array([psnr(a, b) for a, b in zip(reference, other)], dtype=np.float64)
