"""Evaluation metrics: visual quality (Table 1), identification (Tables 2, 4, 5), swap similarity (Table 3).

Every metric works on uint8 images — what a user would save — and on embeddings from the recognizer
registry; none of them loads a model itself.
"""

from nullswap.metrics.embedding import embed_images, normalize_rows, valid_rows
from nullswap.metrics.identification import PROTOCOL, IdentificationResult, identify
from nullswap.metrics.swap import SwapSimilarity, swap_similarity, swap_similarity_from_embeddings
from nullswap.metrics.visual import (
    PERCEPTUAL_COLUMNS,
    VisualQuality,
    perceptual_column,
    perceptual_distance,
    psnr,
    ssim,
    visual_quality,
)

__all__ = [
    "PERCEPTUAL_COLUMNS",
    "PROTOCOL",
    "IdentificationResult",
    "SwapSimilarity",
    "VisualQuality",
    "embed_images",
    "identify",
    "normalize_rows",
    "perceptual_column",
    "perceptual_distance",
    "psnr",
    "ssim",
    "swap_similarity",
    "swap_similarity_from_embeddings",
    "valid_rows",
    "visual_quality",
]
