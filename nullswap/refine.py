"""Per-photo refinement of a cloak: K steps of projected optimisation beyond the generator's one pass.

The generator's forward pass is fast but, on faces it was not trained on, weak.  Refinement starts from
its output (never from the clean image: at δ = 0 the gradient of the cosine to the clean embedding is
exactly zero) and takes ``steps`` steps that lower the identity cosine of the training recognizers,

* **in expectation over what an attacker does** to a photo before a recognizer sees it — the face is
  re-detected and re-aligned (a small random similarity warp), resized, JPEG-compressed
  (:mod:`nullswap.augment`); each step draws ``samples`` such transformations per face;
* **under a fidelity budget that is enforced**, not hoped for: after every step the change is projected
  onto the L2 ball of the target PSNR, and shrunk radially until the SSIM target holds as well; the
  result is rounded to the 8-bit grid and checked again with the exact metrics (:mod:`nullswap.images`,
  scikit-image's SSIM) — a face that cannot meet both is shrunk until it does;
* **where SSIM can afford it**: the SSIM budget is met by projecting onto its linearisation (Newton
  steps along ∇SSIM, in closed form), which takes out what SSIM objects to — fine grain on smooth skin —
  and keeps the change in textured regions (hair, eyebrows, edges), instead of shrinking all of it;
* **with the effort where it is still needed**: each recognizer contributes a hinge, its cosine above
  a target under its own same-person threshold; a recognizer already below its target (SFace
  saturates long before dlib) stops taking steps away from the others.

Randomness (the attacker's transformations, a start for a generator that changed nothing) comes from a
generator seeded per call, so the same faces and seed give the same result; torch's global RNG is left
alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from nullswap.augment import RobustConfig, round_trips, similarity_warp
from nullswap.images import PEAK

#: scikit-image's SSIM constants on [0, 1] images (K1 = 0.01, K2 = 0.03, data range 1)
_C1, _C2 = 0.01**2, 0.03**2
#: the SSIM window of the project's metric (:mod:`nullswap.metrics.visual`): 7×7 uniform
_WINDOW = 7
#: ``nullswap protect --refine`` without a number
DEFAULT_STEPS = 20
#: what refinement optimises against when the generator does not say what it was trained on
TRAINING_RECOGNIZERS = ("dlib", "sface")


def default_attacker() -> RobustConfig:
    """What the attacker's pipeline is assumed to do to a face (the EOT distribution of refinement).

    Re-detection by another detector moves the aligned crop by a few per cent (measured between MTCNN's
    crop and dlib's re-alignment of the same face); resizing and JPEG are what an upload or a screenshot
    does.  Blur is left out: it is not a step of a face swapper's pipeline."""
    return RobustConfig(enabled=True, p=1.0, rotate_deg=3.0, scale=0.05, translate=0.03, resize_p=0.3,
                        resize_min=0.6, blur_p=0.0, jpeg_p=0.3, jpeg_quality=(80, 95))


@dataclass(frozen=True)
class RefineConfig:
    """Settings of :func:`refine` (the defaults are the ``nullswap protect --refine`` defaults)."""

    steps: int = 20
    psnr: float = 41.3                    # dB after uint8 rounding: the L2 budget
    ssim: float | None = 0.986            # lowest SSIM after rounding (None: no SSIM budget)
    samples: int = 1                      # attacker transformations per face and step (EOT)
    step_size: float = 0.25               # first step, as a fraction of the budget's L2 radius
    final_step_size: float = 0.02         # last step (cosine decay in between)
    margin: float = 0.1                   # hinge target: threshold − margin × (1 + threshold)
    balance: bool = True                  # each recognizer's gradient normalised before they are added
    attacker: RobustConfig = field(default_factory=default_attacker)

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError("steps must be ≥ 0")
        if not 20.0 <= float(self.psnr) <= 80.0:
            raise ValueError(f"psnr {self.psnr} dB is outside the meaningful range 20–80 dB")
        if self.ssim is not None and not 0.0 < float(self.ssim) < 1.0:
            raise ValueError(f"ssim must be in (0, 1), got {self.ssim}")
        if self.samples < 1:
            raise ValueError("samples must be ≥ 1")

    def describe(self) -> dict[str, object]:
        values = asdict(self)
        values["attacker"] = self.attacker.to_dict()
        return values


@dataclass
class RefineStats:
    """Per face: the realised budget and the cosines refinement ended with (its own EOT estimate)."""

    psnr: list[float]
    ssim: list[float]
    cosine: dict[str, list[float]]
    steps: int

    def rows(self) -> list[dict[str, float]]:
        return [{"refine_psnr": p, "refine_ssim": s, **{f"refine_cos/{k}": v[i] for k, v in self.cosine.items()}}
                for i, (p, s) in enumerate(zip(self.psnr, self.ssim))]


# --------------------------------------------------------------------------------------------------
# Budgets
# --------------------------------------------------------------------------------------------------
def l2_radius(psnr: float, shape: Sequence[int]) -> float:
    """The L2 norm (values in [0, 1]) of a change of ``shape`` whose PSNR is exactly ``psnr``."""
    mse = (PEAK / 10.0 ** (psnr / 20.0)) ** 2 / PEAK**2
    return math.sqrt(mse * math.prod(shape))


def _box_sum(images: torch.Tensor) -> torch.Tensor:
    """Sum over every 7×7 window that fits (the 'valid' region, as scikit-image crops its SSIM map):
    two strided views and sums, several times faster on a CPU than ``avg_pool2d``."""
    return images.unfold(-2, _WINDOW, 1).sum(-1).unfold(-1, _WINDOW, 1).sum(-1)


def _box(images: torch.Tensor) -> torch.Tensor:
    """7×7 mean over each channel, 'valid' region only."""
    return _box_sum(images) / (_WINDOW * _WINDOW)


def _box_adjoint(maps: torch.Tensor) -> torch.Tensor:
    """The adjoint of :func:`_box_sum`: each pixel gets the sum of the values of the windows holding it."""
    pad = _WINDOW - 1
    return _box_sum(F.pad(maps, (pad, pad, pad, pad)))


class SSIM:
    """Per-image SSIM against fixed clean images, as :func:`nullswap.metrics.visual.ssim` computes it
    (7×7 uniform window, sample covariance, mean over the map's valid region and the channels), on float
    images in [0, 1], with its gradient in closed form (window sums only: a refinement step needs it
    several times, and autograd through the window statistics costs as much as a recognizer).  The clean
    images' window statistics are computed once."""

    def __init__(self, clean: torch.Tensor) -> None:
        self.clean = clean
        self.mean = _box(clean)
        self.square = _box(clean * clean)

    def _parts(self, other: torch.Tensor, index: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        clean, mx, xx = (self.clean, self.mean, self.square) if index is None else \
            (self.clean[index], self.mean[index], self.square[index])
        factor = _WINDOW * _WINDOW / (_WINDOW * _WINDOW - 1)
        my = _box(other)
        vx = (xx - mx * mx) * factor
        vy = (_box(other * other) - my * my) * factor
        vxy = (_box(clean * other) - mx * my) * factor
        a1, a2 = 2 * mx * my + _C1, 2 * vxy + _C2
        b1, b2 = mx * mx + my * my + _C1, vx + vy + _C2
        return clean, mx, my, a1, a2, b1, b2, factor

    def __call__(self, other: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        *_, a1, a2, b1, b2, _ = self._parts(other, index)
        return ((a1 * a2) / (b1 * b2)).mean(dim=(1, 2, 3))

    def value_and_gradient(self, other: torch.Tensor, index: torch.Tensor | None = None
                           ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-image SSIM and its gradient with respect to ``other``."""
        clean, mx, my, a1, a2, b1, b2, factor = self._parts(other, index)
        s = (a1 * a2) / (b1 * b2)
        n = _WINDOW * _WINDOW
        d_mean = s * (2 * mx / a1 - 2 * my / b1)
        d_var = -s / b2
        d_cov = 2 * s / a2
        constant = _box_adjoint(d_mean - 2 * factor * d_var * my - factor * d_cov * mx)
        gradient = constant + other * _box_adjoint(2 * factor * d_var) + clean * _box_adjoint(factor * d_cov)
        count = s[0].numel()
        return s.mean(dim=(1, 2, 3)), gradient / (n * count)


def ssim_torch(clean: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM of ``other`` against ``clean`` (see :class:`SSIM`)."""
    return SSIM(clean)(other)


def _norms(delta: torch.Tensor) -> torch.Tensor:
    return delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1)


def project(clean: torch.Tensor, delta: torch.Tensor, radius: float, ssim: SSIM | None, floor: float | None,
            newton: int = 3, exact: bool = True) -> torch.Tensor:
    """The change brought onto the budget: L2 norm ≤ ``radius``, ``clean + δ`` in [0, 1], SSIM ≥ ``floor``.

    The SSIM constraint is met by Euclidean projections onto its linearisation (Newton steps along
    ∇SSIM: they take out the part of the change SSIM objects to — fine grain on smooth skin — and keep
    the rest); with ``exact``, a face still short after ``newton`` of them is shrunk radially to the
    largest scale that meets it (bisection), so the budget holds.  Between steps of refinement one Newton
    step and no bisection keep the iterate close to the budget at a fraction of the cost; the last
    projection is exact."""
    delta = delta * torch.clamp(radius / (_norms(delta) + 1e-12), max=1.0)
    delta = (clean + delta).clamp(0.0, 1.0) - clean
    if ssim is None or floor is None:
        return delta
    index = torch.arange(len(clean))
    for _ in range(newton):
        value, gradient = ssim.value_and_gradient(clean[index] + delta[index], index)
        short = value < floor
        if not bool(short.any()):
            return delta
        index, gradient, value = index[short], gradient[short], value.detach()[short]
        # the smallest step meeting the linearised constraint, 20 % longer for the curvature
        need = (floor - value) * 1.2
        step = gradient * (need / (gradient.flatten(1).pow(2).sum(dim=1) + 1e-12)).view(-1, 1, 1, 1)
        delta[index] = (clean[index] + delta[index] + step).clamp(0.0, 1.0) - clean[index]
    if not exact:
        return delta
    with torch.no_grad():
        short = ssim(clean[index] + delta[index], index) < floor
    if not bool(short.any()):
        return delta
    index = index[short]
    c, d = clean[index], delta[index]
    low, high = torch.zeros(len(index)), torch.ones(len(index))
    with torch.no_grad():
        for _ in range(8):
            mid = (low + high) / 2
            ok = ssim(c + d * mid.view(-1, 1, 1, 1), index) >= floor
            low = torch.where(ok, mid, low)
            high = torch.where(ok, high, mid)
    delta[index] = d * low.view(-1, 1, 1, 1).to(d)
    return delta


def quantize_within(clean: torch.Tensor, protected: torch.Tensor, psnr: float, ssim_floor: float | None,
                    shrink: float = 0.985, tries: int = 200) -> torch.Tensor:
    """``protected`` on the uint8 grid with the budget checked by the exact metrics after rounding
    (the PSNR of :mod:`nullswap.images`, scikit-image's SSIM); a face over budget is shrunk towards
    ``clean`` until it holds.  ``clean`` must itself lie on the grid (it is what was read from a file)."""
    from nullswap.images import psnr_per_image, to_uint8
    from nullswap.metrics.visual import ssim as exact_ssim

    clean_u8 = to_uint8(clean)
    out = protected.clone()
    for i in range(len(clean)):
        delta = protected[i : i + 1] - clean[i : i + 1]
        scale = 1.0
        for _ in range(tries):
            candidate = torch.round((clean[i : i + 1] + delta * scale).clamp(0.0, 1.0) * PEAK) / PEAK
            mine = to_uint8(candidate)
            fine = psnr_per_image(clean_u8[i : i + 1], mine)[0] >= psnr
            if fine and ssim_floor is not None:
                fine = exact_ssim(clean_u8[i : i + 1], mine)[0] >= ssim_floor
            if fine:
                out[i] = candidate[0]
                break
            scale *= shrink
        else:
            out[i] = clean[i]
    return out


# --------------------------------------------------------------------------------------------------
# The attacker's transformations (EOT)
# --------------------------------------------------------------------------------------------------
def attacker_views(images: torch.Tensor, config: RobustConfig, generator: torch.Generator) -> torch.Tensor:
    """One random attacker transformation per image (see :func:`default_attacker`), drawn from
    ``generator``; differentiable except JPEG, which passes the gradient straight through."""
    n = len(images)

    def uniform(low: float, high: float, size: int = n) -> torch.Tensor:
        return torch.rand(size, generator=generator) * (high - low) + low

    angle = uniform(-config.rotate_deg, config.rotate_deg)
    scale = uniform(1 - config.scale, 1 + config.scale)
    shift = torch.stack([uniform(-config.translate, config.translate) for _ in range(2)], dim=1)
    out = similarity_warp(images, angle.to(images), scale.to(images), shift.to(images))
    resize = torch.rand(n, generator=generator) < config.resize_p
    factors = uniform(config.resize_min, 1.0)
    jpeg = torch.rand(n, generator=generator) < config.jpeg_p
    low, high = config.jpeg_quality
    qualities = torch.randint(low, high + 1, (n,), generator=generator)
    return round_trips(out, resize, factors, jpeg, qualities)


# --------------------------------------------------------------------------------------------------
# Refinement
# --------------------------------------------------------------------------------------------------
def hinge_targets(recognizers: Sequence[torch.nn.Module], margin: float) -> list[float]:
    """Per recognizer the cosine refinement aims below: its threshold minus ``margin`` × (1 + threshold)
    (a recognizer without a threshold is pushed all the way, target −1)."""
    targets = []
    for model in recognizers:
        threshold = getattr(model, "threshold", None)
        targets.append(-1.0 if threshold is None else float(threshold) - margin * (1.0 + float(threshold)))
    return targets


def refine(clean: torch.Tensor, start: torch.Tensor, recognizers: Sequence[torch.nn.Module],
           config: RefineConfig | None = None, seed: int = 0) -> tuple[torch.Tensor, RefineStats]:
    """Refine the cloak ``start`` of the canonical crops ``clean`` (both (B, 3, 256, 256) in [0, 1]).

    Returns the refined crops — on the uint8 grid, within the PSNR and SSIM budget of ``config`` — and
    per-face statistics.  ``start`` equal to ``clean`` (no generator) starts from small random noise."""
    config = config or RefineConfig()
    clean = clean.detach().float()
    generator = torch.Generator().manual_seed(int(seed))
    radius = l2_radius(config.psnr, clean.shape[1:])
    # The bisection works on float images; rounding adds ~1/12 grey level² of error, so the float budget
    # keeps a little headroom and the exact check after rounding has (almost) nothing left to shrink.
    float_radius = radius * 0.97
    float_ssim = None if config.ssim is None else min(0.9999, config.ssim + 0.0005)
    delta = start.detach().float() - clean
    still = _norms(delta).flatten() < 1e-6
    if bool(still.any()):
        noise = torch.randn(clean[still].shape, generator=generator) * (1.0 / PEAK)
        delta[still] = noise
    ssim = None if float_ssim is None else SSIM(clean)
    delta = project(clean, delta, float_radius, ssim, float_ssim)
    with torch.no_grad():
        references = [model(clean) for model in recognizers]
    targets = hinge_targets(recognizers, config.margin)
    last: list[torch.Tensor] = [torch.ones(len(clean)) for _ in recognizers]
    for k in range(config.steps):
        fraction = k / max(1, config.steps - 1)
        size = config.final_step_size + 0.5 * (config.step_size - config.final_step_size) * (1 + math.cos(math.pi * fraction))
        delta = delta.detach().requires_grad_(True)
        protected = (clean + delta).clamp(0.0, 1.0)
        batch = protected.repeat(config.samples, 1, 1, 1)
        views = attacker_views(batch, config.attacker, generator)
        recheck = k % 5 == 0
        gradient = torch.zeros_like(delta)
        for index, (model, reference, target) in enumerate(zip(recognizers, references, targets)):
            # A recognizer every face is already under its target for is skipped, and looked at again
            # (forward only, unless a face has drifted back above) every 5 steps. The whole batch goes
            # through the network while any face needs it.
            if not recheck and not bool((last[index] > target).any()):
                continue
            cosine = F.cosine_similarity(model(views), reference.repeat(config.samples, 1), dim=-1)
            cosine = cosine.view(config.samples, -1).mean(dim=0)
            last[index] = cosine.detach()
            active = last[index] > target
            if not bool(active.any()):
                continue
            loss = (torch.relu(cosine - target) * active).sum()
            (part,) = torch.autograd.grad(loss, delta, retain_graph=True)
            if config.balance:
                part = part / (_norms(part) + 1e-12)
            gradient = gradient + part
        delta = delta.detach()
        if not bool(gradient.abs().sum() > 0):
            break
        with torch.no_grad():
            direction = gradient / (_norms(gradient) + 1e-12)
            delta = project(clean, delta - size * radius * direction, float_radius, ssim, float_ssim, 1, False)
    delta = project(clean, delta, float_radius, ssim, float_ssim)
    protected = quantize_within(clean, (clean + delta.detach()).clamp(0.0, 1.0), config.psnr, config.ssim)
    from nullswap.images import psnr_per_image, to_uint8
    from nullswap.metrics.visual import ssim as exact_ssim

    a, b = to_uint8(clean), to_uint8(protected)
    with torch.no_grad():
        final = {getattr(m, "name", str(i)): F.cosine_similarity(m(protected), r, dim=-1).tolist()
                 for i, (m, r) in enumerate(zip(recognizers, references))}
    stats = RefineStats([float(v) for v in psnr_per_image(a, b)], [float(v) for v in exact_ssim(a, b)], final,
                        config.steps)
    return protected, stats


class Refiner:
    """Refinement ready to run: the recognizers loaded once, the settings fixed; ``last`` holds the
    per-face statistics of the last call (realised PSNR and SSIM, final cosines)."""

    def __init__(self, config: RefineConfig | None = None, recognizers: Sequence[str] | None = None,
                 device: str = "cpu") -> None:
        import nullswap.recognizers

        self.config = config or RefineConfig()
        names = list(recognizers or TRAINING_RECOGNIZERS)
        models = [nullswap.recognizers.load(name, device=device) for name in names]
        blind = [m.name for m in models if not m.differentiable]
        if blind:
            raise ValueError(f"refinement needs gradients; recognizers {', '.join(blind)} are black-box")
        self.models = models
        self.names = names
        self.device = device
        self.last: list[dict[str, float]] = []

    def __call__(self, clean: torch.Tensor, start: torch.Tensor, seed: int | None = 0) -> torch.Tensor:
        refined, stats = refine(clean.to(self.device), start.to(self.device), self.models, self.config,
                                seed=int(seed or 0))
        self.last = [{k: round(float(v), 4) for k, v in row.items()} for row in stats.rows()]
        return refined.to(clean.device)

    def describe(self) -> dict[str, object]:
        return {"recognizers": self.names, **self.config.describe()}
