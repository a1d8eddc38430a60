"""Face-swap identity similarity (Table 3): does the protected source still carry its identity into the swap?

For each source–target pair, swap once with the clean source and once with the protected source, embed
both results with an evaluation recognizer, and take their cosine similarity.  Lower means the
protection kept the source identity out of the swap.  A pair counts as a **failure** (and is left out of
the mean, but counted) when either swap failed (the swapper's per-pair status) or the recognizer could
not embed either result (a NaN row: no face found on re-detection).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from nullswap.metrics.embedding import embed_images, normalize_rows, valid_rows


@dataclass
class SwapSimilarity:
    """Per-pair cosine (NaN for failures), the mean over successful pairs and the failure counts."""

    similarity: np.ndarray
    n_pairs: int
    n_swap_failures: int
    n_embedding_failures: int
    notes: list[str] = field(default_factory=list)

    @property
    def n_valid(self) -> int:
        return int(np.isfinite(self.similarity).sum())

    @property
    def mean(self) -> float | None:
        finite = self.similarity[np.isfinite(self.similarity)]
        return float(finite.mean()) if len(finite) else None

    def summary(self) -> dict[str, object]:
        return {
            "similarity": self.mean,
            "pairs": self.n_pairs,
            "valid_pairs": self.n_valid,
            "swap_failures": self.n_swap_failures,
            "embedding_failures": self.n_embedding_failures,
        }


def swap_similarity_from_embeddings(
    clean_swaps: np.ndarray,
    protected_swaps: np.ndarray,
    *,
    ok_clean: Sequence[bool] | None = None,
    ok_protected: Sequence[bool] | None = None,
) -> SwapSimilarity:
    """Cosine similarity of paired embeddings, with swap failures given by the two status masks."""
    a = normalize_rows(np.asarray(clean_swaps, dtype=np.float64))
    b = normalize_rows(np.asarray(protected_swaps, dtype=np.float64))
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"paired embeddings must have the same (N, D) shape, got {a.shape} and {b.shape}")
    n = len(a)
    swapped = np.ones(n, dtype=bool)
    for mask in (ok_clean, ok_protected):
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (n,):
                raise ValueError(f"status mask of shape {mask.shape} for {n} pairs")
            swapped &= mask
    embedded = valid_rows(a) & valid_rows(b)
    good = swapped & embedded
    similarity = np.full(n, np.nan)
    similarity[good] = np.einsum("nd,nd->n", a[good], b[good])
    result = SwapSimilarity(similarity, n, int((~swapped).sum()), int((swapped & ~embedded).sum()))
    if result.n_swap_failures or result.n_embedding_failures:
        result.notes.append(
            f"{result.n_swap_failures} swap failures and {result.n_embedding_failures} "
            f"embedding failures out of {n} pairs, left out of the mean"
        )
    return result


def swap_similarity(
    recognizer: torch.nn.Module,
    clean_swaps: np.ndarray | torch.Tensor,
    protected_swaps: np.ndarray | torch.Tensor,
    *,
    ok_clean: Sequence[bool] | None = None,
    ok_protected: Sequence[bool] | None = None,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
) -> SwapSimilarity:
    """Embed both sets of swap results (uint8 NHWC, or float NCHW rounded to uint8) and compare them pairwise."""
    a = embed_images(recognizer, clean_swaps, batch_size=batch_size, device=device)
    b = embed_images(recognizer, protected_swaps, batch_size=batch_size, device=device)
    return swap_similarity_from_embeddings(a, b, ok_clean=ok_clean, ok_protected=ok_protected)
