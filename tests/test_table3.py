"""Table 3's runner: its configuration, failed pairs counted rather than dropped, resume through the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmarks import table3
from benchmarks.errors import BenchmarkError
from benchmarks.workspace import Components
from swappers.base import Swapper, SwapResult


class SourcePaste(Swapper):
    """A stand-in swapper for plumbing: the 'swap' is the source itself; the first pair of every call fails."""

    name = "source_paste"
    kind = "test stand-in"

    def forward(self, sources: torch.Tensor, targets: torch.Tensor) -> SwapResult:
        status = ["failed"] + ["ok"] * (len(sources) - 1)
        return SwapResult(sources.clone(), status, ["stand-in failure"] + [""] * (len(sources) - 1))


@pytest.fixture(scope="module")
def six_faces(sample_test):
    """Six original test photographs of at least three identities."""
    return sample_test.subset(range(6))


def config(tmp_path: Path) -> dict:
    return {
        "experiment": "t3",
        "output_root": str(tmp_path),
        "dataset": {"name": "sample", "split": "test"},
        "protectors": ["clean", "noise"],
        "protector_options": {"noise": {"target_psnr": 30.0}},
        "swappers": ["source_paste"],
        "recognizers": ["dlib"],
        "pairs": {"n": None, "seed": 0},
        "seed": 0,
        "device": "cpu",
        "batch_size": 16,  # one swap call: the stand-in fails exactly one pair
    }


def test_the_offline_setting_is_the_landmark_swapper_with_the_offline_evaluators_and_re_detection():
    from hydra import compose, initialize_config_dir

    from benchmarks.cli import CONFIG_DIR, register_resolvers
    from benchmarks.plan import to_plain

    register_resolvers()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        offline = to_plain(compose("table3", overrides=["setting=offline", "output_root=/tmp"]))
        paper = to_plain(compose("table3", overrides=["output_root=/tmp"]))
    assert offline["swappers"] == ["landmark"]
    assert offline["recognizers"] == ["dlib", "sface", "mobilefacenet", "mobilefacenet@redetect", "dlib-cpp@redetect"]
    assert offline["protectors"] == ["clean", "noise", "pgd", "nullswap"]
    assert offline["dataset"]["name"] == "sample"
    assert paper["swappers"] == ["simswap", "infoswap", "uniface", "e4s", "diffswap"]
    assert paper["recognizers"] == ["arcface", "vggface"] and paper["dataset"]["name"] == "celebahq"


def test_a_failing_pair_is_counted_in_the_cell_and_the_table_not_dropped(tmp_path: Path, six_faces):
    components = Components(load_dataset=lambda cfg: six_faces)
    report = table3.run(config(tmp_path), components=components, build_swapper=lambda spec: SourcePaste())
    assert len(report.computed) == 2
    cells = {
        c["key"]["protector"]: c
        for c in map(json.loads, map(Path.read_text, (tmp_path / "t3" / "cells" / "table3").rglob("*.json")))
    }
    noise = cells["noise"]
    assert noise["counts"]["pairs"] == 6 and noise["counts"]["valid_pairs"] == {"dlib": 5}
    assert noise["failures"]["pairs_without_swap"] == 1
    assert noise["failures"]["protected_swap"] == {"no_face": 0, "failed": 1}
    assert noise["per_image"]["protected_swap_status"][0] == "failed"
    assert noise["per_image"]["similarity_dlib"][0] is None  # the failed pair has no similarity ...
    assert len(noise["per_image"]["source"]) == 6  # ... but keeps its row
    # the stand-in's 'swap' is the source itself: clean vs clean is 1, and every swap is the source
    assert cells["clean"]["values"]["similarity"]["dlib"] == pytest.approx(1.0)
    assert cells["clean"]["values"]["identified_as_source"]["dlib"] == pytest.approx(1.0)
    assert 0.5 < noise["values"]["similarity"]["dlib"] < 1.0
    markdown = (tmp_path / "t3" / "tables" / "table3.md").read_text()
    assert "source_paste: pairs without a swap" in markdown and "1 of 6" in markdown
    assert "1 of 6 pairs without a swap" in markdown


def test_a_second_run_resumes_from_the_store(tmp_path: Path, six_faces):
    components = Components(load_dataset=lambda cfg: six_faces)
    build = lambda spec: SourcePaste()  # noqa: E731
    table3.run(config(tmp_path), components=components, build_swapper=build)
    again = table3.run(config(tmp_path), components=components, build_swapper=build)
    assert again.computed == [] and len(again.skipped) == 2
    readme = table3.write_readme(again.experiment, "python -m benchmarks.table3 x=1", 2.0, (0.5, 0.7)).read_text()
    assert "python -m benchmarks.table3 x=1" in readme and "| noise | source_paste |" in readme
    assert "Table 3 — identity similarity" in readme  # the table itself, from the cells


def test_pairs_are_the_same_for_every_protector_and_differ_by_seed(tmp_path: Path):
    cfg = config(tmp_path)
    keys = {job.key.config_hash for job in table3.plan(cfg, table3.protector_specs(cfg))}
    assert len(keys) == 2
    cfg["pairs"]["seed"] = 1
    assert keys.isdisjoint(job.key.config_hash for job in table3.plan(cfg, table3.protector_specs(cfg)))


def test_an_unknown_swapper_names_the_registered_ones(tmp_path: Path):
    cfg = config(tmp_path) | {"swappers": ["faceswapper9000"]}
    with pytest.raises(BenchmarkError, match=r"unknown swapper\(s\) \['faceswapper9000'\]; registered: .*landmark"):
        table3.run(cfg)


def test_the_demo_entry_composes_the_offline_table(tmp_path: Path):
    cfg = table3.offline_config(
        tmp_path, protectors=["clean", "nullswap"], protector_options={"nullswap": {"checkpoint": "/x.pt"}}
    )
    assert cfg["swappers"] == ["landmark"] and cfg["protectors"] == ["clean", "nullswap"]
    assert cfg["protector_options"]["nullswap"]["checkpoint"] == "/x.pt"
    assert Path(cfg["output_root"]) == tmp_path and cfg["experiment"] == "table3-offline"
