"""Embedding whole image sets with a recognizer, in batches, from the uint8 images as stored.

A recognizer that cannot find a face (a back end that re-detects) marks that image with a row of NaN;
the metrics count such rows as failures instead of silently dropping the image.
"""

from __future__ import annotations

import numpy as np
import torch

from nullswap.images import as_uint8


@torch.no_grad()
def embed_images(
    recognizer: torch.nn.Module,
    images: np.ndarray | torch.Tensor,
    *,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """float32 (N, D) embeddings of uint8 (N, H, W, 3) images (or float NCHW tensors, rounded to uint8 first).

    Rounding first means every metric sees exactly the pixels a saved file would hold.
    """
    array = as_uint8(images)
    chunks = []
    for start in range(0, len(array), batch_size):
        batch = torch.from_numpy(np.ascontiguousarray(array[start : start + batch_size]))
        batch = batch.permute(0, 3, 1, 2).float().div_(255).to(device)
        out = recognizer(batch)
        if out.ndim != 2 or out.shape[0] != len(batch):
            raise ValueError(
                f"recognizer {getattr(recognizer, 'name', '?')} returned shape {tuple(out.shape)} "
                f"for a batch of {len(batch)}"
            )
        chunks.append(out.float().cpu())
    if not chunks:
        return np.zeros((0, int(getattr(recognizer, "embedding_dim", 0))), dtype=np.float32)
    return torch.cat(chunks).numpy().astype(np.float32)


def normalize_rows(embeddings: np.ndarray) -> np.ndarray:
    """L2-normalise each row; NaN rows (failures) stay NaN, zero rows stay zero."""
    x = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, x / norms, x)


def valid_rows(embeddings: np.ndarray) -> np.ndarray:
    """Boolean mask of rows without NaN/inf (a failed detection or embedding is a non-finite row)."""
    return np.isfinite(np.asarray(embeddings)).all(axis=1)
