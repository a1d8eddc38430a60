"""Dynamic Loss Weighting is pinned to values worked out by hand from Eqs. 2–7."""

from __future__ import annotations

import pytest
import torch

from nullswap.dlw import DLWConfig, LossWeighting


def test_first_iteration_has_no_variance_or_progress_so_weights_are_uniform():
    dlw = LossWeighting(2)
    assert dlw.step([0.9, 0.8]) == pytest.approx([1.0, 1.0])
    assert dlw.last_variance == [0.0, 0.0]
    assert dlw.last_progress == [0.0, 0.0]


def test_second_iteration_matches_hand_computation():
    # L1: 0.9 -> 0.6, L2: 0.8 -> 0.8, epoch 0 so beta = 0.5, alpha = 3.
    # var1 = ((0.15)^2 + (0.15)^2) / 2 = 0.0225; delta1 = 0.3 / 0.900001 = 0.333333
    # w1 = 1 / (3 * 0.0225 + 0.5 * 1.333333) = 1 / 0.734166 = 1.362089; w2 = 1 / 0.5 = 2
    # normalised to sum 2: 2 * w / (w1 + w2)
    dlw = LossWeighting(2)
    dlw.step([0.9, 0.8])
    weights = dlw.step([0.6, 0.8])
    assert dlw.last_variance == pytest.approx([0.0225, 0.0])
    assert dlw.last_progress == pytest.approx([0.333333, 0.0], abs=1e-6)
    assert weights == pytest.approx([0.810263, 1.189737], abs=1e-6)
    assert sum(weights) == pytest.approx(2.0)


def test_beta_grows_with_epochs_and_a_rising_loss_gets_more_weight():
    # epoch 10: beta = min(0.5 + 0.1 * 10, 2) = 1.5
    # L1 history 0.9, 0.6, 0.3 -> var 0.06, delta (0.6-0.3)/0.6 = 0.5   -> w1 = 1/(0.18 + 2.25) = 0.411523
    # L2 history 0.8, 0.8, 1.0 -> var 0.008889, delta -0.25             -> w2 = 1/(0.026667 + 1.125) = 0.868306
    dlw = LossWeighting(2)
    dlw.step([0.9, 0.8])
    dlw.step([0.6, 0.8])
    dlw.set_epoch(10)
    assert dlw.beta() == pytest.approx(1.5)
    weights = dlw.step([0.3, 1.0])
    assert weights == pytest.approx([0.643090, 1.356910], abs=1e-6)
    assert weights[1] > weights[0]


def test_beta_is_capped_at_beta_star():
    dlw = LossWeighting(3)
    dlw.set_epoch(1000)
    assert dlw.beta() == 2.0


def test_variance_uses_only_the_last_k_values():
    dlw = LossWeighting(1, DLWConfig(window=3))
    for value in [10.0, 0.1, 0.2, 0.3]:
        dlw.step([value])
    assert dlw.last_variance[0] == pytest.approx(((0.1 - 0.2) ** 2 + 0 + (0.3 - 0.2) ** 2) / 3)


def test_normalise_to_one_makes_weights_a_distribution():
    dlw = LossWeighting(2, DLWConfig(normalise_to="one"))
    dlw.step([0.9, 0.8])
    assert dlw.step([0.6, 0.8]) == pytest.approx([0.405132, 0.594868], abs=1e-6)


def test_signed_progress_denominator_is_the_literal_equation():
    signed = LossWeighting(1, DLWConfig(progress_denominator="signed"))
    absolute = LossWeighting(1)
    assert signed.progress(-0.2, -0.3) == pytest.approx(0.1 / (-0.2 + 1e-6))
    assert absolute.progress(-0.2, -0.3) == pytest.approx(0.1 / (0.2 + 1e-6))


