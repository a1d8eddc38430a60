"""Training at a chosen fidelity (dual ascent) and the attacker's transformations inside the loss."""

from __future__ import annotations

import math

import pytest
import torch

from nullswap.augment import AttackerTransform, RobustConfig, jpeg_round_trip, similarity_warp
from nullswap.losses import PsnrDualAscent


def test_the_multiplier_grows_below_the_target_and_decays_above_it():
    dual = PsnrDualAscent(41.3, lr=0.1)
    assert dual.multiplier == 1.0
    dual.update(31.3)                                   # 10 dB short: log mu += 1
    assert dual.multiplier == pytest.approx(math.e)
    dual.update(46.3)                                   # 5 dB above: log mu -= 0.5
    assert dual.multiplier == pytest.approx(math.exp(0.5))


def test_the_multiplier_state_round_trips():
    dual = PsnrDualAscent(40.0)
    for psnr in (20, 25, 30):
        dual.update(psnr)
    other = PsnrDualAscent(40.0)
    other.load_state_dict(dual.state_dict())
    assert other.multiplier == dual.multiplier


def test_disabled_robustness_is_the_identity():
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(AttackerTransform(RobustConfig(enabled=False))(x), x)


def test_a_zero_warp_is_the_identity_and_a_shift_moves_content():
    x = torch.rand(1, 3, 32, 32)
    same = similarity_warp(x, torch.zeros(1), torch.ones(1), torch.zeros(1, 2))
    assert torch.allclose(same, x, atol=1e-5)
    shifted = similarity_warp(x, torch.zeros(1), torch.ones(1), torch.tensor([[0.25, 0.0]]))
    assert torch.allclose(shifted[..., :-8], x[..., 8:], atol=1e-4)    # a quarter of 32 pixels


def test_jpeg_changes_pixels_but_passes_the_gradient_straight_through():
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    y = jpeg_round_trip(x, 50)
    assert (y - x).abs().max() > 1 / 255
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_the_transform_is_differentiable_and_seeded_by_torch(aligned_face):
    face = torch.from_numpy(aligned_face).permute(2, 0, 1).float().div(255).unsqueeze(0).repeat(4, 1, 1, 1)
    face.requires_grad_(True)
    transform = AttackerTransform(RobustConfig(enabled=True, resize_p=1.0, blur_p=1.0, jpeg_p=1.0))
    torch.manual_seed(3)
    a = transform(face)
    torch.manual_seed(3)
    b = transform(face)
    assert torch.equal(a, b)
    assert a.shape == face.shape and not torch.equal(a, face)
    a.mean().backward()
    assert face.grad is not None and face.grad.abs().sum() > 0
