"""NullSwap itself as a protector: a trained generator checkpoint, one forward pass per face."""

from __future__ import annotations

from pathlib import Path

import torch

from baselines import register_protector
from baselines.base import Protector
from nullswap.assets import sha256_of
from nullswap.protect import NullSwapCloak, default_checkpoint


@register_protector("nullswap")
class NullSwapProtector(Protector):
    name = "nullswap"
    threat_model = "black-box"   # no face swapper is seen in training
    kind = "generator"
    record_stats = False  # the table runner measures every column itself

    def __init__(self, checkpoint: str | Path | None = None, seed: int = 0, device: str = "auto",
                 batch_size: int = 16, target_psnr: float | None = None) -> None:
        self.checkpoint = Path(checkpoint) if checkpoint else default_checkpoint()
        self.cloak = NullSwapCloak.from_checkpoint(self.checkpoint, device=device, seed=seed,
                                                   target_psnr=target_psnr)
        self.batch_size = batch_size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.cloak(images, batch_size=self.batch_size)

    def describe(self) -> dict[str, object]:
        return {**super().describe(), **self.cloak.describe(), "checkpoint_sha256": sha256_of(self.checkpoint)}
