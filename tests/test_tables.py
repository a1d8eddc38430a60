"""Tables and figures come from cell files only and always show the paper's value beside the measured one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from PIL import Image

from benchmarks.cli import CONFIG_DIR, REPO_ROOT, register_resolvers
from benchmarks.execute import run
from benchmarks.report import cli, paper
from benchmarks.report.write import build_tables
from benchmarks.store import CellKey, CellOutput, ResultStore, config_hash
from benchmarks.workspace import Components
from nullswap.data.base import FaceSet
from tests import paper_facts
from tests.sample_subsets import balanced_sample_views

PAPER_FOUR = ["arcface", "facenet", "vggface", "sface-deepface"]


def _dataset(n: int, name: str = "celebahq") -> dict[str, Any]:
    return paper_facts.dataset(n, name)


def write_cell(
    store: ResultStore,
    table: str,
    protector: str,
    evaluator: str,
    output: CellOutput,
    run_config: dict[str, Any],
    dataset: str = "celebahq",
    seed: int = 0,
) -> CellKey:
    config = {"table": table, "protector": protector, "evaluator": evaluator, "seed": seed}
    key = CellKey(table, dataset, protector, evaluator, seed, config_hash(config))
    store.ensure(key, config, lambda: output, run_config=run_config)
    return key


@pytest.fixture
def paper_setting_cells(tmp_path: Path) -> Path:
    """Hand-written Table 2 cells in the paper's setting: clean and nullswap × the four recognizers, with the
    facts a real run records (weight files, the checkpoint's training)."""
    store = ResultStore(tmp_path)
    run_config = {"protectors": ["clean", "nullswap"], "recognizers": PAPER_FOUR}
    measured = {"clean": (0.900, 0.800), "nullswap": (0.500, 0.300)}
    for protector, (top5, top1) in measured.items():
        for i, rec in enumerate(PAPER_FOUR):
            write_cell(
                store,
                "table2",
                protector,
                rec,
                CellOutput(
                    "identification",
                    {"top1": top1 - 0.01 * i, "top5": top5 - 0.01 * i, "verified_rate": 0.5},
                    counts={"images": 2824, "probes": 2800, "identities": 600},
                    provenance={"dataset": _dataset(2824), "recognizer": paper_facts.recognizer(rec),
                                **({"protector": paper_facts.nullswap()} if protector == "nullswap" else {})},
                ),
                run_config,
            )
    write_cell(
        store,
        "table2",
        "nullswap",
        "visual",
        CellOutput(
            "visual",
            {"psnr": 40.0, "ssim": 0.98, "perceptual": 0.006, "perceptual_name": "lpips-alex"},
            counts={"images": 2824},
            provenance={"dataset": _dataset(2824), "protector": paper_facts.nullswap(),
                        "perceptual": paper_facts.lpips()},
        ),
        run_config,
    )
    return tmp_path


def test_identification_tables_show_the_paper_value_beside_each_measured_one(
    paper_setting_cells: Path,
) -> None:
    written = build_tables(paper_setting_cells)
    out = paper_setting_cells / "tables"
    assert {p.name for p in written} >= {
        "table2.csv",
        "table2.md",
        "table2.tex",
        "table2_acc1.png",
        "table2_fidelity.png",
    }
    markdown = (out / "table2.md").read_text()
    assert "0.900 / 0.800 (paper 0.980 / 0.976)" in markdown  # arcface × clean
    assert "0.470 / 0.270 (paper 0.658 / 0.513)" in markdown  # sface-deepface × nullswap
    assert "0.485 / 0.285 (paper 0.711 / 0.565)" in markdown  # the Average row, both sides
    assert "40.00 (paper 41.31)" in markdown and "0.0060 (paper 0.0049)" in markdown
    assert "the paper's setting" in markdown and "not the paper's setting" not in markdown
    assert "2,824 of 2,824 images" in markdown and "2800 probes" in markdown
    frame = pd.read_csv(out / "table2.csv")
    row = frame[
        (frame.protector == "nullswap") & (frame.evaluator == "arcface") & (frame.metric == "top1")
    ].iloc[0]
    assert row.measured == pytest.approx(0.300) and row.paper == pytest.approx(0.628) and row.n_seeds == 1
    latex = (out / "table2.tex").read_text()
    assert "\\begin{table}" in latex and "\\caption{" in latex and "paper 0.980 / 0.976" in latex


def test_tables_need_nothing_but_the_cell_files(paper_setting_cells: Path) -> None:
    build_tables(paper_setting_cells)
    first = (paper_setting_cells / "tables" / "table2.md").read_text()
    shutil.rmtree(paper_setting_cells / "tables")
    assert cli.main([str(paper_setting_cells)]) == 0
    assert (paper_setting_cells / "tables" / "table2.md").read_text() == first


def test_newest_cell_wins_and_seeds_are_averaged(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    run_config = {"protectors": ["nullswap"], "recognizers": ["arcface"]}
    for seed, top1 in ((0, 0.2), (1, 0.4)):
        write_cell(
            store,
            "table5",
            "dlw",
            "arcface",
            CellOutput("identification", {"top1": top1, "top5": 0.9}),
            run_config,
            seed=seed,
        )
    build_tables(tmp_path)
    markdown = (tmp_path / "tables" / "table5.md").read_text()
    assert "0.300 (paper 0.628)" in markdown
    frame = pd.read_csv(tmp_path / "tables" / "table5.csv")
    row = frame[(frame.evaluator == "arcface") & (frame.metric == "top1")].iloc[0]
    assert row.n_seeds == 2 and row.measured_std == pytest.approx(0.1414, abs=1e-3)


def test_a_column_never_mixes_two_configurations_of_its_protector(tmp_path: Path) -> None:
    """A retrained NullSwap measured again on one recognizer hides its predecessor's other cells."""
    import time

    store = ResultStore(tmp_path)
    run_config = {"protectors": ["nullswap"], "recognizers": ["arcface", "facenet"]}

    def cell(checkpoint: str, evaluator: str, top1: float) -> None:
        config = {"table": "table2", "protector": {"name": "nullswap", "options": {"checkpoint": checkpoint}},
                  "evaluator": evaluator}
        key = CellKey("table2", "celebahq", "nullswap", evaluator, 0, config_hash(config))
        store.ensure(key, config, lambda: CellOutput("identification", {"top1": top1, "top5": 1.0}),
                     run_config=run_config)
        time.sleep(1.1)  # cells are ordered by their finishing second

    cell("old.pt", "arcface", 0.5)
    cell("old.pt", "facenet", 0.6)
    cell("new.pt", "arcface", 0.1)
    build_tables(tmp_path)
    frame = pd.read_csv(tmp_path / "tables" / "table2.csv")
    top1 = frame[(frame.protector == "nullswap") & (frame.metric == "top1")].set_index("evaluator")["measured"]
    assert top1.drop("average", errors="ignore").to_dict() == {"arcface": pytest.approx(0.1)}  # 0.6: old checkpoint
    assert "2 older cells with other configurations were set aside" in (tmp_path / "tables" / "table2.md").read_text()


def test_the_offline_perceptual_metric_is_never_called_lpips(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    for protector, value in (("cmua", 0.03), ("nullswap", 0.01)):
        write_cell(
            store,
            "table1",
            protector,
            "visual",
            CellOutput(
                "visual",
                {"psnr": 39.0, "ssim": 0.97, "perceptual": value, "perceptual_name": "stlpips-alex"},
                provenance={"dataset": _dataset(40, "sample")},
            ),
            {"protectors": ["cmua", "nullswap"]},
            dataset="sample",
        )
    build_tables(tmp_path)
    markdown = (tmp_path / "tables" / "table1.md").read_text()
    header_row = next(line for line in markdown.splitlines() if line.startswith("| protector"))
    assert "ST-LPIPS" in header_row and "| LPIPS" not in header_row
    assert "0.0100 (paper LPIPS 0.0049)" in markdown and "39.00 (paper 41.31)" in markdown
    assert "not the paper's setting" in markdown and "offline sample, 40 faces" in markdown
    assert (tmp_path / "tables" / "table1_visual.png").is_file()


@pytest.fixture(scope="module")
def sample_faces() -> FaceSet:
    """Nine real aligned faces of the offline sample set: three identities, three images each."""
    return balanced_sample_views(identities=3, per_identity=3)


def test_a_real_offline_run_builds_labelled_tables_and_figures(sample_faces: FaceSet, tmp_path: Path) -> None:
    config = {
        "table": "table2",
        "experiment": "offline",
        "output_root": str(tmp_path),
        "dataset": {"name": "sample", "split": "test", "views": True, "root": None, "max_images": None},
        "protectors": ["clean", "noise"],
        "protector_options": {"noise": {"target_psnr": 30.0}},
        "recognizers": ["sface-onnx", "mobilefacenet"],
        "identification": True,
        "visual": True,
        "perceptual": "stlpips-alex",
        "seed": 0,
        "device": "cpu",
        "batch_size": 9,
        "build_tables": True,
    }
    report = run(config, components=Components(load_dataset=lambda cfg: sample_faces), check_registries=True)
    names = {p.name for p in report.outputs}
    assert {
        "table2.md",
        "table2.csv",
        "table2.tex",
        "table2_acc1.png",
        "table2_fidelity.png",
        "qualitative_sample.png",
    } <= names
    markdown = (report.experiment / "tables" / "table2.md").read_text()
    assert "offline sample, 9 faces; not the paper's setting" in markdown
    assert "sface-onnx†" in markdown and "(paper 0.804 / 0.791)" in markdown  # same SFace network
    mobilefacenet_row = next(line for line in markdown.splitlines() if line.startswith("| mobilefacenet"))
    assert "paper" not in mobilefacenet_row  # not in the paper: no empty reference beside the value
    assert "ST-LPIPS" in markdown and "views" in markdown
    for path in report.outputs:
        if path.suffix == ".png":
            with Image.open(path) as image:
                assert image.size[0] > 200 and image.size[1] > 150
    shutil.rmtree(report.experiment / "cache")  # tables need only the cells
    rebuilt = build_tables(report.experiment)
    assert (report.experiment / "tables" / "table2.md").read_text() == markdown
    assert "qualitative_sample.png" not in {p.name for p in rebuilt}


def test_runner_configs_compose_for_paper_offline_and_slurm() -> None:
    from hydra import compose, initialize_config_dir

    register_resolvers()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("table2")
        assert list(cfg.protectors) == ["clean", *[m for m in paper.METHODS.values() if m != "clean"]]
        assert list(cfg.recognizers) == PAPER_FOUR and cfg.dataset.name == "celebahq"
        assert cfg.dataset.split == "test" and cfg.perceptual == "lpips-alex"
        offline = compose("table4", overrides=["setting=offline"])
        assert offline.dataset.name == "sample" and list(offline.recognizers) == [
            "dlib",
            "sface",
            "mobilefacenet",
            "mobilefacenet@redetect",
            "dlib-cpp@redetect",
        ]
        assert offline.perceptual == "stlpips-alex" and offline.experiment == "sample-offline"
        table5 = compose("table5", overrides=["setting=offline"])
        assert list(table5.train.recognizers) == ["dlib", "sface"] and list(table5.protectors) == [
            "session1",
            "session2",
            "session3",
            "dlw",
        ]
        slurm = compose("table2", overrides=["+slurm=a100"], return_hydra_config=True)
        launcher = slurm.hydra.launcher
        assert launcher._target_.endswith("SlurmLauncher") and launcher.gpus_per_node == 1
        assert compose("table1", return_hydra_config=True).hydra.launcher._target_.endswith("BasicLauncher")


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("NULLSWAP_TRACEBACK", None)
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.table2", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_cli_reports_configuration_and_data_problems_without_a_traceback(tmp_path: Path) -> None:
    unknown = _cli("protectors=[clean,no-such-defence]", f"output_root={tmp_path}")
    assert (
        unknown.returncode == 2 and "no-such-defence" in unknown.stderr and "Traceback" not in unknown.stderr
    )
    missing = _cli(
        "protectors=[clean]",
        "recognizers=[mobilefacenet]",
        "visual=false",
        f"dataset.root={tmp_path / 'no-celebahq-here'}",
        f"output_root={tmp_path}",
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "error (" in missing.stderr


def test_swap_cells_make_table3_with_both_recognizers_beside_the_paper(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    for protector, (arc, vgg) in {"cmua": (0.9, 0.88), "nullswap": (0.2, 0.25)}.items():
        write_cell(
            store,
            "table3",
            protector,
            "simswap",
            CellOutput("swap", {"similarity": {"arcface": arc, "vggface": vgg}}, counts={"pairs": 100}),
            {"protectors": ["cmua", "nullswap"]},
        )
    build_tables(tmp_path)
    markdown = (tmp_path / "tables" / "table3.md").read_text()
    assert "0.200 / 0.250 (paper 0.217 / 0.240)" in markdown
    assert "0.900 / 0.880 (paper 0.921 / 0.930)" in markdown
    assert "similarity under arcface / vggface" in markdown
    assert "not the paper's setting: swappers missing: infoswap, uniface, e4s, diffswap" in markdown
