"""MobileFaceNet: the black-box, unseen recognizer (LiteRT), on real aligned faces."""

from __future__ import annotations

import sys

import pytest
import torch

import nullswap.recognizers as recognizers
from nullswap import weights
from nullswap.recognizers.mobilefacenet import COSINE_THRESHOLD

OBAMA = ("obama", "obama2", "obama3")

pytest.importorskip("ai_edge_litert", reason="the tflite extra (ai-edge-litert) is not installed")


@pytest.fixture(scope="module")
def mobilefacenet():
    try:
        weights.path("mobilefacenet")
    except weights.MissingWeightsError as exc:
        pytest.skip(f"MobileFaceNet weights not prepared (make models): {exc}")
    return recognizers.load("mobilefacenet")


@pytest.fixture(scope="module")
def faces(canonical_faces):
    names = sorted(canonical_faces)
    return names, torch.stack([canonical_faces[n] for n in names])


def _separation(names: list[str], embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosines of the Obama photo pairs (genuine) and of Obama against everyone else (impostor)."""
    obama = [names.index(n) for n in OBAMA]
    others = [i for i in range(len(names)) if i not in obama]
    cos = embeddings @ embeddings.T
    genuine = torch.stack([cos[i, j] for i in obama for j in obama if i < j])
    return genuine, cos[obama][:, others].flatten()


def test_mobilefacenet_is_a_registered_black_box(mobilefacenet):
    assert "mobilefacenet" in recognizers.available()
    facts = mobilefacenet.describe()
    assert facts["embedding_dim"] == 192 and facts["input_size"] == 112 and facts["template"] == "arcface"
    assert facts["differentiable"] is False and facts["weights"] == ["mobilefacenet"]
    assert facts["threshold"] == pytest.approx(0.395)


def test_embeddings_are_unit_vectors_without_gradients(mobilefacenet, canonical_faces):
    crops = torch.stack([canonical_faces["obama"], canonical_faces["biden"]]).requires_grad_(True)
    out = mobilefacenet(crops)
    assert out.shape == (2, 192) and not out.requires_grad
    assert torch.allclose(out.norm(dim=1), torch.ones(2), atol=1e-5)


def test_odd_batches_are_padded_without_mixing_faces(mobilefacenet, faces):
    """The network takes exactly two faces at a time: a face's embedding must not depend on its
    batch neighbours or on the padding of an odd batch."""
    _, batch = faces
    together = mobilefacenet(batch[:3])
    alone = torch.cat([mobilefacenet(batch[i : i + 1]) for i in range(3)])
    assert torch.allclose(together, alone, atol=1e-5)


def test_genuine_pairs_score_above_impostors(mobilefacenet, faces):
    names, batch = faces
    genuine, impostor = _separation(names, mobilefacenet(batch))
    print(f"mobilefacenet: genuine {[round(v, 3) for v in genuine.tolist()]}, Obama vs others "
          f"max {impostor.max().item():.3f} mean {impostor.mean().item():.3f}")
    assert genuine.min() > COSINE_THRESHOLD > impostor.max()
    assert genuine.min() - impostor.max() > 0.4


def test_rgb_input_separates_identities_better_than_bgr(mobilefacenet, faces):
    """The channel order the recognizer uses (RGB, as the package's own code feeds it) is the one that
    separates the real Obama photos from other people more widely."""
    names, batch = faces
    margins = {}
    for order, crops in (("rgb", batch), ("bgr", batch.flip(1))):
        genuine, impostor = _separation(names, mobilefacenet(crops))
        margins[order] = (genuine.mean() - impostor.mean()).item()
    print(f"mean genuine - mean impostor cosine: RGB {margins['rgb']:.3f}, BGR {margins['bgr']:.3f}")
    assert margins["rgb"] > margins["bgr"]


def test_missing_weights_raise_missing_weights_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NULLSWAP_HOME", str(tmp_path))
    monkeypatch.delenv("NULLSWAP_WEIGHT_MOBILEFACENET", raising=False)
    with pytest.raises(weights.MissingWeightsError, match=r"MobileFaceNet\.tflite"):
        recognizers.load("mobilefacenet")


def test_a_corrupt_model_file_is_reported_not_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("NULLSWAP_HOME", str(tmp_path))
    monkeypatch.delenv("NULLSWAP_WEIGHT_MOBILEFACENET", raising=False)
    damaged = weights.MANIFEST["mobilefacenet"].cache_path
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"TFL3" + bytes(1000))
    with pytest.raises(weights.MissingWeightsError, match="sha256 differs"):
        recognizers.load("mobilefacenet")


def test_missing_litert_names_the_tflite_extra(monkeypatch):
    recognizers.available()  # import the back ends while LiteRT is still importable
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(ImportError, match=r"nullswap\[tflite\]"):
        recognizers.load("mobilefacenet")
