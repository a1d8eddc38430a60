"""Differentiable affine warps between face frames (``grid_sample`` with pixel-space matrices)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _normalise(size_hw: tuple[int, int]) -> np.ndarray:
    """3×3 map from pixel coordinates (pixel centres at integers) to ``align_corners=False`` [-1, 1]."""
    h, w = size_hw
    return np.array([[2.0 / w, 0.0, 1.0 / w - 1.0], [0.0, 2.0 / h, 1.0 / h - 1.0], [0.0, 0.0, 1.0]])


def affine_theta(matrix: np.ndarray, src_hw: tuple[int, int], dst_hw: tuple[int, int]) -> torch.Tensor:
    """``theta`` for ``F.affine_grid`` that realises the pixel-space map ``matrix`` (src → dst)."""
    forward = np.vstack([np.asarray(matrix, dtype=np.float64), [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(forward)
    theta = _normalise(src_hw) @ inverse @ np.linalg.inv(_normalise(dst_hw))
    return torch.from_numpy(theta[:2]).float()


def warp_affine(
    images: torch.Tensor,
    matrix: np.ndarray | torch.Tensor,
    out_size: int | tuple[int, int],
    padding_mode: str = "border",
) -> torch.Tensor:
    """Warp ``images`` (B, C, H, W) by the 2×3 pixel-space ``matrix`` (like ``cv2.warpAffine``),
    bilinearly and differentiably.  ``matrix`` may be one map for the batch or one per image."""
    out_hw = (out_size, out_size) if isinstance(out_size, int) else tuple(out_size)
    src_hw = tuple(images.shape[-2:])
    if isinstance(matrix, torch.Tensor):
        matrix = matrix.detach().cpu().numpy()
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim == 2:
        theta = affine_theta(matrix, src_hw, out_hw).unsqueeze(0).expand(images.shape[0], 2, 3)
    else:
        theta = torch.stack([affine_theta(m, src_hw, out_hw) for m in matrix])
    theta = theta.to(device=images.device, dtype=images.dtype)
    grid = F.affine_grid(theta, [images.shape[0], images.shape[1], *out_hw], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)
