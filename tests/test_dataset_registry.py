"""The data-set registry: every config names a registered loader, and load_dataset reaches any of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from nullswap.data import registry
from nullswap.data.base import FaceSet
from nullswap.data.load import load_dataset

CONF_DATA = Path(__file__).resolve().parent.parent / "nullswap" / "conf" / "data"


def test_every_data_config_names_a_registered_data_set():
    names = {OmegaConf.load(path).name for path in sorted(CONF_DATA.glob("*.yaml"))}
    assert names == {"celebahq", "lfw", "sample", "offline", "folder"}
    assert names <= set(registry.available())
    assert registry.REGISTRY.import_errors == {}


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match=r"unknown data set 'no-such-set'; available: .*celebahq.*offline.*sample"):
        load_dataset({"name": "no-such-set"}, split="test")


def test_a_registered_toy_data_set_is_found_by_load_dataset(monkeypatch):
    registry.available()  # the real modules first; the toy goes into a copy that the test drops
    monkeypatch.setattr(registry.REGISTRY, "factories", dict(registry.REGISTRY.factories))
    calls = []

    @registry.register_dataset("toy")
    def toy(split: str, size: int = 2) -> FaceSet:
        calls.append((split, size))
        return FaceSet("toy", np.zeros((size, 256, 256, 3), np.uint8), ["a"] * size, [str(i) for i in range(size)])

    faces = load_dataset({"name": "toy", "split": "train", "size": 3, "root": None}, split="test")
    assert len(faces) == 3 and calls == [("test", 3)]  # null options are left out, split comes from the caller
    assert "toy" in registry.available()
