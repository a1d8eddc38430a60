"""The Protector contract: a defence that turns clean aligned faces into protected ones.

``protect(images)`` takes canonical crops (B, 3, 256, 256), RGB, float [0, 1] and returns protected
crops of the same shape and range.  Every adapter owns its frame: it converts to its upstream's
resolution and value range, protects, and brings the change back to the canonical crop, so the
harness measures distortion and cloaking in one frame for all methods.

The base class owns everything that is the same for every defence, so that an adapter cannot forget
it: :meth:`Protector.protect` checks the input, calls the adapter's :meth:`Protector.forward` (the
algorithm, and the only method an adapter must write), checks that the output is a batch of the same
shape with finite values in [0, 1], and records the realised distortion per image in ``last_stats``
(measured here, on the uint8 images, never taken from a method's own settings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import torch

from baselines._frames import measure

ThreatModel = Literal["white-box", "grey-box", "black-box", "none"]
Kind = Literal["generator", "universal", "iterative", "noise", "identity"]

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


class Protector:
    """Base class; subclasses set the class attributes and implement :meth:`forward`."""

    name: ClassVar[str] = "protector"
    #: what the defence sees of the face swapper / recognizer it is judged against (paper's Table 2 row)
    threat_model: ClassVar[ThreatModel] = "none"
    kind: ClassVar[Kind] = "identity"
    #: measure every output into ``last_stats`` (an adapter's ``record_stats=`` option sets it per object)
    record_stats: bool = True
    #: one dict per image of the last :meth:`protect` call: ``linf_255``, ``psnr``, ``ssim`` and whatever
    #: the adapter's :meth:`forward` put in ``forward_stats``
    last_stats: Sequence[dict[str, Any]] = ()
    #: per-image facts :meth:`forward` may report (merged into ``last_stats``); reset before each call
    forward_stats: Sequence[Mapping[str, Any]] = ()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """The defence itself: checked (B, 3, H, W) crops in [0, 1] → protected crops, same shape and range."""
        raise NotImplementedError

    def protect(self, images: torch.Tensor) -> torch.Tensor:
        """Check ``images``, run :meth:`forward`, check what it returned and record the distortion."""
        self.check_images(images)
        self.forward_stats = []
        protected = self.forward(images)
        self.check_output(images, protected)
        if self.record_stats:
            rows = measure(images, protected)
            if len(self.forward_stats) == len(rows):
                rows = [{**row, **extra} for row, extra in zip(rows, self.forward_stats)]
            self.last_stats = rows
        return protected

    def describe(self) -> dict[str, object]:
        """Facts recorded in the provenance of every result produced with this protector."""
        return {"name": self.name, "threat_model": self.threat_model, "kind": self.kind}

    @staticmethod
    def check_images(images: torch.Tensor) -> None:
        """Inputs must be a float (B, 3, H, W) RGB batch."""
        if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
            shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"expected (B, 3, H, W) RGB crops, got {shape}")
        if images.dtype not in FLOAT_DTYPES:
            raise ValueError(f"expected float images in [0, 1], got {images.dtype}")

    def check_output(self, images: torch.Tensor, protected: torch.Tensor) -> None:
        """A defence hands back exactly one finite crop in [0, 1] per input, of the input's shape."""
        if not isinstance(protected, torch.Tensor) or protected.shape != images.shape:
            shape = tuple(protected.shape) if isinstance(protected, torch.Tensor) else type(protected).__name__
            raise ValueError(f"{self.name}: returned {shape} for input {tuple(images.shape)}")
        if protected.numel() == 0:
            return
        if not bool(torch.isfinite(protected).all()):
            raise ValueError(f"{self.name}: returned NaN or infinite pixel values")
        if float(protected.min()) < 0.0 or float(protected.max()) > 1.0:
            raise ValueError(f"{self.name}: returned pixel values outside [0, 1]")
