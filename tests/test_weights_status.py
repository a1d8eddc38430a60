"""What a weight file is — published sha256, no published hash, stand-in, wrong sha256, missing — is said
plainly, and a recognizer must tell real people apart before it makes a table (the sanity gate)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

import nullswap.recognizers as recognizers
from nullswap import sanity, standin, weights
from nullswap.assets import sha256_of


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty cache; the paper entries look nowhere else (their libraries' caches are out of reach)."""
    monkeypatch.setenv("NULLSWAP_HOME", str(tmp_path / "home"))
    for entry in ("deepface_arcface", "deepface_sface", "lpips_alexnet_backbone"):
        monkeypatch.delenv(f"NULLSWAP_WEIGHT_{entry.upper()}", raising=False)
        monkeypatch.setitem(weights.MANIFEST, entry, dataclasses.replace(
            weights.MANIFEST[entry], library_paths=(str(tmp_path / "library" / entry),)))
    return tmp_path


def _place(entry: str, content: bytes) -> Path:
    path = weights.MANIFEST[entry].cache_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _random_arcface(marked: bool) -> Path:
    """deepface's ArcFace network with random weights, saved where the manifest looks."""
    from deepface.models.facial_recognition.pytorch import ArcFace

    torch.manual_seed(0)
    path = weights.MANIFEST["deepface_arcface"].cache_path
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ArcFace.base_model().state_dict(), path)
    if marked:
        standin.mark(path)
    return path


def test_a_present_file_with_the_wrong_sha256_is_reported_as_such_with_both_hashes_and_the_source(home, capsys):
    path = _place("deepface_sface", b"not the OpenCV Zoo graph")
    found = weights.status("deepface_sface")
    assert found.state == weights.WRONG_SHA256 and not found.usable
    assert weights.main(["list"]) == 0
    listed = capsys.readouterr().out
    block = listed[listed.index("deepface_sface"):].split("\n\n")[0]
    assert "WRONG SHA256" in block and str(path) in block
    assert f"expected {weights.MANIFEST['deepface_sface'].sha256}" in block
    assert f"found    {sha256_of(path)}" in block
    assert "download: https://github.com/opencv/opencv_zoo" in block
    with pytest.raises(weights.MissingWeightsError, match=f"its sha256 differs: {sha256_of(path)}") as error:
        weights.path("deepface_sface")
    assert "Wrong weight file 'deepface_sface'" in str(error.value)


def test_a_file_without_a_published_hash_is_accepted_and_says_so(home, capsys):
    path = _place("deepface_arcface", b"some weights")
    found = weights.status("deepface_arcface")
    assert found.state == weights.UNPINNED and found.genuine and weights.path("deepface_arcface") == path
    weights.main(["list"])
    assert f"present, no published hash (sha256 {sha256_of(path)})" in capsys.readouterr().out


def test_a_marked_stand_in_loads_but_is_never_found_as_the_real_file_and_is_carried_into_provenance(home, capsys):
    path = _place("deepface_sface", b"a random graph")
    standin.mark(path, made_by="test")
    found = weights.status("deepface_sface")
    assert found.state == weights.STANDIN and found.usable and not found.genuine
    assert weights.path("deepface_sface") == path and weights.find("deepface_sface") is None
    weights.main(["list"])
    assert "STAND-IN (random weights: rehearsal)" in capsys.readouterr().out
    record = weights.provenance(["deepface_sface"])
    assert standin.reasons(record) == [f"{path}: {standin.RANDOM_WEIGHTS}"]


def test_a_recognizer_on_stand_in_weights_carries_the_stand_in_in_its_description(home):
    path = _random_arcface(marked=True)
    described = recognizers.load("arcface").describe()
    assert described["weight_files"]["deepface_arcface"]["status"] == weights.STANDIN
    assert standin.reasons(described) == [f"{path}: {standin.RANDOM_WEIGHTS}"]


# --------------------------------------------------------------------------------------------------
# The sanity gate
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gate_faces(sample_all):
    return sample_all


def test_a_real_recognizer_separates_the_bundled_faces(gate_faces):
    result = sanity.gate(recognizers.load("mobilefacenet"), faces=gate_faces)
    assert result.separates and result.auc > 0.99 and result.genuine_pairs == 6 and result.impostor_pairs == 1029
    assert result.genuine_mean > result.impostor_mean + 0.3 and not result.standins


def test_a_random_file_without_a_published_hash_loads_but_the_gate_refuses_it_with_the_numbers(home, gate_faces):
    _random_arcface(marked=False)  # deepface publishes no sha256: nothing else would stop it
    with pytest.raises(sanity.RecognizerRefused, match=r"does not tell real people apart") as refused:
        sanity.gate(recognizers.load("arcface"), faces=gate_faces)
    message = str(refused.value)
    assert "ROC AUC 0.6" in message and "genuine-pair cosine" in message and "(6 pairs)" in message


def test_a_stand_in_is_refused_in_a_normal_run_and_let_through_labelled_in_a_rehearsal(home, gate_faces, caplog):
    _random_arcface(marked=True)
    measured = sanity.check(recognizers.load("arcface"), gate_faces)  # gate = check, then this verdict
    with pytest.raises(sanity.RecognizerRefused, match="reads stand-in weights") as refused:
        sanity.verdict(measured, rehearsal=False)
    assert "refused outside a rehearsal (rehearsal=true)" in str(refused.value) and "ROC AUC" in str(refused.value)
    with caplog.at_level("WARNING"):
        result = sanity.verdict(measured, rehearsal=True)
    assert result.standins and not result.separates
    assert standin.REHEARSAL_HEADER in caplog.text and "let through because rehearsal=true" in caplog.text
