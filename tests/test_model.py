"""The NullSwap generator and discriminator: shapes, heads, noise, and gradient flow."""

from __future__ import annotations

import pytest
import torch

from nullswap.model import (
    Discriminator,
    ModelConfig,
    NullSwapGenerator,
    SEResBlock,
    count_parameters,
)

SMALL = dict(width=16, id_blocks=1, perturbation_blocks=1, feature_blocks=1)


def test_paper_block_counts_are_the_defaults():
    g = NullSwapGenerator()
    se_blocks = lambda module: sum(isinstance(m, SEResBlock) for m in module.modules())  # noqa: E731
    assert se_blocks(g.identity_extraction) == 4      # L
    assert se_blocks(g.perturbation_block) == 3       # M
    assert se_blocks(g.feature_block) == 5            # N
    assert se_blocks(g.cloak_features) == 1


@pytest.mark.parametrize("head", ["direct", "residual"])
def test_output_is_an_image_of_the_input_shape_in_unit_range(head):
    g = NullSwapGenerator(ModelConfig(head=head, **SMALL))
    x = torch.rand(2, 3, 64, 64)
    y = g(x)
    assert y.shape == x.shape
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


def test_the_residual_head_starts_near_the_identity_map():
    g = NullSwapGenerator(ModelConfig(head="residual", **SMALL)).eval()
    x = torch.rand(2, 3, 64, 64) * 0.8 + 0.1
    assert (g(x) - x).abs().max() < 0.05


def test_residual_bound_caps_the_change():
    g = NullSwapGenerator(ModelConfig(head="residual", residual_bound=2 / 255, **SMALL))
    with torch.no_grad():
        g.cloak_image[-1].weight.mul_(1e4)        # make the raw head output huge
    x = torch.rand(2, 3, 64, 64)
    assert (g(x) - x).abs().max() <= 2 / 255 + 1e-6


@pytest.mark.parametrize("head", ["direct", "residual"])
def test_gradients_reach_every_trainable_parameter_of_the_generator(head):
    # The default architecture: at toy widths an SE gate has so few hidden units that all can start dead.
    torch.manual_seed(0)
    g = NullSwapGenerator(ModelConfig(head=head))
    x = torch.rand(4, 3, 64, 64)
    (g(x) - x.roll(1, dims=-1)).pow(2).mean().backward()
    without = [name for name, p in g.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert without == []


def test_adaptive_noise_is_drawn_every_pass_and_seeded_generators_reproduce_it():
    g = NullSwapGenerator(ModelConfig(output_init_scale=1.0, **SMALL)).eval()
    x = torch.rand(1, 3, 64, 64)
    a = g(x, torch.Generator().manual_seed(1))
    b = g(x, torch.Generator().manual_seed(1))
    c = g(x, torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_noise_can_be_switched_off_at_inference():
    g = NullSwapGenerator(ModelConfig(noise_at_inference=False, **SMALL)).eval()
    x = torch.rand(1, 3, 64, 64)
    assert torch.equal(g(x), g(x))


def test_sides_not_divisible_by_four_are_rejected():
    with pytest.raises(ValueError, match="divisible by 4"):
        NullSwapGenerator(ModelConfig(**SMALL))(torch.rand(1, 3, 62, 64))


def test_discriminator_returns_one_logit_per_image():
    d = Discriminator(width=8, layers=3)
    assert d(torch.rand(5, 3, 64, 64)).shape == (5,)


def test_default_generator_size_is_reported():
    assert 300_000 < count_parameters(NullSwapGenerator()) < 600_000


# --- fidelity control and upsampling ---------------------------------------------------------------
def test_the_l2_budget_caps_each_images_change_at_the_target_psnr():
    from nullswap.model import project_to_psnr

    residual = torch.randn(3, 3, 32, 32) * torch.tensor([0.2, 0.01, 0.0001]).view(3, 1, 1, 1)
    projected = project_to_psnr(residual, 41.3)
    mse = projected.pow(2).mean(dim=(1, 2, 3))
    cap = 10 ** (-41.3 / 10)
    assert float(mse[0]) == pytest.approx(cap, rel=1e-4)       # too large: scaled down onto the budget
    assert float(mse[1]) == pytest.approx(cap, rel=1e-4)
    assert torch.equal(projected[2], residual[2])              # inside the budget: untouched


def test_a_budgeted_generator_never_goes_below_its_psnr():
    g = NullSwapGenerator(ModelConfig(head="residual", output_init_scale=1.0, budget_psnr=38.0, **SMALL))
    x = torch.rand(4, 3, 64, 64)
    mse = (g(x) - x).pow(2).mean(dim=(1, 2, 3))
    assert bool((10 * torch.log10(1 / mse) >= 38.0 - 1e-3).all())
    g.budget_psnr = 45.0                                        # moved at inference: less change
    mse45 = (g(x) - x).pow(2).mean(dim=(1, 2, 3))
    assert bool((mse45 < mse).all())


def test_resize_upsampling_has_no_transposed_convolution():
    g = NullSwapGenerator(ModelConfig(upsample="resize", **SMALL))
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in g.modules())
    assert g(torch.rand(1, 3, 64, 64)).shape == (1, 3, 64, 64)
    with pytest.raises(ValueError, match="upsampling"):
        NullSwapGenerator(ModelConfig(upsample="bicubic-magic", **SMALL))
