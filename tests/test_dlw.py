"""Dynamic Loss Weighting is pinned to values worked out by hand from Eqs. 2–7."""

from __future__ import annotations

import json
from pathlib import Path

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


#: two identity losses over four steps; epochs 0, 0, 0, 3 (β = 0.5, 0.5, 0.5, 0.8); α = 3, ε = 1e-6, k = 30
SEQUENCE = [((0.05, 0.90), 0), ((0.04, 0.85), 0), ((0.10, 0.84), 0), ((0.08, 0.60), 3)]
# The terms by hand (population variance over the values so far; Δ = (L(t−1) − L(t)) / (|L(t−1)| + ε)):
# step 1: no variance, no progress: both denominators 0.5 -> ŵ = 1, 1
# step 2: L1 0.05, 0.04: σ² = 0.005² = 2.5e-5,  Δ = 0.01 / 0.050001 = 0.199996000 -> d1 = 7.5e-5 + 0.5·1.199996 = 0.600073
#         L2 0.90, 0.85: σ² = 0.025² = 6.25e-4, Δ = 0.05 / 0.900001 = 0.055555494 -> d2 = 0.001875 + 0.5·1.055555494 = 0.529652747
#         ŵ1 = 2 · (1/d1) / (1/d1 + 1/d2) = 2 · d2 / (d1 + d2) = 0.937666063, ŵ2 = 1.062333937
# step 3: L1 0.05, 0.04, 0.10: mean 0.063333, σ² = (0.013333² + 0.023333² + 0.036667²) / 3 = 6.888889e-4,
#         Δ = −0.06 / 0.040001 = −1.49996 -> floored at −1 -> d1 = 3 · 6.888889e-4 + 0.5 · 0 = 0.002066667
#         L2 0.90, 0.85, 0.84: mean 0.863333, σ² = (0.036667² + 0.013333² + 0.023333²) / 3 = 6.888889e-4,
#         Δ = 0.01 / 0.850001 = 0.011764692 -> d2 = 0.002066667 + 0.5 · 1.011764692 = 0.507949013
#         Eq. 4 as written: ŵ1 = 2 · d2 / (d1 + d2) = 1.991895674, ŵ2 = 0.008104326
#         with d_min = 0.1: d1 -> 0.1, ŵ1 = 2 · d2 / (0.1 + d2) = 1.671025044, ŵ2 = 0.328974957
# step 4 (β = 0.8): L1 …, 0.08: mean 0.0675, σ² = (0.0175² + 0.0275² + 0.0325² + 0.0125²) / 4 = 5.6875e-4,
#         Δ = 0.02 / 0.100001 = 0.199998 -> d1 = 0.00170625 + 0.8 · 1.199998 = 0.96170465
#         L2 …, 0.60: mean 0.7975, σ² = (0.1025² + 0.0525² + 0.0425² + 0.1975²) / 4 = 0.01351875,
#         Δ = 0.24 / 0.840001 = 0.285713946 -> d2 = 0.04055625 + 0.8 · 1.285713946 = 1.069127406
#         ŵ1 = 2 · d2 / (d1 + d2) = 1.052895933, ŵ2 = 0.947104067 (the floor does not bind)
BY_HAND_DENOMINATORS = [[0.5, 0.5], [0.600073, 0.529652747], [0.002066667, 0.507949013], [0.96170465, 1.069127406]]
BY_HAND_DEFAULT = [[1.0, 1.0], [0.937666063, 1.062333937], [1.991895674, 0.008104326], [1.052895933, 0.947104067]]
BY_HAND_FLOOR_01 = [[1.0, 1.0], [0.937666063, 1.062333937], [1.671025044, 0.328974957], [1.052895933, 0.947104067]]


def replay(config: DLWConfig) -> tuple[list[list[float]], list[list[float]]]:
    dlw = LossWeighting(2, config)
    weights, denominators = [], []
    for losses, epoch in SEQUENCE:
        dlw.set_epoch(epoch)
        weights.append(dlw.step(losses))
        denominators.append(dlw.last_denominator)
    return weights, denominators


def test_the_default_is_eq_4_as_written_and_matches_the_hand_computation_at_every_step():
    assert DLWConfig().denominator_floor is None and DLWConfig().delta_floor == -1.0
    weights, denominators = replay(DLWConfig())
    for step in range(len(SEQUENCE)):
        assert denominators[step] == pytest.approx(BY_HAND_DENOMINATORS[step], abs=1e-8), step
        assert weights[step] == pytest.approx(BY_HAND_DEFAULT[step], abs=1e-7), step
    # the paper's Eq. 4 lets a loss that just doubled from near zero take almost all the weight
    assert weights[2][1] < 0.01


