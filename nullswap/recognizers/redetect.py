"""Evaluation through re-detection: the attacker aligns the face with their own detector.

Every other recognizer sees the fixed canonical crop the protector produced, which flatters a cloak:
an attacker's tool finds the face again in the protected image and re-aligns it, shifting and rescaling
the perturbation.  ``"<name>@redetect"`` wraps recognizer ``<name>`` so that each crop is first
re-detected by dlib's frontal (HOG) detector — independent of the MTCNN that built the crops — and
re-aligned from its landmarks onto the canonical frame before embedding.  ``dlib-cpp@redetect`` uses
dlib's complete pipeline instead (detector, 5-point predictor, ``get_face_chip``, C++ network), which
is what a dlib user runs.  The geometry (detect, pick the face, re-align) is
:func:`nullswap.faces.redetect.realign_with_dlib`; this module only wraps a recognizer around it.

A crop where no face is found gives a row of NaN, which the identification metrics count as a failure
(never dropped).  Black box: no gradient.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch

from nullswap.faces.dlib_finder import DlibFaceFinder
from nullswap.faces.redetect import realign_with_dlib
from nullswap.images import from_uint8, to_uint8
from nullswap.recognizers.base import Recognizer

SUFFIX = "@redetect"


class Redetected(Recognizer):
    """``base`` applied after re-detection and re-alignment of every crop."""

    differentiable: ClassVar[bool] = False

    def __init__(self, base: Recognizer, upsample: int = 1) -> None:
        super().__init__()
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

    @torch.no_grad()
    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        if faces.ndim != 4 or faces.shape[1] != 3:
            raise ValueError(f"{self.name}: expected (B, 3, H, W) RGB crops, got {tuple(faces.shape)}")
        crops = to_uint8(faces)
        out = torch.full((len(crops), self.embedding_dim), math.nan)
        realigned = (realign_with_dlib(np.ascontiguousarray(c), self.finder, self.dlib_pipeline) for c in crops)
        found = [(i, a) for i, a in enumerate(realigned) if a is not None]
        self.failures += len(crops) - len(found)
        if found:
            batch = from_uint8([a for _, a in found]).to(faces.device)
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