def test_a_loss_that_more_than_doubles_gets_delta_minus_one_and_the_floor_not_all_the_weight():
    dlw = LossWeighting(2)
    dlw.step([0.01, 0.5])
    weights = dlw.step([0.05, 0.5])
    # L1: var = 0.0004, delta = (0.01 - 0.05) / 0.010001 = -3.9996 -> floored at -1
    #     denominator = 3 * 0.0004 + 0.5 * (1 - 1) = 0.0012 < d_min = 0.1 -> w1 = 10
    # L2: var = 0, delta = 0 -> denominator 0.5 -> w2 = 2;  normalised to 2: 20/12, 4/12
    assert dlw.last_progress[0] == -1.0
    assert weights == pytest.approx([1.666667, 0.333333], abs=1e-6)


def test_delta_floor_with_variance_matches_hand_computation():
    dlw = LossWeighting(2)
    dlw.step([0.2, 0.5])
    weights = dlw.step([0.6, 0.45])
    # L1: var = 0.04, delta = -0.4 / 0.200001 -> floored at -1 -> denominator 0.12 -> w1 = 8.333333
    # L2: var = 0.000625, delta = 0.05 / 0.500001 = 0.0999998 -> 0.001875 + 0.5 * 1.0999998
    #     = 0.5518749 -> w2 = 1.812006;  normalised to 2: 1.642791, 0.357209
    assert weights == pytest.approx([1.642791, 0.357209], abs=1e-6)


def test_large_improvements_stay_unclamped():
    dlw = LossWeighting(1)
    assert dlw.progress(0.1, -0.5) == pytest.approx(0.6 / (0.1 + 1e-6))


def test_literal_equation_without_the_floor_collapses_the_other_weight():
    """Why the floor is the default: Eq. 7 as written lets a doubled loss take all the weight."""
    literal = LossWeighting(2, DLWConfig(delta_floor=None, denominator_floor=1e-6))
    literal.step([0.01, 0.5])
    weights = literal.step([0.05, 0.5])   # denominator 0.0012 + 0.5 * (1 - 3.9996) < 0 -> 1e-6
    assert weights[1] < 1e-5


def test_mean_strategy_is_uniform_under_the_same_normalisation():
    dlw = LossWeighting(2, DLWConfig(strategy="mean"))
    dlw.step([0.9, 0.1])
    assert dlw.step([0.2, 0.7]) == [1.0, 1.0]


def test_single_strategy_keeps_only_the_chosen_recognizer():
    dlw = LossWeighting(2, DLWConfig(strategy="single", single_index=1))
    assert dlw.step([0.9, 0.1]) == [0.0, 1.0]
    with pytest.raises(ValueError, match="single_index"):
        LossWeighting(2, DLWConfig(strategy="single", single_index=2))


def test_combine_weights_differentiable_losses_and_uses_detached_values_only():
    dlw = LossWeighting(2)
    a = torch.tensor(0.9, requires_grad=True)
    b = torch.tensor(0.8, requires_grad=True)
    total, weights = dlw.combine([a * 1.0, b * 1.0])
    total.backward()
    assert a.grad.item() == pytest.approx(weights[0]) and b.grad.item() == pytest.approx(weights[1])


def test_observed_values_override_local_ones_for_data_parallel_agreement():
    dlw = LossWeighting(2)
    dlw.combine([torch.tensor(0.1), torch.tensor(0.2)], observed=[0.9, 0.8])
    assert dlw.previous == [0.9, 0.8]


def test_state_round_trips_through_a_checkpoint():
    dlw = LossWeighting(2)
    for values in ([0.9, 0.8], [0.6, 0.8], [0.5, 0.7]):
        dlw.step(values)
    dlw.set_epoch(4)
    restored = LossWeighting(2)
    restored.load_state_dict(dlw.state_dict())
    assert restored.step([0.4, 0.6]) == dlw.step([0.4, 0.6])
    with pytest.raises(ValueError, match="different number"):
        LossWeighting(3).load_state_dict(dlw.state_dict())
