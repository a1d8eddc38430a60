"""The photo transforms a cloak must survive: deterministic, shape-preserving, and each does what it says."""

from __future__ import annotations

import numpy as np
import pytest

from nullswap import degrade
from nullswap.faces.redetect import redetect_crop
from nullswap.images import psnr


@pytest.mark.parametrize("name", list(degrade.TRANSFORMS))
def test_every_transform_is_deterministic_and_keeps_the_image_size(name, aligned_face):
    once, twice = degrade.get(name)(aligned_face), degrade.get(name)(aligned_face)
    assert once.shape == aligned_face.shape and once.dtype == np.uint8
    assert np.array_equal(once, twice)


def test_only_none_leaves_a_real_face_unchanged_and_stronger_settings_change_it_more(aligned_face):
    assert np.array_equal(degrade.apply("none", aligned_face[None])[0], aligned_face)
    for name in set(degrade.TRANSFORMS) - {"none"}:
        assert not np.array_equal(degrade.get(name)(aligned_face), aligned_face), name
    jpeg = [psnr(degrade.get(f"jpeg{q}")(aligned_face), aligned_face) for q in (95, 85, 75, 50)]
    assert jpeg == sorted(jpeg, reverse=True)
    assert psnr(degrade.get("resize0.75")(aligned_face), aligned_face) > psnr(
        degrade.get("resize0.5")(aligned_face), aligned_face)


def test_purifiers_remove_a_large_part_of_a_small_high_frequency_perturbation(aligned_face):
    noise = np.random.default_rng(0).choice([-4, 4], aligned_face.shape)
    noisy = np.clip(aligned_face.astype(int) + noise, 0, 255).astype(np.uint8)
    for name in degrade.PURIFIERS:
        purified = degrade.get(name)(noisy)
        left = np.abs(purified.astype(int) - degrade.get(name)(aligned_face).astype(int)).mean()
        assert left < 0.7 * np.abs(noise).mean(), name   # at least 30 % of it gone


def test_a_bad_image_is_refused_with_its_shape_and_an_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="uint8"):
        degrade.get("blur")(np.zeros((8, 8), np.float32))
    with pytest.raises(KeyError, match="jpeg95"):
        degrade.get("jpeg42")


def test_a_degraded_real_face_is_found_again_by_the_independent_detector(aligned_face):
    for name in ("none", "jpeg50", "resize0.5", "screenshot"):
        again = redetect_crop(degrade.get(name)(aligned_face))
        assert again is not None and again.shape == (256, 256, 3), name
    assert redetect_crop(np.full((256, 256, 3), 128, np.uint8)) is None
