"""The NullSwap generator (Fig. 2 of the paper) and its discriminator.

Four modules turn a clean face ``x`` into a cloaked face ``x'`` in one forward pass:

* **Identity Extraction** — ConvBlock, max-pool, ``L`` SEResBlocks: an identity feature *map*.
* **Perturbation Block** — ConvBlock, ``M`` SEResBlocks (optionally one more ConvBlock), then the
  adaptive random noise of Eq. 1, ``n = β · (α · ε + η)`` with ε ~ N(0, I) drawn every pass.
* **Feature Block** — three ConvBlocks (two of them stride 2), ``N`` SEResBlocks: shallow image features
  at 1/4 resolution, where the perturbation is embedded rather than added to pixels.
* **Cloaking Block** — stage 1 concatenates the (learnably weighted) perturbation with the features and
  reconstructs through SEResBlock → DeConvBlock → ConvBlock → DeConvBlock; stage 2 concatenates the input
  image and applies three ConvBlocks, the last being a plain convolution so it can emit an image.

The output head is a configuration choice the paper leaves open: ``direct`` synthesises ``x'``;
``residual`` returns ``clamp(x + r)``, optionally with ``r = bound · tanh(head)`` so the L∞ change never
exceeds ``bound`` (a target-fidelity mechanism).  Widths and block counts come from config.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn


def ConvBlock(in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    """Conv2d + BatchNorm + ReLU (the paper's ConvBlock)."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


def DeConvBlock(in_ch: int, out_ch: int, mode: Literal["transposed", "resize"] = "transposed") -> nn.Sequential:
    """×2 upsampling + BatchNorm + ReLU.

    The paper only says "upsampling".  ``transposed`` is a stride-2 transposed convolution (kernel 4),
    whose uneven kernel overlap leaves a regular checkerboard in the output; ``resize`` is nearest-neighbour
    ×2 followed by a 3×3 convolution (resize-then-convolve), which cannot produce that pattern."""
    if mode == "transposed":
        upsample: list[nn.Module] = [nn.ConvTranspose2d(in_ch, out_ch, kernel_size=4, stride=2, padding=1, bias=False)]
    elif mode == "resize":
        upsample = [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False)]
    else:
        raise ValueError(f"unknown upsampling mode {mode!r} (transposed | resize)")
    return nn.Sequential(*upsample, nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))


