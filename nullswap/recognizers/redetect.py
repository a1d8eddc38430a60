"""Evaluation through re-detection: the attacker aligns the face with their own detector.

Every other recognizer sees the fixed canonical crop the protector produced, which flatters a cloak:
an attacker's tool finds the face again in the protected image and re-aligns it, shifting and rescaling
the perturbation.  ``"<name>@redetect"`` wraps recognizer ``<name>`` so that each crop is first
re-detected by dlib's frontal (HOG) detector — independent of the MTCNN that built the crops — and
re-aligned from its landmarks onto the canonical frame before embedding.  ``dlib-cpp@redetect`` uses
dlib's complete pipeline instead (detector, 5-point predictor, ``get_face_chip``, C++ network), which
is what a dlib user runs.

A crop where no face is found gives a row of NaN, which the identification metrics count as a failure
(never dropped).  Black box: no gradient.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch

from nullswap.recognizers.base import Recognizer

SUFFIX = "@redetect"


class Redetected(Recognizer):
    """``base`` applied after re-detection and re-alignment of every crop."""

    differentiable: ClassVar[bool] = False

    def __init__(self, base: Recognizer, upsample: int = 1) -> None:
        super().__init__()
        from nullswap.recognizers.dlib_resnet import DlibFaceFinder

        self.base = base
        self.finder = DlibFaceFinder(upsample=upsample)
        self.dlib_pipeline = base.name == "dlib-cpp"
        self.failures = 0

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.base.name + SUFFIX

    @property
    def embedding_dim(self) -> int:  # type: ignore[override]
        return self.base.embedding_dim

    @property
    def threshold(self) -> float | None:  # type: ignore[override]
        return self.base.threshold

    @property
    def weight_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return (*self.base.weight_names, "dlib_shape_predictor_5", "dlib_shape_predictor_68")

    def _realign(self, crop: np.ndarray) -> np.ndarray | None:
        faces = self.finder(crop)
        if not faces:
            return None
        centre = np.array(crop.shape[1::-1], dtype=np.float64) / 2
        face = min(faces, key=lambda f: float(np.linalg.norm(f.points.mean(axis=0) - centre)))
        if self.dlib_pipeline:
            return self.finder.chip(crop, face)
        return self.finder.canonical_crop(crop, face, size=crop.shape[0])

    @torch.no_grad()
    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        if faces.ndim != 4 or faces.shape[1] != 3:
            raise ValueError(f"{self.name}: expected (B, 3, H, W) RGB crops, got {tuple(faces.shape)}")
        crops = (faces.detach().clamp(0, 1) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        out = torch.full((len(crops), self.embedding_dim), math.nan)
        found = [(i, a) for i, a in enumerate(self._realign(np.ascontiguousarray(c)) for c in crops) if a is not None]
        self.failures += len(crops) - len(found)
        if found:
            batch = torch.from_numpy(np.stack([a for _, a in found])).permute(0, 3, 1, 2).float().div(255)
            batch = batch.to(faces.device)
            if self.dlib_pipeline:
                embedded = torch.nn.functional.normalize(self.base.embed(batch).float(), dim=-1)
            else:
                embedded = self.base(batch)
            out[[i for i, _ in found]] = embedded.cpu().float()
        return out.to(faces.device)

    def describe(self) -> dict[str, object]:
        return {**self.base.describe(), "name": self.name, "differentiable": False,
                "alignment": "re-detected by dlib HOG + landmarks"
                + (" (dlib get_face_chip 150)" if self.dlib_pipeline else " onto the canonical frame")}
