"""The objective of Eqs. 8–13: fidelity (MSE, LPIPS), adversarial (BCE GAN) and identity (cosine) terms.

``L_total = λ_id · L_id + λ_MSE · L_MSE + λ_LPIPS · L_LPIPS + λ_D · L_D`` with the paper's
λ_id = 0.08, λ_MSE = 1.8, λ_LPIPS = 1.2, λ_D = 0.1.

The pixel scale of the MSE is part of the method, not a detail: on [0, 1] pixels an image at 41 dB has
MSE ≈ 8e-5, three orders of magnitude below the identity term, so the generator spends whatever
distortion its head allows; on [0, 255] pixels the balance flips.  ``pixel_scale`` makes the choice
explicit (``1`` or ``255``) and every log records it.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nullswap.dlw import LossWeighting
from nullswap.perceptual import PerceptualDistance


@dataclass(frozen=True)
class LossConfig:
    lambda_id: float = 0.08
    lambda_mse: float = 1.8
    lambda_lpips: float = 1.2
    lambda_adv: float = 0.1
    pixel_scale: float = 1.0          # MSE on pixels × pixel_scale (1: [0, 1] images; 255: 8-bit values)
    perceptual: str = "lpips-alex"     # or "stlpips-alex" (a different, labelled metric) or "none"
    target_psnr: float | None = None   # train *at* this fidelity: a Lagrange multiplier on the MSE term
    dual_lr: float = 0.05              # log-multiplier step per dB of PSNR shortfall

    @classmethod
    def from_dict(cls, values: dict) -> LossConfig:
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})

    def to_dict(self) -> dict:
        return asdict(self)


class PsnrDualAscent:
    """The constraint ``PSNR(x, x') ≥ target`` handled by a Lagrange multiplier ``μ`` on the MSE term.

    After every step ``log μ ← log μ + η · (target − PSNR_batch)``: while the batch is below the target
    the MSE term's weight grows geometrically, above it it decays, so training settles *at* the target
    instead of wherever the pixel scale of the MSE puts it.  Multiplicative (log-space) updates keep
    ``μ`` positive and move it across the orders of magnitude that separate the MSE from the identity
    term.  The state is checkpointed with the run."""

    def __init__(self, target_psnr: float, lr: float = 0.05, log_min: float = -5.0, log_max: float = 16.0) -> None:
        self.target = float(target_psnr)
        self.lr = float(lr)
        self.log_min, self.log_max = log_min, log_max
        self.log_multiplier = 0.0

    @property
    def multiplier(self) -> float:
        return math.exp(self.log_multiplier)

    def update(self, batch_psnr: float) -> float:
        shortfall = self.target - min(float(batch_psnr), self.target + 20.0)
        self.log_multiplier = min(self.log_max, max(self.log_min, self.log_multiplier + self.lr * shortfall))
        return self.multiplier

    def state_dict(self) -> dict:
        return {"target": self.target, "log_multiplier": self.log_multiplier}

    def load_state_dict(self, state: dict) -> None:
        self.log_multiplier = float(state["log_multiplier"])


def mse_loss(clean: torch.Tensor, cloaked: torch.Tensor, pixel_scale: float = 1.0) -> torch.Tensor:
    """Eq. 8 as a mean over pixels and channels, on pixels multiplied by ``pixel_scale``."""
    return F.mse_loss(cloaked * pixel_scale, clean * pixel_scale)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 10: ``−E[log D(x)] − E[log(1 − D(x'))]``."""
    return F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
        F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def generator_adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 11: ``−E[log D(x')]``."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def identity_cosine(recognizer: nn.Module, clean_embedding: torch.Tensor, cloaked: torch.Tensor) -> torch.Tensor:
    """Eq. 12 for one recognizer: mean cosine between the clean and the cloaked embeddings."""
    return F.cosine_similarity(clean_embedding, recognizer(cloaked), dim=-1).mean()


class NullSwapObjective(nn.Module):
    """Computes every term of Eq. 13 and the DLW-weighted identity loss, returning them for logging."""

    def __init__(
        self,
        recognizers: Sequence[nn.Module],
        weighting: LossWeighting,
        config: LossConfig,
        perceptual: PerceptualDistance | None,
        transform: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if not recognizers:
            raise ValueError("NullSwap needs at least one face recognizer to train against")
        self.recognizers = nn.ModuleList(recognizers)
        self.weighting = weighting
        self.config = config
        self.perceptual = perceptual
        # The attacker's transformations (nullswap.augment), applied to x' inside the identity term only.
        self.transform = transform

    @property
    def recognizer_names(self) -> list[str]:
        return [getattr(r, "name", type(r).__name__) for r in self.recognizers]

    @torch.no_grad()
    def clean_embeddings(self, clean: torch.Tensor, keys: Sequence[Hashable] | None = None) -> list[torch.Tensor]:
        """Each recognizer's embeddings of the clean batch.

        With ``keys`` (one per image, naming its content, e.g. ``(face index, flipped)``) and the cache
        switched on (:meth:`enable_clean_cache`), an image's embeddings are computed once, alone, and reused
        whenever it comes back: on a small training set that is most of the batch from the second epoch
        on. Computed alone, they do not depend on which images shared the batch, so a resumed run (empty
        cache) sees the very numbers an uninterrupted one does."""
        if keys is None or self._clean_cache is None:
            return [recognizer(clean) for recognizer in self.recognizers]
        if len(keys) != len(clean):
            raise ValueError(f"{len(keys)} keys for {len(clean)} images")
        for index, key in enumerate(keys):
            if key not in self._clean_cache:
                image = clean[index : index + 1]
                self._clean_cache[key] = [recognizer(image)[0].detach() for recognizer in self.recognizers]
        return [torch.stack([self._clean_cache[key][r] for key in keys]) for r in range(len(self.recognizers))]

    def enable_clean_cache(self) -> None:
        """Reuse clean embeddings across steps (see :meth:`clean_embeddings`); for training sets small
        enough that every (face, flip) fits in memory."""
        self._clean_cache = {}

    _clean_cache: dict[Hashable, list[torch.Tensor]] | None = None

    def identity_terms(
        self, clean: torch.Tensor, cloaked: torch.Tensor, keys: Sequence[Hashable] | None = None
    ) -> list[torch.Tensor]:
        embeddings = self.clean_embeddings(clean, keys)
        seen = self.transform(cloaked) if self.transform is not None else cloaked
        return [identity_cosine(r, e, seen) for r, e in zip(self.recognizers, embeddings)]

    def forward(
        self,
        clean: torch.Tensor,
        cloaked: torch.Tensor,
        fake_logits: torch.Tensor,
        reduce_values: callable | None = None,
        mse_multiplier: float = 1.0,
        keys: Sequence[Hashable] | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Generator loss.  ``reduce_values`` maps the list of local identity-loss values to the values
        every process should see (an all-reduce under data parallelism); ``mse_multiplier`` is the
        fidelity constraint's Lagrange multiplier (1 without a target PSNR); ``keys`` name the clean
        images for the embedding cache (:meth:`clean_embeddings`)."""
        cfg = self.config
        id_terms = self.identity_terms(clean, cloaked, keys)
        observed = [t.detach().float().item() for t in id_terms]
        if reduce_values is not None:
            observed = reduce_values(observed)
        l_id, weights = self.weighting.combine(id_terms, observed)
        l_mse = mse_loss(clean, cloaked, cfg.pixel_scale)
        l_lpips = self.perceptual(clean, cloaked).mean() if self.perceptual is not None else cloaked.new_zeros(())
        l_adv = generator_adversarial_loss(fake_logits)
        total = (cfg.lambda_id * l_id + mse_multiplier * cfg.lambda_mse * l_mse
                 + cfg.lambda_lpips * l_lpips + cfg.lambda_adv * l_adv)
        logs = {
            "loss_total": total.item(),
            "loss_id": l_id.item(),
            "loss_mse": l_mse.item(),
            "loss_lpips": l_lpips.item(),
            "loss_adv": l_adv.item(),
            "mse_multiplier": float(mse_multiplier),
        }
        for name, value, weight in zip(self.recognizer_names, observed, weights):
            logs[f"id_cos/{name}"] = value
            logs[f"dlw_weight/{name}"] = weight
        return total, logs
