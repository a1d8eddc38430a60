"""Dynamic Loss Weighting (Eqs. 2–7) and the ablation strategies ``mean`` and ``single``.

DLW balances the identity losses of several face recognizers without extra parameters or gradient
surgery: it looks only at the *detached* loss values.

* Eq. 6 — ``σ_i²``: population variance of ``L_i`` over the last ``k`` iterations (current one included);
  0 until two values exist.
* Eq. 7 — ``Δ_i = (L_i(t−1) − L_i(t)) / (|L_i(t−1)| + ε)``: relative progress, > 0 when the loss fell.
  The paper's form divides by ``L_i(t−1) + ε``; identity losses are cosines that can cross zero, where
  the signed denominator flips the meaning of progress, so the absolute value is the default
  (``progress_denominator="signed"`` restores the literal form; both agree while losses stay positive).
  Δ is clamped from below at ``delta_floor = −1``: a loss that rises cannot lose more than all of its
  progress.  Without the floor a loss that more than doubles drives Eq. 4's denominator to zero or
  below, and the ε guard then hands that one recognizer all the weight (the others collapse to ~1e-6).
  Large *improvements* stay unclamped.
* Eq. 5 — ``β(t_e) = min(β_init + γ · t_e, β*)``.
* Eq. 4 — ``w_i = 1 / (α · σ_i² + β(t_e) · (1 + Δ_i))``: noisy losses get less weight, slow ones more.
  This is the default, as the paper writes it; the denominator is only kept from zero by ``ε``
  (with Δ ≥ −1 it is positive anyway once a loss has two different values).  ``denominator_floor =
  d_min`` is an opt-in departure: ``w_i = 1 / max(…, d_min)`` bounds every raw weight by ``1 / d_min``,
  so a loss that just doubled from near zero (tiny variance, Δ = −1) cannot take almost all the weight.
* Eq. 3 — ``ŵ_i = c · w_i / Σ_j w_j`` (``normalise_to="count"``) or ``w_i / Σ_j w_j`` (``"one"``).
* Eq. 2 — ``L_id = Σ_i ŵ_i · L_i``.

``mean`` uses uniform weights under the same normalisation (so only the weighting differs from DLW);
``single`` puts all weight on one recognizer (the paper's sessions 1 and 2).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import torch

Strategy = Literal["dlw", "mean", "single"]


@dataclass(frozen=True)
class DLWConfig:
    strategy: Strategy = "dlw"
    alpha: float = 3.0                 # constant regularisation factor of Eq. 4
    beta_init: float = 0.5             # Eq. 5
    beta_max: float = 2.0              # β*
    gamma: float = 0.1                 # β growth per epoch
    window: int = 30                   # k of Eq. 6
    eps: float = 1e-6                  # ε of Eq. 7
    denominator_floor: float | None = None  # opt-in d_min: lower bound of Eq. 4's denominator (None/0: ε only)
    normalise_to: Literal["count", "one"] = "count"
    progress_denominator: Literal["abs", "signed"] = "abs"
    delta_floor: float | None = -1.0   # lower clamp of Δ (None: Eq. 7 as written, which can collapse DLW)
    delta_clip: float | None = None    # optional symmetric |Δ| bound, applied after the floor
    single_index: int = 0              # which loss ``single`` keeps

    @classmethod
    def from_dict(cls, values: dict) -> DLWConfig:
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


class LossWeighting:
    """Stateful weighting of ``num_losses`` identity losses; call :meth:`step` once per iteration."""

    def __init__(self, num_losses: int, config: DLWConfig | None = None) -> None:
        if num_losses < 1:
            raise ValueError("at least one identity loss is needed")
        self.config = config or DLWConfig()
        if self.config.strategy == "single" and not 0 <= self.config.single_index < num_losses:
            raise ValueError(f"single_index {self.config.single_index} out of range for {num_losses} losses")
        self.num_losses = num_losses
        self.history: list[deque[float]] = [deque(maxlen=self.config.window) for _ in range(num_losses)]
        self.previous: list[float | None] = [None] * num_losses
        self.epoch = 0
        self.last_weights: list[float] = self._uniform()
        self.last_variance: list[float] = [0.0] * num_losses
        self.last_progress: list[float] = [0.0] * num_losses
        #: Eq. 4's denominators of the last ``dlw`` step, before any floor (what a floor would compare)
        self.last_denominator: list[float] = []

    # --- the terms of Eqs. 4–7 -------------------------------------------------------------------
    def beta(self, epoch: int | None = None) -> float:
        """Eq. 5."""
        t_e = self.epoch if epoch is None else epoch
        return min(self.config.beta_init + self.config.gamma * t_e, self.config.beta_max)

    @staticmethod
    def variance(values: Sequence[float]) -> float:
        """Eq. 6: population variance; 0 with fewer than two values."""
        if len(values) < 2:
            return 0.0
        mean = sum(values) / len(values)
        return sum((v - mean) ** 2 for v in values) / len(values)

    def progress(self, previous: float | None, current: float) -> float:
        """Eq. 7."""
        if previous is None:
            return 0.0
        denominator = abs(previous) if self.config.progress_denominator == "abs" else previous
        delta = (previous - current) / (denominator + self.config.eps)
        if self.config.delta_floor is not None:
            delta = max(self.config.delta_floor, delta)
        if self.config.delta_clip is not None:
            delta = max(-self.config.delta_clip, min(self.config.delta_clip, delta))
        return delta

    def denominator(self, variance: float, progress: float) -> float:
        """Eq. 4's denominator ``α · σ² + β(t_e) · (1 + Δ)``, unguarded."""
        return self.config.alpha * variance + self.beta() * (1.0 + progress)

    def raw_weight(self, denominator: float) -> float:
        """Eq. 4: ``1 / denominator``, the denominator kept ≥ ``denominator_floor`` when one is set, else
        only away from zero by ``ε``."""
        return 1.0 / max(denominator, self.config.denominator_floor or self.config.eps)

    def _uniform(self) -> list[float]:
        scale = float(self.num_losses) if self.config.normalise_to == "count" else 1.0
        return [scale / self.num_losses] * self.num_losses

    def _normalise(self, raw: list[float]) -> list[float]:
        """Eq. 3."""
        total = sum(raw)
        scale = float(self.num_losses) if self.config.normalise_to == "count" else 1.0
        return [scale * w / total for w in raw]

    # --- one iteration -----------------------------------------------------------------------------
    def step(self, losses: Sequence[float]) -> list[float]:
        """Record this iteration's detached loss values and return the weights ``ŵ_i`` to apply now."""
        if len(losses) != self.num_losses:
            raise ValueError(f"expected {self.num_losses} losses, got {len(losses)}")
        values = [float(v) for v in losses]
        for history, value in zip(self.history, values):
            history.append(value)
        variances = [self.variance(h) for h in self.history]
        progress = [self.progress(p, v) for p, v in zip(self.previous, values)]
        self.previous = values
        self.last_variance, self.last_progress = variances, progress

        strategy = self.config.strategy
        if strategy == "mean":
            weights = self._uniform()
        elif strategy == "single":
            weights = [0.0] * self.num_losses
            weights[self.config.single_index] = 1.0
        elif strategy == "dlw":
            self.last_denominator = [self.denominator(s, d) for s, d in zip(variances, progress)]
            weights = self._normalise([self.raw_weight(d) for d in self.last_denominator])
        else:
            raise ValueError(f"unknown weighting strategy '{strategy}'")
        self.last_weights = weights
        return weights

    def combine(
        self, losses: Sequence[torch.Tensor], observed: Sequence[float] | None = None
    ) -> tuple[torch.Tensor, list[float]]:
        """Eq. 2: weight the (differentiable) losses by this iteration's ``ŵ``.

        ``observed`` replaces the local detached values (data-parallel training passes the values
        averaged over all processes, so every process applies identical weights)."""
        if observed is None:
            observed = [loss.detach().float().item() for loss in losses]
        weights = self.step(observed)
        total = sum(w * loss for w, loss in zip(weights, losses))
        return total, weights

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    # --- checkpointing -----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "config": asdict(self.config),
            "history": [list(h) for h in self.history],
            "previous": list(self.previous),
            "epoch": self.epoch,
            "last_weights": list(self.last_weights),
        }

    def load_state_dict(self, state: dict) -> None:
        if len(state["history"]) != self.num_losses:
            raise ValueError("checkpoint DLW state was saved for a different number of recognizers")
        self.history = [deque(h, maxlen=self.config.window) for h in state["history"]]
        self.previous = list(state["previous"])
        self.epoch = int(state["epoch"])
        self.last_weights = list(state["last_weights"])
