"""``clean``: no protection.  The Clean column of Tables 2 and 4 runs through the same code path as
every defence, so that any difference between columns comes from the defence alone."""

from __future__ import annotations

import torch

from baselines import register_protector
from baselines.base import Protector


@register_protector("clean")
class Clean(Protector):
    name = "clean"
    threat_model = "none"
    kind = "identity"
    record_stats = False  # nothing changes, nothing to measure

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.clone()