def test_the_opt_in_denominator_floor_bounds_the_raw_weight_and_changes_only_the_step_where_it_binds():
    weights, denominators = replay(DLWConfig(denominator_floor=0.1))
    for step in range(len(SEQUENCE)):
        assert weights[step] == pytest.approx(BY_HAND_FLOOR_01[step], abs=1e-7), step
    binding = [step for step, pair in enumerate(denominators) if min(pair) < 0.1]
    assert binding == [2]
    default, _ = replay(DLWConfig())
    assert [step for step in range(len(SEQUENCE)) if weights[step] != default[step]] == binding


def test_a_zero_floor_is_the_default_and_the_epsilon_guard_only_keeps_the_denominator_off_zero():
    assert replay(DLWConfig(denominator_floor=0.0))[0] == replay(DLWConfig())[0]
    assert LossWeighting(1).raw_weight(0.0) == pytest.approx(1e6)
    assert LossWeighting(1, DLWConfig(denominator_floor=0.1)).raw_weight(0.0) == pytest.approx(10.0)


def test_the_training_config_defaults_are_the_dataclass_defaults():
    from omegaconf import OmegaConf

    from nullswap.train import compose

    assert DLWConfig.from_dict(OmegaConf.to_container(compose().dlw)) == DLWConfig()


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


def test_literal_equation_without_the_delta_floor_collapses_the_other_weight():
    """Why Δ's floor is the default: Eq. 7 as written lets a doubled loss drive Eq. 4's denominator below
    zero, and the ε guard then hands it all the weight."""
    literal = LossWeighting(2, DLWConfig(delta_floor=None))
    literal.step([0.01, 0.5])
    weights = literal.step([0.05, 0.5])   # denominator 0.0012 + 0.5 * (1 - 3.9996) < 0 -> ε = 1e-6
    assert literal.last_denominator[0] < 0 and weights[1] < 1e-5


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


# --------------------------------------------------------------------------------------------------
# The committed training runs, replayed from their logs (python -m benchmarks.tools.dlw_replay RUN_DIR)
# --------------------------------------------------------------------------------------------------
RESULTS = Path(__file__).resolve().parent.parent / "results"


def recipe_ablation_overrides(variant: str) -> list[str]:
    from benchmarks.recipe_ablation import PINNED, VARIANTS

    return ["experiment=offline", *PINNED, *VARIANTS[variant][0]]


#: each committed DLW run → the overrides its README's command trains it with (the training-side ones)
COMMITTED_RUNS = {
    "offline/training": lambda: ["experiment=offline", "data=offline"],
    "demo/training/residual": lambda: ["experiment=demo", "model.head=residual"],
    "table5-offline/sessions/dlw": lambda: [
        o for o in json.loads((RESULTS / "table5-offline/sessions/dlw/session.json").read_text())["overrides"]
        if not o.startswith("run_dir=")],
    **{f"recipe-ablation/training/{v}": (lambda v=v: recipe_ablation_overrides(v))
       for v in ("recipe", "no-robust", "transposed", "sample-data")},
}


def test_the_replay_reproduces_the_shipped_generators_logged_weights_and_its_floor_never_bound():
    """The 1,100 steps that trained results/offline/generator.pt: dropping the floor changes no weight."""
    from benchmarks.tools.dlw_replay import replay as replay_run

    run = replay_run(RESULTS / "offline" / "training")
    assert run.steps == 1100 and run.logged_config["denominator_floor"] == 0.1
    assert run.reproduced_max_abs_error == 0.0
    assert run.floor_binding_steps == 0 and run.differing_steps == 0 and run.smallest_denominator > 0.1


def test_a_run_trained_with_eq_4_as_written_is_replayed_against_the_opt_in_floor():
    """results/demo (make demo, no floor): the replay says where a 0.1 floor would have acted."""
    from benchmarks.tools.dlw_replay import OPT_IN_FLOOR
    from benchmarks.tools.dlw_replay import replay as replay_run

    run = replay_run(RESULTS / "demo" / "training" / "residual")
    assert run.logged_config["denominator_floor"] is None and run.variant == {"denominator_floor": OPT_IN_FLOOR}
    assert run.reproduced_max_abs_error == 0.0
    assert run.smallest_denominator < OPT_IN_FLOOR and run.floor_binding_steps == run.differing_steps > 0
    assert run.smallest_weight_variant > run.smallest_weight_logged  # the floor bounds the raw weight


@pytest.mark.parametrize("run", sorted(COMMITTED_RUNS))
def test_every_committed_dlw_run_gets_its_logged_weights_from_the_config_its_command_composes_today(run):
    from omegaconf import OmegaConf

    from benchmarks.tools.dlw_replay import replay as replay_run
    from nullswap.train import compose

    today = OmegaConf.to_container(compose(COMMITTED_RUNS[run]()).dlw)
    replayed = replay_run(RESULTS / run, **today)
    assert replayed.reproduced_max_abs_error == 0.0
    assert replayed.differing_steps == 0, (
        f"{run}: today's config changes the weights at {replayed.differing_steps} steps "
        f"(first at step {replayed.first_differing_step}); pin the setting it was trained with in its recipe")
