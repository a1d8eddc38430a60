"""The swapper contract, the offline ``landmark`` swapper on real faces, and Table 3's pair sampler."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import swappers
from benchmarks.pairs import sample_pairs
from nullswap.images import to_uint8
from swappers.base import SwapResult


@pytest.fixture(scope="module")
def landmark():
    return swappers.load("landmark")


@pytest.fixture(scope="module")
def dlib_recognizer():
    import nullswap.recognizers

    return nullswap.recognizers.load("dlib", device="cpu")


def _embed(recognizer, images: torch.Tensor) -> np.ndarray:
    from nullswap.metrics.embedding import embed_images

    return embed_images(recognizer, to_uint8(images), batch_size=8, device="cpu")


def test_the_landmark_swapper_is_registered_and_labelled_classical(landmark):
    assert "landmark" in swappers.available()
    described = landmark.describe()
    assert described["name"] == "landmark" and "classical landmark-based" in described["kind"]
    assert "dlib_shape_predictor_68" in described["weights"]


def test_a_landmark_swap_carries_the_source_identity_into_the_target(landmark, dlib_recognizer, canonical_faces):
    sources = torch.stack([canonical_faces["obama"], canonical_faces["biden"]])
    targets = torch.stack([canonical_faces["biden"], canonical_faces["obama2"]])
    result = landmark.swap(sources, targets)
    assert result.status == ["ok", "ok"] and result.images.shape == targets.shape
    swapped, src, tgt = (_embed(dlib_recognizer, x) for x in (result.images, sources, targets))
    to_source = np.einsum("nd,nd->n", swapped, src)
    target_to_source = np.einsum("nd,nd->n", tgt, src)
    # the result looks more like the source than the untouched target does ...
    assert (to_source > target_to_source + 0.05).all(), (to_source, target_to_source)
    # ... while the picture around the face (corners: background, hair) is still the target's
    corners = (slice(None), slice(None), slice(0, 24), slice(0, 24))
    assert torch.allclose(result.images[corners], targets[corners], atol=1 / 255)


def test_a_pair_without_a_face_is_reported_not_dropped(landmark, canonical_faces):
    blank = torch.full((3, 256, 256), 0.5)
    sources = torch.stack([canonical_faces["obama"], blank])
    targets = torch.stack([canonical_faces["biden"], canonical_faces["obama2"]])
    result = landmark.swap(sources, targets)
    assert result.status == ["ok", "no_face"] and len(result.images) == 2
    assert "no face in the source" in result.messages[1]


def test_swap_inputs_are_checked():
    with pytest.raises(ValueError, match="differ in shape"):
        swappers.load("landmark").swap(torch.rand(2, 3, 64, 64), torch.rand(1, 3, 64, 64))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        swappers.load("landmark").swap(torch.rand(1, 3, 64, 64) * 2, torch.rand(1, 3, 64, 64))


def test_a_swap_result_only_takes_the_three_outcomes():
    with pytest.raises(ValueError, match="unknown swap status"):
        SwapResult(torch.zeros(1, 3, 8, 8), ["skipped"])
    assert SwapResult(torch.zeros(2, 3, 8, 8), ["ok", "no_face"]).ok == [True, False]


# --------------------------------------------------------------------------------------------------
# Table 3's pairs
# --------------------------------------------------------------------------------------------------
IDENTITIES = ["a", "a", "a", "b", "c", "c", "d", "e"]


def test_the_pair_sampler_is_deterministic_for_a_seed():
    assert sample_pairs(IDENTITIES, 12, seed=3) == sample_pairs(IDENTITIES, 12, seed=3)
    assert sample_pairs(IDENTITIES, 12, seed=3) != sample_pairs(IDENTITIES, 12, seed=4)


def test_pairs_join_different_identities_and_use_every_source_before_repeating():
    pairs = sample_pairs(IDENTITIES, 12, seed=0)
    assert all(IDENTITIES[s] != IDENTITIES[t] for s, t in pairs)
    assert sorted(s for s, _ in pairs[: len(IDENTITIES)]) == list(range(len(IDENTITIES)))
    assert len(sample_pairs(IDENTITIES, None, seed=0)) == len(IDENTITIES)


def test_pairs_need_two_identities():
    with pytest.raises(ValueError, match="two identities"):
        sample_pairs(["a", "a"], 2)
