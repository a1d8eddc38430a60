"""The Protector contract: a defence that turns clean aligned faces into protected ones.

``protect(images)`` takes canonical crops (B, 3, 256, 256), RGB, float [0, 1] and returns protected
crops of the same shape and range.  Every adapter owns its frame: it converts to its upstream's
resolution and value range, protects, and brings the change back to the canonical crop, so the
harness measures distortion and cloaking in one frame for all methods.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch

ThreatModel = Literal["white-box", "grey-box", "black-box", "none"]
Kind = Literal["generator", "universal", "iterative", "noise", "identity"]


class Protector:
    """Base class; subclasses set the class attributes and implement :meth:`protect`."""

    name: ClassVar[str] = "protector"
    #: what the defence sees of the face swapper / recognizer it is judged against (paper's Table 2 row)
    threat_model: ClassVar[ThreatModel] = "none"
    kind: ClassVar[Kind] = "identity"

    def protect(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def describe(self) -> dict[str, object]:
        """Facts recorded in the provenance of every result produced with this protector."""
        return {"name": self.name, "threat_model": self.threat_model, "kind": self.kind}

    @staticmethod
    def check_images(images: torch.Tensor) -> None:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected (B, 3, H, W) RGB crops, got {tuple(images.shape)}")
        if images.dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
            raise ValueError(f"expected float images in [0, 1], got {images.dtype}")
