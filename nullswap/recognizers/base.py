"""The Recognizer contract: one torch module from aligned crops to L2-normalised identity embeddings.

``forward`` takes crops in the canonical 256 frame (or any size of it), RGB, values in [0, 1], and does
its own resizing, alignment to its template, channel order and normalisation inside, differentiably,
so that the same object serves training (gradients reach the input) and evaluation.  Back ends that
run outside torch (onnxruntime, dlib C++, TFLite) set ``differentiable = False``; they still accept
tensors and return tensors, but no gradient flows.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nullswap.faces.templates import CANONICAL_256, Template, template_to_template
from nullswap.faces.warp import warp_affine


class Recognizer(nn.Module):
    """Base class.  Subclasses set the class attributes and implement :meth:`embed`."""

    name: ClassVar[str] = "recognizer"
    embedding_dim: ClassVar[int] = 0
    input_size: ClassVar[int] = 112
    differentiable: ClassVar[bool] = True
    #: the frame the network was trained on; the canonical crop is warped onto it
    template: ClassVar[Template | None] = None
    #: cosine similarity above which the back end's own tooling calls two faces the same person
    threshold: ClassVar[float | None] = None
    #: weight-manifest entries this back end reads (recorded in result provenance)
    weight_names: ClassVar[tuple[str, ...]] = ()

    def to_input_frame(self, faces: torch.Tensor) -> torch.Tensor:
        """Canonical crops (B, 3, H, W) in [0, 1] → the network's own frame at ``input_size``."""
        if faces.ndim != 4 or faces.shape[1] != 3:
            raise ValueError(f"{self.name}: expected (B, 3, H, W) RGB crops, got {tuple(faces.shape)}")
        if self.template is None:
            return F.interpolate(faces, size=(self.input_size, self.input_size), mode="bilinear",
                                 align_corners=False, antialias=True)
        source = CANONICAL_256.scaled(faces.shape[-1]) if faces.shape[-1] != CANONICAL_256.size else CANONICAL_256
        matrix = template_to_template(source, self.template.scaled(self.input_size))
        return warp_affine(faces, matrix, self.input_size)

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """Raw embeddings of crops already in the network's frame, RGB [0, 1]."""
        raise NotImplementedError

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.embed(self.to_input_frame(faces)).float(), dim=-1)

    @torch.no_grad()
    def embed_numpy(self, faces: torch.Tensor, batch_size: int = 32) -> np.ndarray:
        """Evaluation helper: embeddings as a float32 array, in batches, without gradients."""
        chunks = [self(faces[i : i + batch_size]).cpu() for i in range(0, len(faces), batch_size)]
        return torch.cat(chunks).numpy().astype(np.float32)

    def describe(self) -> dict[str, object]:
        """Facts recorded beside every result this recognizer produced; ``weight_files`` says what each
        weight file is (sha256 verified, no published hash, or a stand-in, which results then carry)."""
        from nullswap import weights

        return {
            "name": self.name,
            "embedding_dim": self.embedding_dim,
            "input_size": self.input_size,
            "differentiable": self.differentiable,
            "template": None if self.template is None else self.template.name,
            "threshold": self.threshold,
            "weights": list(self.weight_names),
            "weight_files": weights.provenance(self.weight_names),
        }
