"""``cmua``: CMUA-Watermark (AAAI'22), a universal adversarial perturbation added to every face.

CMUA publishes one tensor, ``perturbation.pt``: a 3×256×256 pattern in StarGAN's [-1, 1] pixel units,
bounded by ε = 0.05 there (≈ 6.4/255 in [0, 1] units), trained against four attribute editors on CelebA
crops resized to 256.  Protecting is one addition, so this adapter runs in-process; it needs no upstream
code, only the file.

Where the fixed 256 frame applies: directly on our canonical 256 crop, pixel for pixel.  CMUA itself
was trained and evaluated on the CelebA aligned test split (``setting.json``: ``img_align_celeba``,
``data.py``: ``images[182637:]``, ``CenterCrop(170)`` then ``Resize(256)``), i.e. the central 170 px of
the 178×218 aligned image.  Our canonical frame is the FFHQ/CelebA-HQ framing (CelebA-HQ, the NullSwap
paper's evaluation set, enters it by a plain resize); it differs from CMUA's crop by a few percent in
scale and ~10 px in eye height, small against the pattern's scale of structure, so the pattern is
placed pixel for pixel on our crop.  Crops of another size get the pattern resized bilinearly.

The file is distributed on Baidu only, so the user provides it (default
``$NULLSWAP_HOME/weights/cmua/perturbation.pt``); it is loaded with ``weights_only=True``.  The budget
actually present in the file is recorded (L∞ in [0, 1] units); a file beyond CMUA's ε = 0.05 is refused
(it is not the published perturbation).  The method promises a change of at most 0.05 in [-1, 1] units
(+ half a uint8 step of rounding) on every image; an image whose realised change breaks it fails with
the numbers, and the realised distortion on each image is measured after uint8 rounding.  A stand-in
file (:mod:`nullswap.standin`, e.g. a rehearsal's random tensor) is named in the provenance, so results
made with it are rehearsals.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from baselines import register_protector
from baselines.base import Protector
from nullswap import standin, weights
from nullswap.assets import human_size, sha256_of
from nullswap.images import quantize
from nullswap.weights import MissingWeightsError

#: the budget CMUA was trained with, in its [-1, 1] units
TRAINED_EPS = 0.05
WEIGHT_NAME = "cmua_perturbation"


def default_perturbation_path() -> Path:
    return weights.MANIFEST[WEIGHT_NAME].cache_path


def missing_perturbation_message(path: Path) -> str:
    message = weights.missing_message(weights.MANIFEST[WEIGHT_NAME])
    if path != default_perturbation_path():
        state = "present but unreadable" if path.exists() else "absent"
        message += f"\n  configured path: {path}  ({state})"
    return message


def load_perturbation(path: str | Path) -> torch.Tensor:
    """Read the universal perturbation as a (3, H, W) float tensor in CMUA's [-1, 1] units."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingWeightsError(missing_perturbation_message(path))
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a pickle with code in it, or not a torch file at all
        raise MissingWeightsError(f"{missing_perturbation_message(path)}\n  load error: {exc}") from exc
    if isinstance(obj, dict) and len(obj) == 1:
        obj = next(iter(obj.values()))
    if not isinstance(obj, torch.Tensor):
        raise ValueError(f"{path}: expected one tensor, found {type(obj).__name__}")
    tensor = obj.detach().float()
    if tensor.ndim == 4 and tensor.shape[0] == 1:
        tensor = tensor[0]
    if tensor.ndim != 3 or tensor.shape[0] != 3:
        raise ValueError(f"{path}: expected a 3×H×W perturbation, found shape {tuple(obj.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{path}: the perturbation contains NaN or infinite values")
    linf = float(tensor.abs().max())
    if linf > TRAINED_EPS + 1e-6:
        raise ValueError(
            f"{path}: the perturbation reaches {linf:.4f} in [-1, 1] units, beyond CMUA's ε = {TRAINED_EPS} "
            "(the published perturbation.pt stays within it); is this the right file?"
        )
    return tensor


@register_protector("cmua")
class CMUA(Protector):
    name = "cmua"
    # trained with full gradient access to the four editors it targets (the paper's Table 2 label)
    threat_model = "white-box"
    kind = "universal"

    def __init__(
        self, perturbation_path: str | Path | None = None, quantize: bool = True, record_stats: bool = True
    ) -> None:
        self.perturbation_path = (
            Path(perturbation_path).expanduser() if perturbation_path else default_perturbation_path()
        )
        self.perturbation = load_perturbation(self.perturbation_path)
        self.quantize = bool(quantize)
        self.record_stats = bool(record_stats)
        #: the budget present in the file, in [0, 1] units (the [-1, 1] range is twice as wide)
        self.linf = float(self.perturbation.abs().max()) / 2.0

    def pattern_for(self, images: torch.Tensor) -> torch.Tensor:
        """The perturbation in [0, 1] units at the crops' resolution, on their device."""
        delta = self.perturbation[None] / 2.0
        if delta.shape[-2:] != images.shape[-2:]:
            delta = F.interpolate(delta, size=images.shape[-2:], mode="bilinear", align_corners=False)
        return delta.to(device=images.device, dtype=images.dtype)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        protected = (images + self.pattern_for(images)).clamp(0.0, 1.0)
        return quantize(protected) if self.quantize else protected

    def promised_linf(self) -> float:
        """ε = 0.05 in [-1, 1] units is 0.025 in [0, 1]; rounding to the uint8 grid adds up to half a step."""
        return TRAINED_EPS / 2.0 + (0.5 / 255.0 if self.quantize else 0.0)

    def describe(self) -> dict[str, object]:
        size = self.perturbation_path.stat().st_size if self.perturbation_path.is_file() else None
        return {
            **super().describe(),
            "perturbation_path": str(self.perturbation_path),
            "perturbation_size": human_size(size),
            "perturbation_sha256": sha256_of(self.perturbation_path) if size is not None else None,
            "perturbation_shape": list(self.perturbation.shape),
            "linf_01": self.linf,
            "linf_255": self.linf * 255.0,
            "trained_eps_pm1": TRAINED_EPS,
            "placement": "canonical 256 crop, pixel for pixel",
            **({"standin_weights": [standin.record(self.perturbation_path)]}
               if standin.read(self.perturbation_path) is not None else {}),
        }
