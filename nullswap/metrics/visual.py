"""Visual-quality metrics (Table 1): PSNR, SSIM and a perceptual distance between clean and protected faces.

All three are measured on **uint8** images — the form a user saves and shares — so a perturbation that
does not survive rounding to 8 bits does not count.  Float tensors in [0, 1] are rounded exactly as
:func:`nullswap.images.to_uint8` (and therefore as every image file) rounds them.

* PSNR: :func:`nullswap.images.psnr` (10·log10(255²/MSE)), per image over all pixels
  and channels.  An image identical to its clean version has infinite PSNR; the mean is taken over the
  images with finite PSNR and the identical ones are counted (``n_identical``), so one untouched image
  cannot make a whole column infinite.
* SSIM: ``skimage.metrics.structural_similarity`` with ``channel_axis=-1, data_range=255`` and
  scikit-image's defaults otherwise: a **7×7 uniform window**, K1 = 0.01, K2 = 0.03, sample covariance,
  the mean SSIM map of each channel averaged over the three channels.  (Wang et al.'s original uses an
  11×11 Gaussian window with σ = 1.5; ``gaussian=True`` selects that variant, which reads slightly
  higher on smooth faces.  The paper does not say which one it used.)
* perceptual: a :class:`nullswap.perceptual.PerceptualDistance` — ``lpips-alex`` is the paper's LPIPS;
  ``stlpips-alex`` is the labelled offline stand-in and is never reported under the name "LPIPS".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from skimage.metrics import structural_similarity

from nullswap.images import as_uint8, psnr_per_image

#: Short column names for tables; the offline stand-in never appears as plain "LPIPS".
PERCEPTUAL_COLUMNS: dict[str, str] = {"lpips-alex": "LPIPS", "stlpips-alex": "ST-LPIPS"}
SSIM_WINDOW = "7x7 uniform window (scikit-image default), K1=0.01, K2=0.03, channel mean"
SSIM_WINDOW_GAUSSIAN = "11x11 Gaussian window, sigma=1.5 (Wang et al. 2004), K1=0.01, K2=0.03, channel mean"


def perceptual_column(name: str) -> str:
    """The table column for perceptual metric ``name`` (``LPIPS`` only for the paper's LPIPS)."""
    return PERCEPTUAL_COLUMNS.get(name, name)


def _pair(
    clean: np.ndarray | torch.Tensor, protected: np.ndarray | torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    a, b = as_uint8(clean), as_uint8(protected)
    if a.shape != b.shape:
        raise ValueError(f"clean and protected images differ in shape: {a.shape} vs {b.shape}")
    return a, b


def psnr(clean: np.ndarray | torch.Tensor, protected: np.ndarray | torch.Tensor) -> np.ndarray:
    """Per-image PSNR in dB (``inf`` where the uint8 images are identical)."""
    return psnr_per_image(*_pair(clean, protected))


def ssim(
    clean: np.ndarray | torch.Tensor, protected: np.ndarray | torch.Tensor, *, gaussian: bool = False
) -> np.ndarray:
    """Per-image SSIM on uint8 RGB (see the module docstring for the window)."""
    a, b = _pair(clean, protected)
    options: dict[str, object] = {"channel_axis": -1, "data_range": 255}
    if gaussian:
        options.update(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    return np.array([structural_similarity(a[i], b[i], **options) for i in range(len(a))], dtype=np.float64)


@torch.no_grad()
def perceptual_distance(
    clean: np.ndarray | torch.Tensor,
    protected: np.ndarray | torch.Tensor,
    metric: torch.nn.Module,
    *,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Per-image distance of a :class:`~nullswap.perceptual.PerceptualDistance` on the uint8 images."""
    a, b = _pair(clean, protected)
    # channels-last weights: the uint8 NHWC batches below already are, and oneDNN's convolutions then run a
    # third faster on the CPU (same distances to ~1e-10); only evaluation modules come here, never training's
    metric = metric.to(device, memory_format=torch.channels_last)
    out = []
    for start in range(0, len(a), batch_size):
        x = torch.from_numpy(a[start : start + batch_size]).permute(0, 3, 1, 2).float().div_(255).to(device)
        y = torch.from_numpy(b[start : start + batch_size]).permute(0, 3, 1, 2).float().div_(255).to(device)
        out.append(metric(x, y).float().cpu())
    return torch.cat(out).numpy().astype(np.float64) if out else np.zeros(0)


@dataclass
class VisualQuality:
    """Per-image values and their means; ``perceptual_name`` says which perceptual metric was used."""

    psnr: np.ndarray
    ssim: np.ndarray
    perceptual: np.ndarray | None = None
    perceptual_name: str | None = None
    perceptual_label: str | None = None
    ssim_window: str = SSIM_WINDOW
    notes: list[str] = field(default_factory=list)

    @property
    def n_identical(self) -> int:
        return int(np.isinf(self.psnr).sum())

    @property
    def psnr_mean(self) -> float | None:
        finite = self.psnr[np.isfinite(self.psnr)]
        return float(finite.mean()) if len(finite) else None

    @property
    def perceptual_column(self) -> str | None:
        return None if self.perceptual_name is None else perceptual_column(self.perceptual_name)

    def summary(self) -> dict[str, object]:
        """Means for a result file: ``psnr``, ``ssim``, ``perceptual`` plus the metric's name and label."""
        return {
            "psnr": self.psnr_mean,
            "ssim": float(self.ssim.mean()) if len(self.ssim) else None,
            "perceptual": None
            if self.perceptual is None or not len(self.perceptual)
            else float(self.perceptual.mean()),
            "perceptual_name": self.perceptual_name,
            "perceptual_label": self.perceptual_label,
        }


def visual_quality(
    clean: np.ndarray | torch.Tensor,
    protected: np.ndarray | torch.Tensor,
    perceptual: torch.nn.Module | None = None,
    *,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    gaussian_ssim: bool = False,
) -> VisualQuality:
    """PSNR, SSIM and (when ``perceptual`` is given) the perceptual distance of every image pair."""
    a, b = _pair(clean, protected)
    result = VisualQuality(
        psnr(a, b),
        ssim(a, b, gaussian=gaussian_ssim),
        ssim_window=SSIM_WINDOW_GAUSSIAN if gaussian_ssim else SSIM_WINDOW,
    )
    if perceptual is not None:
        result.perceptual = perceptual_distance(a, b, perceptual, batch_size=batch_size, device=device)
        result.perceptual_name = getattr(perceptual, "name", type(perceptual).__name__)
        result.perceptual_label = getattr(perceptual, "label", result.perceptual_name)
    if result.n_identical:
        result.notes.append(
            f"{result.n_identical} of {len(a)} protected images are identical to the clean "
            "ones after uint8 rounding (infinite PSNR, left out of the PSNR mean)"
        )
    return result
