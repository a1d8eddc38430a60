"""``pgd``: the reference per-image white-box identity attack.

Untargeted projected gradient descent under an L∞ budget: starting from the clean crop (plus a uniform
random start), each step moves the image against the sign of the gradient of the mean cosine
similarity between the clean and the perturbed embeddings over the chosen recognizers, then projects
back onto the ε-ball and [0, 1].  It answers "how much could a defence that *sees* the recognizer do at
this budget?" and gives every black-box method a white-box yardstick at the same distortion.

The result lies on the uint8 grid and inside the ball (``quantize``), so the budget still holds after
the image is written as a PNG.  Runs are deterministic for a given ``seed`` (random start drawn from a
seeded generator, batches in input order).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from baselines import register_protector
from baselines._frames import project_linf
from baselines.base import Protector
from nullswap.recognizers import Recognizer
from nullswap.recognizers import load as load_recognizer
from nullswap.runtime import device_name

DEFAULT_RECOGNIZERS = ("dlib", "sface")


def _resolve(recognizers: str | Recognizer | Sequence[str | Recognizer], device: str) -> list[Recognizer]:
    if isinstance(recognizers, (str, Recognizer)):
        recognizers = [recognizers]
    models = []
    for item in recognizers:
        model = load_recognizer(item, device=device) if isinstance(item, str) else item.to(device).eval()
        if not model.differentiable:
            raise ValueError(
                f"pgd needs gradients, but recognizer '{model.name}' is black-box "
                "(differentiable = False); choose differentiable recognizers"
            )
        models.append(model)
    if not models:
        raise ValueError("pgd needs at least one recognizer")
    return models


@register_protector("pgd")
class PGD(Protector):
    name = "pgd"
    threat_model = "white-box"
    kind = "iterative"

    def __init__(
        self,
        eps: float = 4.0,
        recognizers: str | Recognizer | Sequence[str | Recognizer] = DEFAULT_RECOGNIZERS,
        steps: int = 10,
        step_size: float | None = None,
        random_start: bool = True,
        seed: int = 0,
        batch_size: int = 8,
        device: str | None = None,
        quantize: bool = True,
        progress: bool = True,
        record_stats: bool = True,
    ) -> None:
        """``eps`` and ``step_size`` are in /255 units (4 means 4/255); ``step_size`` defaults to
        ``2.5 * eps / steps`` (Madry et al.'s rule), so the walk can cross the ball within the steps."""
        if not 0.0 < float(eps) <= 64.0:
            raise ValueError(f"eps is in /255 units and must be in (0, 64], got {eps}")
        if quantize and float(eps) < 1.0:
            raise ValueError("with quantize=True eps must be at least 1/255 (the uint8 grid step)")
        if int(steps) < 1:
            raise ValueError("steps must be at least 1")
        self.eps = float(eps)
        self.steps = int(steps)
        self.step_size = float(step_size) if step_size is not None else 2.5 * self.eps / self.steps
        if self.step_size <= 0:
            raise ValueError("step_size must be positive")
        self.random_start = bool(random_start)
        self.seed = int(seed)
        self.batch_size = max(1, int(batch_size))
        self.device = device_name(device or "auto")
        self.quantize = bool(quantize)
        self.progress = bool(progress)
        self.record_stats = bool(record_stats)
        self.models = _resolve(recognizers, self.device)

    def loss(self, clean_embeddings: list[torch.Tensor], images: torch.Tensor) -> torch.Tensor:
        """Per-image mean cosine over recognizers (the quantity minimised)."""
        cosines = [
            F.cosine_similarity(model(images), ref, dim=-1)
            for model, ref in zip(self.models, clean_embeddings)
        ]
        return torch.stack(cosines).mean(dim=0)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        generator = torch.Generator(device="cpu").manual_seed(self.seed)
        eps, alpha = self.eps / 255.0, self.step_size / 255.0
        chunks = []
        bar = tqdm(
            total=self.steps * ((len(images) + self.batch_size - 1) // self.batch_size),
            desc=f"pgd {self.eps:g}/255",
            disable=not self.progress,
            leave=False,
        )
        for start in range(0, len(images), self.batch_size):
            clean = images[start : start + self.batch_size].detach().to(self.device, torch.float32)
            with torch.no_grad():
                references = [model(clean) for model in self.models]
            adv = clean.clone()
            if self.random_start:
                noise = (torch.rand(clean.shape, generator=generator) * 2.0 - 1.0) * eps
                adv = (clean + noise.to(self.device)).clamp(0.0, 1.0)
            for _ in range(self.steps):
                adv.requires_grad_(True)
                loss = self.loss(references, adv).sum()
                (grad,) = torch.autograd.grad(loss, adv)
                with torch.no_grad():
                    adv = project_linf(clean, adv - alpha * grad.sign(), eps, on_grid=False)
                bar.update(1)
                bar.set_postfix(cos=f"{loss.item() / len(clean):.3f}")
            adv = project_linf(clean, adv.detach(), eps, on_grid=self.quantize)
            chunks.append(adv.to(device=images.device, dtype=images.dtype))
        bar.close()
        return torch.cat(chunks)

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "eps_255": self.eps,
            "steps": self.steps,
            "step_size_255": self.step_size,
            "random_start": self.random_start,
            "seed": self.seed,
            "quantize": self.quantize,
            "recognizers": [m.name for m in self.models],
        }
