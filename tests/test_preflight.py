"""A missing piece never costs its neighbours: every missing baseline, weight file and checkpoint is named
at once, before the first cell, and every cell that does not need it is computed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.errors import MissingPieces, user_errors
from benchmarks.execute import run
from benchmarks.plan import protector_specs
from benchmarks.protector_options import checkpoint_problem
from benchmarks.store import ResultStore
from benchmarks.workspace import Components
from nullswap.provenance import REPO_ROOT
from nullswap.upstream.errors import UpstreamNotReady
from tests.sample_subsets import balanced_sample_views


def config(tmp_path: Path, **changes: object) -> dict:
    nowhere = tmp_path / "nowhere"
    cfg = {
        "table": "table2",
        "experiment": "exp",
        "output_root": str(tmp_path / "results"),
        "dataset": {"name": "sample", "split": "test", "views": True, "root": None, "max_images": None},
        "protectors": ["clean", "noise", "dfrap", "cmua", "nullswap"],
        "protector_options": {
            "noise": {"target_psnr": 35.0},
            "dfrap": {"root": str(nowhere / "upstream")},          # no checkout there
            "cmua": {"perturbation_path": str(nowhere / "perturbation.pt")},
            "nullswap": {"checkpoint": str(nowhere / "last.pt")},
        },
        "recognizers": ["mobilefacenet"],
        "identification": True,
        "visual": False,
        "perceptual": None,
        "seed": 0,
        "device": "cpu",
        "batch_size": 8,
        "build_tables": True,
    }
    cfg.update(changes)
    return cfg


def test_an_upstream_that_is_not_ready_is_a_user_error():
    assert issubclass(UpstreamNotReady, user_errors())


def test_every_missing_piece_is_named_at_once_and_the_other_columns_are_computed(tmp_path: Path):
    faces = balanced_sample_views(identities=3, per_identity=4)
    with pytest.raises(MissingPieces) as missing:
        run(config(tmp_path), components=Components(load_dataset=lambda cfg: faces), check_registries=True)
    error = missing.value
    assert set(error.problems) == {"protector dfrap", "protector cmua", "protector nullswap: checkpoint"}
    message = str(error)
    assert "3 cell(s) not computed: 3 missing piece(s)" in message
    assert "UpstreamNotReady" in message and "git clone https://github.com/ZOMIN28/DF_RAP" in message
    assert "MissingWeightsError" in message and "perturbation.pt" in message and "pan.baidu.com" in message
    assert "last.pt does not exist" in message
    done = {key.protector for key in error.report.computed}
    assert done == {"clean", "noise"}, "the columns whose pieces exist were computed"
    assert (error.report.experiment / "tables" / "table2.md").is_file()
    assert len(list(ResultStore(error.report.experiment).cells())) == 2


def test_the_paper_setting_never_measures_the_offline_generator_in_nullswaps_place(tmp_path: Path):
    paper = protector_specs({"protectors": ["nullswap"], "protector_options": {}, "setting": "paper"})[0]
    assert paper.options["checkpoint"] is None
    assert "the paper's setting measures a NullSwap trained in it" in checkpoint_problem(paper)
    offline = protector_specs({"protectors": ["nullswap"], "protector_options": {}, "setting": "offline"})[0]
    assert offline.options["checkpoint"] and checkpoint_problem(offline) is None


def test_the_command_line_reports_every_missing_piece_without_a_traceback(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.table2", f"output_root={tmp_path}", "dataset.max_images=6",
         "protectors=[clean,initiative,dfrap,nullswap]", "recognizers=[mobilefacenet]", "visual=false",
         f"+protector_options.initiative.root={tmp_path / 'none'}", f"+protector_options.dfrap.root={tmp_path / 'none'}",
         "dataset=sample", "device=cpu", "sanity_gate=false"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    for piece in ("protector initiative", "protector dfrap", "protector nullswap: checkpoint"):
        assert piece in result.stderr
    assert "1 cells computed" in result.stdout  # clean × mobilefacenet
