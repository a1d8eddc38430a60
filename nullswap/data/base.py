"""The in-memory face set every loader returns: aligned canonical crops plus identity labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from nullswap.atomic import atomic_path
from nullswap.images import from_uint8


@dataclass
class FaceSet:
    """Aligned 256×256 RGB crops in the canonical frame, with one identity label per image.

    ``images`` is uint8 (N, 256, 256, 3) — the form faces are stored in — and :meth:`tensor` gives
    the float [0, 1] NCHW batch every module takes.  ``notes`` says what the set is (source, protocol)
    so that results built from it can say so too.
    """

    name: str
    images: np.ndarray
    identities: list[str]
    keys: list[str]
    notes: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.shape[-1] != 3 or self.images.dtype != np.uint8:
            raise ValueError(f"FaceSet images must be uint8 (N, H, W, 3), got {self.images.dtype} {self.images.shape}")
        if not (len(self.images) == len(self.identities) == len(self.keys)):
            raise ValueError("FaceSet images, identities and keys must have the same length")

    def __len__(self) -> int:
        return len(self.images)

    def tensor(self, indices: Sequence[int] | slice | None = None) -> torch.Tensor:
        """Float (B, 3, H, W) in [0, 1]."""
        return from_uint8(self.images if indices is None else self.images[indices])

    def subset(self, indices: Sequence[int], name: str | None = None) -> FaceSet:
        idx = list(indices)
        return FaceSet(name or self.name, self.images[idx], [self.identities[i] for i in idx],
                       [self.keys[i] for i in idx], dict(self.notes))


def save_png(image: np.ndarray, path: Path) -> None:
    """Write one uint8 HWC image atomically (never leaves a half-written file)."""
    with atomic_path(path) as temporary:
        Image.fromarray(image).save(temporary, format="PNG")
