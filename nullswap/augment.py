"""What an attacker's pipeline does to a photo before a recognizer or a swapper sees it, as a random,
differentiable (or straight-through) transformation used *inside* the identity loss during training
(expectation over transformation).

A cloak optimised only on the exact training crop is brittle: the attacker re-detects and re-aligns the
face (a small similarity transform), re-encodes (JPEG), resizes or blurs.  Training the identity term on
``T(x')`` for random ``T`` asks the generator for a change that survives them.  Every operation is a
differentiable resampling except JPEG, whose forward pass is a real 8-bit JPEG round trip (Pillow) and
whose backward pass is the identity (straight-through estimator).

Randomness comes from torch's global generator, whose state training checkpoints, so a resumed run draws
the same transformations as an uninterrupted one.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from nullswap.images import to_uint8


@dataclass(frozen=True)
class RobustConfig:
    """``train.robust`` in the training config; ``enabled: false`` (the default) is the paper's setting."""

    enabled: bool = False
    p: float = 1.0                      # probability that an image is transformed at all
    rotate_deg: float = 6.0             # re-alignment: rotation in [−r, r] degrees
    scale: float = 0.06                 # re-alignment: zoom in [1 − s, 1 + s]
    translate: float = 0.04             # re-alignment / crop jitter: shift in [−t, t] of the side
    resize_p: float = 0.5               # probability of a down-then-up resize
    resize_min: float = 0.5             # smallest down-scale factor
    blur_p: float = 0.2                 # probability of a Gaussian blur
    blur_sigma: float = 1.0             # largest blur sigma in pixels of the training frame
    jpeg_p: float = 0.5                 # probability of a JPEG round trip
    jpeg_quality: tuple[int, int] = (75, 95)

    @classmethod
    def from_dict(cls, values: dict | None) -> RobustConfig:
        values = dict(values or {})
        if "jpeg_quality" in values:
            values["jpeg_quality"] = tuple(int(q) for q in values["jpeg_quality"])
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})

    def to_dict(self) -> dict:
        return asdict(self)


def _uniform(n: int, low: float, high: float, device: torch.device) -> torch.Tensor:
    return torch.rand(n).to(device) * (high - low) + low


def similarity_warp(images: torch.Tensor, angle_deg: torch.Tensor, scale: torch.Tensor,
                    shift: torch.Tensor) -> torch.Tensor:
    """Rotate by ``angle_deg``, zoom by ``scale`` and shift by ``shift`` (fractions of the side), per
    image, with border replication (an aligner's crop never has black corners)."""
    angle = angle_deg * math.pi / 180.0
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0] * 2], dim=1),
                         torch.stack([sin, cos, shift[:, 1] * 2], dim=1)], dim=1).to(images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def resize_round_trip(image: torch.Tensor, factor: float) -> torch.Tensor:
    """Downscale by ``factor`` (antialiased) and back up, as an upload pipeline or a screenshot does."""
    size = image.shape[-2:]
    small = [max(8, round(s * factor)) for s in size]
    down = F.interpolate(image, size=small, mode="bilinear", antialias=True, align_corners=False)
    return F.interpolate(down, size=size, mode="bilinear", align_corners=False)


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma <= 0.05:
        return image
    radius = max(1, math.ceil(2.5 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=image.dtype, device=image.device)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = image.shape[1]
    padded = F.pad(image, (radius, radius, radius, radius), mode="replicate")
    out = F.conv2d(padded, kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(out, kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def jpeg_round_trip(image: torch.Tensor, quality: int) -> torch.Tensor:
    """Real JPEG encode/decode of one (1, 3, H, W) image in [0, 1]; gradient passes straight through."""
    array = to_uint8(image)[0]
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=int(quality))
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), dtype=np.float32) / 255.0
    target = torch.from_numpy(decoded).permute(2, 0, 1).unsqueeze(0).to(image.device, image.dtype)
    return image + (target - image).detach()


class AttackerTransform(torch.nn.Module):
    """Random attacker-side transformation of a batch of faces (B, 3, H, W) in [0, 1]."""

    def __init__(self, config: RobustConfig) -> None:
        super().__init__()
        self.config = config

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        if not cfg.enabled:
            return images
        n, device = len(images), images.device
        active = torch.rand(n) < cfg.p
        angle = _uniform(n, -cfg.rotate_deg, cfg.rotate_deg, device)
        scale = _uniform(n, 1 - cfg.scale, 1 + cfg.scale, device)
        shift = torch.stack([_uniform(n, -cfg.translate, cfg.translate, device) for _ in range(2)], dim=1)
        keep = (~active).to(device)
        angle, shift = angle.masked_fill(keep, 0.0), shift.masked_fill(keep[:, None], 0.0)
        scale = scale.masked_fill(keep, 1.0)
        out = similarity_warp(images, angle, scale, shift)
        resize = (torch.rand(n) < cfg.resize_p) & active
        factors = torch.rand(n) * (1 - cfg.resize_min) + cfg.resize_min
        blur = (torch.rand(n) < cfg.blur_p) & active
        sigmas = torch.rand(n) * cfg.blur_sigma
        jpeg = (torch.rand(n) < cfg.jpeg_p) & active
        low, high = cfg.jpeg_quality
        qualities = torch.randint(low, high + 1, (n,))
        return round_trips(out, resize, factors, jpeg, qualities, blur, sigmas)


def round_trips(images: torch.Tensor, resize: torch.Tensor, factors: torch.Tensor, jpeg: torch.Tensor,
                qualities: torch.Tensor, blur: torch.Tensor | None = None,
                sigmas: torch.Tensor | None = None) -> torch.Tensor:
    """Per face, in the order an attacker's tool applies them: a resize round trip (``factors``), a blur
    (``sigmas``) and a JPEG round trip (``qualities``), each where its mask is set. One face at a time:
    the round trips go through PIL (JPEG) or change the size, so they cannot be batched."""
    rows = []
    for i in range(len(images)):
        row = images[i : i + 1]
        if resize[i]:
            row = resize_round_trip(row, float(factors[i]))
        if blur is not None and blur[i]:
            row = gaussian_blur(row, float(sigmas[i]))
        if jpeg[i]:
            row = jpeg_round_trip(row, int(qualities[i]))
        rows.append(row)
    return torch.cat(rows).clamp(0.0, 1.0)
