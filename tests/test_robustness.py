"""The robustness benchmark on real faces: transforms and re-detection feed the Table 2 protocol, the swap
column follows the swapper registry, and the outputs carry their provenance."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import swappers
from benchmarks import robustness
from swappers.base import Swapper, SwapResult
from tests.protect_helpers import write_tiny_checkpoint


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, sample_test_views):
    """clean and nullswap (tiny plumbing checkpoint) × none/jpeg50/median, first 8 test faces, dlib only."""
    root = tmp_path_factory.mktemp("robustness")
    checkpoint = write_tiny_checkpoint(root / "last.pt")
    cfg = robustness.RobustnessConfig(protectors=("clean", "nullswap"), recognizers=("dlib",),
                                      transforms=("none", "jpeg50", "median"), checkpoint=str(checkpoint),
                                      max_images=8, device="cpu", out=root / "out", swappers=())
    return cfg, robustness.measure(cfg)


def test_every_protector_transform_and_recognizer_gets_one_cell(quick_run):
    _, result = quick_run
    cells = {(r["protector"], r["transform"], r["recognizer"]) for r in result["rows"]}
    assert cells == {(p, t, "dlib") for p in ("clean", "nullswap") for t in ("none", "jpeg50", "median")}
    assert len(result["rows"]) == len(cells)
    for row in result["rows"]:
        assert 0.0 <= row["top1"] <= 1.0 and 0.0 <= row["redetected"] <= 1.0 and row["images"] == 8


def test_clean_faces_are_found_again_and_identified_as_in_table_2(quick_run, sample_test_views):
    _, result = quick_run
    clean = next(r for r in result["rows"] if r["protector"] == "clean" and r["transform"] == "none")
    assert clean["redetected"] >= 0.85            # dlib re-finds the real, unchanged faces
    assert clean["top1"] >= 0.6                   # and dlib still identifies most of them
    assert clean["same_image_cosine"] > 0.9       # re-alignment alone barely moves the embedding


def test_outputs_name_their_setting_and_provenance(quick_run):
    cfg, result = quick_run
    paths = robustness.write_outputs(result, cfg.out)
    assert [p.name for p in paths] == ["robustness.json", "robustness.csv", "robustness.md", "robustness.png"]
    stored = json.loads((cfg.out / "robustness.json").read_text())
    provenance = stored["provenance"]
    assert provenance["dataset"]["n_images"] == 8 and provenance["environment"]["git"]["commit"]
    assert len(provenance["protectors"]["nullswap"]["spec"]["file_sha256"]["checkpoint"]) == 64
    text = (cfg.out / "robustness.md").read_text()
    assert "not the paper's setting" in text and "no face swapper is registered" in text
    assert (cfg.out / ".gitignore").read_text().count("cache/") == 1


class _CopySwapper(Swapper):
    """Plumbing double: 'swaps' by returning the source unchanged (so the cosine is source vs source)."""

    name = "copy"

    def forward(self, sources: torch.Tensor, targets: torch.Tensor) -> SwapResult:
        return SwapResult(sources.clone(), ["ok"] * len(sources), [""] * len(sources))


def test_upstream_swappers_that_need_a_checkout_are_not_run_by_default():
    names = [n for n in swappers.available() if getattr(swappers.REGISTRY.get(n), "spec", None) is None]
    assert "landmark" in names and "simswap" not in names


def test_a_registered_swapper_adds_a_swap_column(tmp_path, monkeypatch, sample_test_views):
    monkeypatch.setitem(swappers.REGISTRY.factories, "copy", _CopySwapper)
    cfg = robustness.RobustnessConfig(protectors=("clean",), recognizers=("dlib",), transforms=("none",),
                                      max_images=4, device="cpu", out=tmp_path, swap_recognizer="dlib",
                                      swappers=("copy",))
    result = robustness.measure(cfg)
    (row,) = result["swap_rows"]
    assert row["swapper"] == "copy" and row["pairs"] == 4
    assert row["similarity"] > 0.9                 # clean source vs its own re-detected copy
    assert "Swap similarity: copy" in robustness.markdown(result)


def test_probes_mark_faces_the_detector_cannot_find(sample_test_views):
    images = sample_test_views.images[:2].copy()
    images[1] = 128
    crops, found = robustness.probes(images, "none")
    assert found.tolist() == [True, False] and not crops[1].any()
    assert np.abs(crops[0].astype(int) - images[0].astype(int)).mean() < 20


def test_a_variant_without_a_checkpoint_is_refused_before_any_work(tmp_path, capsys):
    assert robustness.main(["--variant", "no-checkpoint", "--out", str(tmp_path)]) == 2
    assert "NAME=CHECKPOINT" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
