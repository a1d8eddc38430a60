"""The Swapper contract: a face swapper used as a test-time victim (Table 3).

``swap(sources, targets)`` (which runs a subclass's ``forward``) takes canonical crops (B, 3, 256, 256) in [0, 1] — the identity providers
(clean or protected) and the faces whose attributes are kept — and returns the swapped images plus one
status per pair (``ok``, ``no_face``, ``failed``), because swappers re-detect faces and fail on some.
A failed pair is reported, never dropped: Table 3 counts it.  Upstream systems run in their own
environments through :class:`nullswap.upstream.ExternalRunner`, exactly like the external baselines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch

#: the outcomes a swapper may report for one pair
STATUSES = ("ok", "no_face", "failed")


@dataclass
class SwapResult:
    images: torch.Tensor          # (B, 3, H, W) in [0, 1]; undefined (zeros) where status != "ok"
    status: list[str]             # one per pair: ok | no_face | failed
    messages: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.status) - set(STATUSES))
        if unknown:
            raise ValueError(f"unknown swap status {unknown}; a swapper reports one of {STATUSES}")
        if len(self.status) != len(self.images):
            raise ValueError(f"{len(self.status)} statuses for {len(self.images)} swapped images")
        if not self.messages:
            self.messages = [""] * len(self.status)

    @property
    def ok(self) -> list[bool]:
        return [s == "ok" for s in self.status]


class Swapper:
    """Base class; subclasses set the class attributes and implement :meth:`forward`.

    :meth:`swap` is the same for every swapper — check the pairs, run :meth:`forward` (the method
    itself, the only one an adapter must write), check that it answered every pair with an image of
    the input's shape — so no adapter repeats or forgets the checks.
    """

    name: ClassVar[str] = "swapper"
    #: what kind of method it is, repeated in every table that shows it (e.g. "classical landmark-based")
    kind: ClassVar[str] = "learned"

    def forward(self, sources: torch.Tensor, targets: torch.Tensor) -> SwapResult:
        """The swap itself, on checked pairs: one image and one status per (source, target) pair."""
        raise NotImplementedError

    def swap(self, sources: torch.Tensor, targets: torch.Tensor) -> SwapResult:
        """Check the pairs, run :meth:`forward` and check that every pair got an image of their shape."""
        self.check_pairs(sources, targets)
        result = self.forward(sources, targets)
        if tuple(result.images.shape) != tuple(sources.shape):
            raise ValueError(
                f"{self.name}: returned images of shape {tuple(result.images.shape)} for pairs {tuple(sources.shape)}"
            )
        return result

    @staticmethod
    def check_pairs(sources: torch.Tensor, targets: torch.Tensor) -> None:
        """Sources and targets must be matching batches of RGB crops in [0, 1]."""
        for what, images in (("sources", sources), ("targets", targets)):
            if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
                shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
                raise ValueError(f"{what}: expected a (B, 3, H, W) tensor, got {shape}")
            if images.numel() and (images.min() < 0 or images.max() > 1):
                raise ValueError(f"{what}: pixel values must lie in [0, 1]")
        if sources.shape != targets.shape:
            raise ValueError(f"sources {tuple(sources.shape)} and targets {tuple(targets.shape)} differ in shape")

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "kind": self.kind}
