"""Evaluation through re-detection, and the shippable generator file."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import baselines
import nullswap.recognizers as recognizers
from nullswap.checkpoint import CHECKPOINT_FORMAT, GENERATOR_FORMAT, load_generator
from nullswap.export import export_generator
from nullswap.model import ModelConfig, NullSwapGenerator
from nullswap.protect import NullSwapCloak

TINY = dict(width=16, id_blocks=1, perturbation_blocks=1, feature_blocks=1)


def _faces(faceset, n):
    return faceset.tensor(slice(0, n))


@pytest.mark.parametrize("name", ["dlib", "dlib-cpp"])
def test_redetected_clean_faces_embed_like_the_canonical_crop(sample_test, name):
    faces = _faces(sample_test, 6)
    fixed = recognizers.load("dlib")(faces)
    redetected = recognizers.load(f"{name}@redetect")(faces)
    found = torch.isfinite(redetected).all(dim=1)
    assert int(found.sum()) >= 5                         # dlib's detector finds (nearly) every clean face
    cosine = torch.nn.functional.cosine_similarity(fixed[found], redetected[found], dim=-1)
    assert float(cosine.min()) > 0.9                     # same person, slightly different alignment


def test_a_crop_without_a_face_is_a_nan_row_not_a_dropped_one():
    model = recognizers.load("mobilefacenet@redetect")
    grey = torch.full((2, 3, 256, 256), 0.5)
    out = model(grey)
    assert out.shape == (2, model.embedding_dim)
    assert all(math.isnan(v) for v in out[:, 0].tolist())
    assert model.name == "mobilefacenet@redetect" and model.describe()["differentiable"] is False


@pytest.fixture
def training_checkpoint(tmp_path):
    torch.manual_seed(0)
    generator = NullSwapGenerator(ModelConfig(budget_psnr=40.0, **TINY))
    with torch.no_grad():
        generator.cloak_image[-1].weight.mul_(50)
    path = tmp_path / "last.pt"
    config = {"model": {**TINY, "budget_psnr": 40.0}, "train": {"resolution": 64}}
    torch.save({"format": CHECKPOINT_FORMAT, "step": 7, "generator": generator.state_dict(),
                "discriminator": {"w": torch.zeros(1000)}, "recognizers": ["dlib", "sface"], "config": config},
               path)
    return path


def test_export_keeps_only_the_generator_with_its_provenance(training_checkpoint, tmp_path):
    out = export_generator(training_checkpoint, tmp_path / "shipped", command="python -m nullswap.train x=1")
    state = torch.load(out, weights_only=True)
    assert state["format"] == GENERATOR_FORMAT and "discriminator" not in state
    record = json.loads((out.parent / "generator.json").read_text())
    assert record["command"] == "python -m nullswap.train x=1" and record["step"] == 7
    assert len(record["sha256"]) == 64 and record["bytes"] == out.stat().st_size
    generator, resolution, _ = load_generator(out)
    assert resolution == 64 and generator.budget_psnr == 40.0


def test_the_exported_generator_protects_through_the_registry_at_its_budget(training_checkpoint, tmp_path,
                                                                            sample_test):
    out = export_generator(training_checkpoint, tmp_path / "shipped")
    faces = _faces(sample_test, 2)
    protector = baselines.load("nullswap", checkpoint=str(out))
    protected = protector.protect(faces)
    mse = (protected - faces).pow(2).mean(dim=(1, 2, 3))
    assert bool((10 * torch.log10(1 / mse) >= 40.0 - 0.5).all())
    looser = NullSwapCloak.from_checkpoint(out, target_psnr=30.0)
    assert looser.describe()["budget_psnr"] == 30.0 and looser.describe()["trained_budget_psnr"] == 40.0
    more = (looser(faces) - faces).pow(2).mean(dim=(1, 2, 3))
    assert bool((more > mse).all())
    assert np.isfinite(more.numpy()).all()
