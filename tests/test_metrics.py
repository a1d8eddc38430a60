"""Visual-quality and swap-similarity metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nullswap.images import as_uint8
from nullswap.metrics.swap import swap_similarity_from_embeddings
from nullswap.metrics.visual import perceptual_column, psnr, ssim, visual_quality


def _images(value: int, size: int = 8) -> np.ndarray:
    return np.full((1, size, size, 3), value, dtype=np.uint8)


def test_psnr_matches_the_formula_on_uint8_images() -> None:
    clean = np.zeros((1, 4, 4, 3), np.uint8)
    protected = clean.copy()
    protected[0, 1, 2, 0] = 10  # one channel of one pixel off by 10
    mse = 100 / 48
    assert psnr(clean, protected)[0] == pytest.approx(10 * math.log10(255**2 / mse))


def test_float_images_are_rounded_to_uint8_before_measuring() -> None:
    clean = torch.full((1, 3, 8, 8), 100 / 255)
    below_half = torch.full((1, 3, 8, 8), 100.4 / 255)  # rounds back to 100: nothing survives saving
    above_half = torch.full((1, 3, 8, 8), 100.6 / 255)  # rounds to 101 everywhere: MSE = 1
    assert np.isinf(psnr(clean, below_half)[0])
    assert psnr(clean, above_half)[0] == pytest.approx(10 * math.log10(255**2))
    assert as_uint8(above_half).dtype == np.uint8 and as_uint8(above_half)[0, 0, 0, 0] == 101


def test_ssim_of_constant_images_is_the_luminance_term() -> None:
    # With zero variance the contrast-structure term is C2 / C2 = 1, leaving (2ab + C1) / (a² + b² + C1).
    a, b = 100.0, 110.0
    c1 = (0.01 * 255) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    assert ssim(_images(100), _images(110))[0] == pytest.approx(expected, rel=1e-9)
    assert ssim(_images(100), _images(100))[0] == pytest.approx(1.0)
    assert ssim(_images(100, 16), _images(110, 16), gaussian=True)[0] == pytest.approx(expected, rel=1e-9)


def test_psnr_mean_leaves_out_identical_images_and_counts_them() -> None:
    clean = np.concatenate([_images(100), _images(100)])
    protected = np.concatenate([_images(100), _images(101)])
    quality = visual_quality(clean, protected)
    assert quality.n_identical == 1
    assert quality.psnr_mean == pytest.approx(10 * math.log10(255**2))
    assert quality.summary()["perceptual"] is None and quality.summary()["perceptual_name"] is None
    assert any("identical" in note for note in quality.notes)


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="uint8"):
        psnr(np.zeros((1, 8, 8, 3), np.float32), np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        psnr(_images(1, 8), _images(1, 9))


@pytest.fixture(scope="module")
def real_faces() -> torch.Tensor:
    """Two real aligned faces of the offline sample set (built by ``make sample``)."""
    from nullswap.data.sample import load_sample

    try:
        faces = load_sample("test")
    except Exception as exc:  # the sample set needs a one-time registry download to build
        pytest.skip(f"offline sample set unavailable: {exc}")
    return faces.tensor([0, 1])


def test_the_offline_perceptual_metric_keeps_its_own_label(real_faces: torch.Tensor) -> None:
    from nullswap.perceptual import load_perceptual

    metric = load_perceptual("stlpips-alex")
    clean = real_faces
    noisy = (clean + 0.03 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    quality = visual_quality(clean, noisy, metric)
    assert quality.perceptual_name == "stlpips-alex"
    assert quality.perceptual_column == "ST-LPIPS"
    assert "LPIPS" in quality.perceptual_label and quality.perceptual_label != "LPIPS"
    summary = quality.summary()
    assert summary["perceptual_name"] == "stlpips-alex"
    assert summary["perceptual"] > 0 and np.all(quality.perceptual > 0)
    same = visual_quality(clean, clean, metric)
    assert np.allclose(same.perceptual, 0.0, atol=1e-6)
    assert perceptual_column("lpips-alex") == "LPIPS"


def test_swap_similarity_counts_failed_swaps_and_failed_embeddings() -> None:
    clean = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [3.0, 0.0]])
    protected = np.array([[0.6, 0.8], [0.0, 1.0], [np.nan, np.nan], [1.0, 0.0]])
    result = swap_similarity_from_embeddings(clean, protected, ok_protected=[True, True, True, False])
    np.testing.assert_allclose(result.similarity[:2], [0.6, 1.0])
    assert np.isnan(result.similarity[2:]).all()
    assert result.n_swap_failures == 1 and result.n_embedding_failures == 1
    assert result.mean == pytest.approx(0.8) and result.n_valid == 2