class SqueezeExcitation(nn.Module):
    """Channel attention: global pool → bottleneck MLP → sigmoid gate."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class SEResBlock(nn.Module):
    """ResNet bottleneck (1×1 reduce, 3×3, 1×1 expand) with squeeze-and-excitation on the residual
    branch and an identity skip; channel count and resolution are preserved."""

    def __init__(self, channels: int, bottleneck: int = 4, se_reduction: int = 16) -> None:
        super().__init__()
        mid = max(channels // bottleneck, 8)
        self.residual = nn.Sequential(
            nn.Conv2d(channels, mid, 1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, 3, padding=1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            SqueezeExcitation(channels, se_reduction),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.residual(x))


@dataclass(frozen=True)
class ModelConfig:
    """Architecture hyper-parameters (``nullswap/conf/model/*.yaml``)."""

    width: int = 64                 # channels at 1/4 resolution (feature, identity, perturbation maps)
    id_blocks: int = 4              # L
    perturbation_blocks: int = 3    # M
    feature_blocks: int = 5         # N
    perturbation_extra_conv: bool = False
    se_reduction: int = 16
    bottleneck: int = 4
    head: Literal["direct", "residual"] = "residual"
    residual_bound: float | None = None   # L∞ bound in [0, 1] units for the residual head (None: unbounded)
    budget_psnr: float | None = None      # per-image L2 budget of the residual, as a PSNR floor in dB
    upsample: Literal["transposed", "resize"] = "transposed"
    output_init_scale: float | None = None  # last conv's initial weight scale; None: 0.01 residual, 1 direct
    noise_alpha: float = 1.0
    noise_beta: float = 0.1
    noise_at_inference: bool = True
    disc_width: int = 32
    disc_layers: int = 4

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_dict(self) -> dict:
        return asdict(self)


class AdaptiveNoise(nn.Module):
    """Eq. 1: ``n = β · (α · ε + η)`` with ε ~ N(0, I) per pass, η a learnable per-channel tensor and
    α, β learnable scalars.  ``enabled`` switches it off (e.g. for a deterministic ablation)."""

    def __init__(self, channels: int, alpha: float, beta: float) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(float(alpha)))
        self.beta = nn.Parameter(torch.tensor(float(beta)))
        self.eta = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.enabled = True

    def forward(self, perturbation: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if not self.enabled:
            return perturbation + self.beta * self.eta
        eps = torch.randn(perturbation.shape, generator=generator, device=perturbation.device,
                          dtype=perturbation.dtype)
        return perturbation + self.beta * (self.alpha * eps + self.eta)


class NullSwapGenerator(nn.Module):
    """x (B, 3, H, W) in [0, 1], H and W divisible by 4 → cloaked x' of the same shape."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or ModelConfig()
        c = cfg.width
        se = dict(bottleneck=cfg.bottleneck, se_reduction=cfg.se_reduction)

        self.identity_extraction = nn.Sequential(
            ConvBlock(3, c, kernel=7, stride=2),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            *[SEResBlock(c, **se) for _ in range(cfg.id_blocks)],
        )
        perturbation_layers: list[nn.Module] = [ConvBlock(c, c)]
        perturbation_layers += [SEResBlock(c, **se) for _ in range(cfg.perturbation_blocks)]
        if cfg.perturbation_extra_conv:
            perturbation_layers.append(ConvBlock(c, c))
        self.perturbation_block = nn.Sequential(*perturbation_layers)
        self.noise = AdaptiveNoise(c, cfg.noise_alpha, cfg.noise_beta)

        self.feature_block = nn.Sequential(
            ConvBlock(3, c // 2),
            ConvBlock(c // 2, c, stride=2),
            ConvBlock(c, c, stride=2),
            *[SEResBlock(c, **se) for _ in range(cfg.feature_blocks)],
        )

        self.perturbation_weight = nn.Parameter(torch.tensor(1.0))
        self.cloak_features = nn.Sequential(
            SEResBlock(2 * c, **se),
            DeConvBlock(2 * c, c, cfg.upsample),
            ConvBlock(c, c),
            DeConvBlock(c, c // 2, cfg.upsample),
        )
        self.cloak_image = nn.Sequential(
            ConvBlock(c // 2 + 3, c // 2),
            ConvBlock(c // 2, c // 2),
            nn.Conv2d(c // 2, 3, kernel_size=3, padding=1),
        )
        # The L2 budget is a property of the model (it is stored with its config) that a protector may
        # change at inference to trade fidelity for cloaking (see ``with_budget``).
        self.budget_psnr: float | None = cfg.budget_psnr
        init_scale = cfg.output_init_scale
        if init_scale is None:
            init_scale = 0.01 if cfg.head == "residual" else 1.0
        if init_scale != 1.0:
            # A small scale starts the residual head close to the identity map (the cloak is then learned
            # as a departure from the clean image); never exactly zero, so gradients reach every layer.
            with torch.no_grad():
                self.cloak_image[-1].weight.mul_(init_scale)
                self.cloak_image[-1].bias.mul_(init_scale)

    def perturbation(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The identity-guided perturbation map (after Eq. 1's noise) at 1/4 resolution."""
        p = self.perturbation_block(self.identity_extraction(x))
        if self.training or self.config.noise_at_inference:
            p = self.noise(p, generator)
        return p

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"image sides must be divisible by 4, got {tuple(x.shape[-2:])}")
        features = self.feature_block(x)
        fused = torch.cat([features, self.perturbation_weight * self.perturbation(x, generator)], dim=1)
        stage1 = self.cloak_features(fused)
        out = self.cloak_image(torch.cat([stage1, x], dim=1))
        if self.config.head == "direct":
            return out.clamp(0.0, 1.0)
        if self.config.residual_bound is not None:
            out = self.config.residual_bound * torch.tanh(out)
        if self.budget_psnr is not None:
            out = project_to_psnr(out, self.budget_psnr)
        return (x + out).clamp(0.0, 1.0)


def project_to_psnr(residual: torch.Tensor, psnr_db: float) -> torch.Tensor:
    """Scale each image's residual down (never up) so that its mean squared value is at most the MSE of
    an image at ``psnr_db`` dB on [0, 1] pixels: ``mse_max = 10^(−psnr/10)``.

    A per-image L2 budget: the generator chooses *where* to spend the change, the budget decides *how
    much*.  Clamping ``x + r`` to [0, 1] afterwards can only lower the error, so the protected image's
    PSNR is at least ``psnr_db`` (up to 8-bit rounding, ~1e-6 in MSE)."""
    mse_max = 10.0 ** (-float(psnr_db) / 10.0)
    energy = residual.float().pow(2).mean(dim=(1, 2, 3), keepdim=True)
    scale = torch.clamp(torch.sqrt(mse_max / (energy + 1e-12)), max=1.0)
    return residual * scale.to(residual.dtype)


class Discriminator(nn.Module):
    """Binary real/cloaked classifier built from stride-2 ConvBlocks; returns one logit per image."""

    def __init__(self, width: int = 32, layers: int = 4) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        in_ch = 3
        for i in range(layers):
            out_ch = width * 2**i
            blocks.append(ConvBlock(in_ch, out_ch, kernel=4 if i == 0 else 3, stride=2))
            in_ch = out_ch
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Linear(in_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.features(x * 2 - 1).mean(dim=(2, 3))
        return self.classifier(pooled).squeeze(1)


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
