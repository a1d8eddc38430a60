"""Perceptual distances: LPIPS v0.1 AlexNet (the paper's metric) and its clearly labelled offline stand-in.

``lpips-alex`` is the paper's LPIPS: the ``lpips`` package's linear heads on torchvision's ImageNet
AlexNet.  That backbone is a torch-hub download, so it is resolved through the weights manifest
(``lpips_alexnet_backbone``) and a missing file is a :class:`~nullswap.weights.MissingWeightsError`.

``stlpips-alex`` is shift-tolerant LPIPS (AlexNet, trained on BAPPS), the only complete perceptual
network that package registries ship.  It is a different metric: every table and log that uses it
says ``stlpips-alex``, never "LPIPS".

Both take images in [0, 1] and return one distance per image; both are differentiable.
"""

from __future__ import annotations

import contextlib
import io
from typing import Literal

import torch
from torch import nn

from nullswap import weights

PerceptualName = Literal["lpips-alex", "stlpips-alex"]
LABELS: dict[str, str] = {
    "lpips-alex": "LPIPS v0.1 (AlexNet, ImageNet backbone) — the paper's metric",
    "stlpips-alex": "ST-LPIPS (shift-tolerant AlexNet, BAPPS) — offline stand-in, not comparable with LPIPS",
}


class PerceptualDistance(nn.Module):
    """Wraps an LPIPS-family network: ``forward(x, y)`` with x, y in [0, 1] → (B,) distances."""

    def __init__(self, name: str, network: nn.Module, weight_name: str) -> None:
        super().__init__()
        self.name = name
        self.label = LABELS[name]
        self.weight_name = weight_name
        self.network = network.eval()
        for parameter in self.network.parameters():
            parameter.requires_grad_(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.network(x * 2 - 1, y * 2 - 1).flatten()

    def train(self, mode: bool = True) -> PerceptualDistance:
        # The network stays in eval mode (its dropout must not fire inside a training loop).
        super().train(mode)
        self.network.eval()
        return self

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "label": self.label, "weights": weights.sha256_record([self.weight_name]),
                "weight_files": weights.provenance([self.weight_name])}


def _lpips_alex() -> PerceptualDistance:
    import lpips

    backbone = torch.load(weights.path("lpips_alexnet_backbone"), map_location="cpu", weights_only=True)
    with contextlib.redirect_stdout(io.StringIO()):
        model = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    # lpips splits torchvision's alexnet.features into five slices keeping the layer indices.
    slices = {0: 1, 1: 1, 3: 2, 4: 2, 6: 3, 7: 3, 8: 4, 9: 4, 10: 5, 11: 5}
    state = {}
    for key, value in backbone.items():
        parts = key.split(".")
        if parts[0] == "features" and int(parts[1]) in slices:
            state[f"slice{slices[int(parts[1])]}.{parts[1]}.{parts[2]}"] = value
    missing = model.net.load_state_dict(state, strict=True)
    del missing
    return PerceptualDistance("lpips-alex", model, "lpips_alexnet_backbone")


def _stlpips_alex() -> PerceptualDistance:
    try:
        from stlpips_pytorch import stlpips
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the offline perceptual metric needs `pip install stlpips-pytorch==0.0.2`") from exc
    with contextlib.redirect_stdout(io.StringIO()):
        model = stlpips.LPIPS(net="alex", variant="shift_tolerant", pretrained=False, verbose=False)
    state = torch.load(weights.path("stlpips_alex"), map_location="cpu", weights_only=True)
    # The checkpoint stores the linear heads once (lin0..lin4); ``lins.*`` are aliases of the same modules.
    result = model.load_state_dict(state, strict=False)
    unexpected = list(result.unexpected_keys)
    missing = [k for k in result.missing_keys if not k.startswith("lins.")]
    if unexpected or missing:
        raise RuntimeError(f"stlpips checkpoint does not fit the network: missing={missing} unexpected={unexpected}")
    return PerceptualDistance("stlpips-alex", model, "stlpips_alex")


def load_perceptual(name: str) -> PerceptualDistance:
    """Build perceptual distance ``name`` (``lpips-alex`` or ``stlpips-alex``)."""
    if name == "lpips-alex":
        return _lpips_alex()
    if name == "stlpips-alex":
        return _stlpips_alex()
    raise KeyError(f"unknown perceptual metric '{name}'; choose one of {sorted(LABELS)}")
