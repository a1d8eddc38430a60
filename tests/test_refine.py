"""Per-face refinement (`nullswap protect --refine`, protector `nullswap-refine`): real faces, real dlib
and SFace, a budget that holds after rounding, and a cosine that goes down."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

import baselines
import nullswap.recognizers as recognizers
from baselines._config import CONF_DIR, declared_defaults
from nullswap.images import from_uint8, psnr_per_image, to_uint8
from nullswap.metrics.visual import ssim as exact_ssim
from nullswap.refine import SSIM, RefineConfig, Refiner, project, refine


@pytest.fixture(scope="module")
def faces(canonical_faces) -> torch.Tensor:
    """Two real faces on the uint8 grid (as read from a file)."""
    return from_uint8(to_uint8(torch.stack([canonical_faces["obama"], canonical_faces["biden"]])))


@pytest.fixture(scope="module")
def models():
    return [recognizers.load("dlib", device="cpu"), recognizers.load("sface", device="cpu")]


def cosines(models, clean: torch.Tensor, other: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return np.array([torch.nn.functional.cosine_similarity(m(clean), m(other)).numpy() for m in models])


def test_the_closed_form_ssim_gradient_matches_autograd_and_the_value_matches_scikit_image(faces):
    clean = faces.double()
    other = from_uint8(to_uint8(clean + torch.randn(clean.shape, generator=torch.Generator().manual_seed(0)) * 0.01)).double()
    value, gradient = SSIM(clean).value_and_gradient(other)
    assert np.allclose(value.numpy(), exact_ssim(clean, other), atol=1e-6)
    moved = other.clone().requires_grad_(True)
    SSIM(clean)(moved).sum().backward()
    assert torch.allclose(moved.grad, gradient, atol=1e-12)


def test_projection_meets_both_budgets_and_leaves_a_change_inside_them_alone(faces):
    big = torch.randn(faces.shape, generator=torch.Generator().manual_seed(1)) * 0.05
    radius = 0.5
    projected = project(faces, big, radius, SSIM(faces), 0.99)
    assert float(projected.flatten(1).norm(dim=1).max()) <= radius + 1e-5
    assert float(SSIM(faces)(faces + projected).min()) >= 0.99
    small = projected * 0.1
    assert torch.allclose(project(faces, small.clone(), radius, SSIM(faces), 0.5), small, atol=1e-6)


def test_refinement_keeps_every_face_within_the_psnr_and_ssim_budget_after_rounding(faces, models):
    start = faces + torch.randn(faces.shape, generator=torch.Generator().manual_seed(2)) * 0.02
    config = RefineConfig(steps=3, psnr=41.3, ssim=0.986)
    refined, stats = refine(faces, start.clamp(0, 1), models, config, seed=0)
    assert torch.equal(refined, from_uint8(to_uint8(refined)))                  # on the uint8 grid
    assert (psnr_per_image(to_uint8(faces), to_uint8(refined)) >= 41.3).all()
    assert (exact_ssim(faces, refined) >= 0.986).all()
    assert min(stats.psnr) >= 41.3 and min(stats.ssim) >= 0.986


def test_refinement_lowers_the_identity_cosine_and_starts_even_from_the_clean_face(faces, models):
    """At δ = 0 the gradient of the cosine to the face's own embedding is exactly zero; refinement must
    still move a face it is handed unchanged."""
    refined, _ = refine(faces, faces.clone(), models, RefineConfig(steps=4, ssim=None), seed=0)
    assert (cosines(models, faces, refined) < 0.99).all()
    assert not torch.equal(refined, faces)


def test_refinement_is_the_same_for_the_same_seed_and_leaves_torch_s_global_generator_alone(faces, models):
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    config = RefineConfig(steps=2)
    a, _ = refine(faces, faces.clone(), models, config, seed=5)
    assert torch.equal(torch.random.get_rng_state(), before)
    b, _ = refine(faces, faces.clone(), models, config, seed=5)
    assert torch.equal(a, b)


def test_a_black_box_recognizer_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="black-box"):
        Refiner(RefineConfig(steps=1), ["dlib-cpp"])


def test_nullswap_refine_is_a_registered_protector_whose_config_repeats_no_default(faces):
    config = yaml.safe_load((CONF_DIR / "nullswap-refine.yaml").read_text())
    assert config == {"name": "nullswap-refine"}
    defaults = declared_defaults("nullswap-refine")
    assert defaults["steps"] == 20 and defaults["psnr"] == 41.3 and defaults["start"] == "generator"
    protector = baselines.load("nullswap-refine", start="zero", steps=2, device="cpu")
    out = protector.protect(faces)
    assert out.shape == faces.shape and (psnr_per_image(to_uint8(faces), to_uint8(out)) >= 41.3).all()
    assert protector.describe()["threat_model"] == "white-box"
    assert len(protector.forward_stats) == len(faces)
