"""The Swapper contract: a face swapper used as a test-time victim (Table 3).

``swap(sources, targets)`` takes canonical crops (B, 3, 256, 256) in [0, 1] — the identity providers
(clean or protected) and the faces whose attributes are kept — and returns the swapped images plus one
status per pair (``ok``, ``no_face``, ``failed``), because upstream swappers re-detect faces and fail
on some.  Upstream systems run in their own environments through
:class:`nullswap.upstream.ExternalRunner`, exactly like the external baselines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch


@dataclass
class SwapResult:
    images: torch.Tensor          # (B, 3, H, W) in [0, 1]; undefined where status != "ok"
    status: list[str]             # one per pair: ok | no_face | failed
    messages: list[str]


class Swapper:
    name: ClassVar[str] = "swapper"

    def swap(self, sources: torch.Tensor, targets: torch.Tensor) -> SwapResult:
        raise NotImplementedError

    def describe(self) -> dict[str, object]:
        return {"name": self.name}
