"""The float ↔ uint8 conversions and the PSNR every metric and protector shares, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nullswap.images import as_uint8, from_uint8, mse, psnr, psnr_from_mse, psnr_per_image, quantize, to_uint8


def test_a_uint8_round_trip_is_exact() -> None:
    arrays = np.random.default_rng(0).integers(0, 256, size=(3, 5, 7, 3), dtype=np.uint8)
    tensor = from_uint8(arrays)
    assert tensor.shape == (3, 3, 5, 7) and tensor.dtype == torch.float32
    assert np.array_equal(to_uint8(tensor), arrays)


def test_rounding_is_half_to_even_and_clamps() -> None:
    values = torch.tensor([0.5, 1.5, 2.5, 100.4, 100.6, -3.0, 300.0]) / 255.0
    image = values.view(1, 1, 1, -1).expand(1, 3, 1, -1)
    assert to_uint8(image)[0, 0, :, 0].tolist() == [0, 2, 2, 100, 101, 0, 255]
    assert (quantize(image) * 255.0).round()[0, 0, 0].tolist() == [0, 2, 2, 100, 101, 0, 255]


def test_from_uint8_follows_like() -> None:
    like = torch.zeros(1, dtype=torch.float64)
    assert from_uint8(np.full((1, 2, 2, 3), 255, np.uint8), like=like).dtype == torch.float64


def test_as_uint8_refuses_float_arrays() -> None:
    with pytest.raises(ValueError, match="uint8"):
        as_uint8(np.zeros((1, 4, 4, 3), np.float32))


def test_psnr_of_a_known_mse() -> None:
    a = np.zeros((2, 2, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 12                        # one of 12 values off by 12: MSE = 144 / 12 = 12
    assert mse(a, b) == 12.0
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 12))
    assert psnr_from_mse(255.0**2) == 0.0


def test_identical_images_have_infinite_psnr() -> None:
    a = np.full((2, 4, 4, 3), 7, np.uint8)
    assert psnr(a[0], a[0]) == math.inf
    assert np.isinf(psnr_per_image(a, a)).all()
