"""Every table header and figure says what was measured, from the facts in the cells, and calls it "the
paper's setting" only when every fact holds — otherwise it says what differs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from benchmarks.report import figures
from benchmarks.report.builders import build_identification, build_visual
from benchmarks.report.write import build_tables
from benchmarks.store import CellKey, CellOutput, ResultStore, config_hash
from nullswap import standin
from tests import paper_facts

PAPER_FOUR = ["arcface", "facenet", "vggface", "sface-deepface"]
PAPER = "the paper's setting"


def _write(store: ResultStore, protector: str, evaluator: str, provenance: dict[str, Any],
           run_config: dict[str, Any] | None = None, table: str = "table2", notes: list[str] | None = None,
           registry: str | None = None) -> None:
    config = {"table": table, "protector": {"name": protector, "registry": registry or protector},
              "evaluator": evaluator}
    key = CellKey(table, "celebahq", protector, evaluator, 0, config_hash(config))
    if evaluator == "visual":
        output = CellOutput("visual", {"psnr": 40.0, "ssim": 0.98, "perceptual": 0.005,
                                       "perceptual_name": "lpips-alex"}, counts={"images": 2824},
                            provenance=provenance, notes=notes or [])
    else:
        output = CellOutput("identification", {"top1": 0.5, "top5": 0.7}, counts={"images": 2824, "probes": 2800},
                            provenance=provenance, notes=notes or [])
    store.ensure(key, config, lambda: output,
                 run_config=run_config or {"protectors": ["clean", protector], "recognizers": PAPER_FOUR})


def table2(tmp_path: Path, *, dataset: dict | None = None, recognizer: dict | None = None,
           training: dict | None = None, run_config: dict | None = None, lpips: dict | None = None,
           store: ResultStore | None = None) -> list[dict[str, Any]]:
    """Table 2's cells (clean and nullswap × the paper's four, nullswap's visual cell) with one fact changed."""
    store = store or ResultStore(tmp_path)
    data = dataset or paper_facts.dataset(2824)
    for protector in ("clean", "nullswap"):
        described = {"protector": paper_facts.nullswap(**(training or {}))} if protector == "nullswap" else {}
        for rec in PAPER_FOUR:
            _write(store, protector, rec, {"dataset": data, "recognizer": paper_facts.recognizer(rec, **(recognizer or {})),
                                           **described}, run_config)
    _write(store, "nullswap", "visual", {"dataset": data, "perceptual": paper_facts.lpips(**(lpips or {})),
                                         "protector": paper_facts.nullswap(**(training or {}))}, run_config)
    return list(store.cells())


def header(cells: list[dict[str, Any]]) -> str:
    return build_identification("table2", "celebahq", cells, 0).header


def test_every_fact_of_the_paper_makes_the_paper_setting_and_is_named(tmp_path: Path) -> None:
    text = header(table2(tmp_path))
    assert text.endswith(PAPER + "; 2800 probes") and "not the paper's" not in text
    assert "CelebA-HQ (test split), 2,824 of 2,824 images" in text
    assert "arcface (no published hash, sha256 abababab)" in text
    assert "perceptual metric: LPIPS (lpips-alex, sha256 ok)" in text
    assert "NullSwap checkpoint: nullswap trained 5,640 steps against arcface, facenet on 24,183 celebahq-train images" in text


def test_a_subset_of_the_test_split_is_not_the_paper_setting(tmp_path: Path) -> None:
    text = header(table2(tmp_path, dataset=paper_facts.dataset(36)))
    assert "36 of 2,824 images" in text
    assert "not the paper's setting: 36 of the test split's 2,824 images" in text


def test_a_val_split_run_says_it_is_the_val_split(tmp_path: Path) -> None:
    text = header(table2(tmp_path, dataset=paper_facts.dataset(6, split="val")))
    assert "CelebA-HQ (val split), 6 of 2,993 images" in text
    assert "the val split, not the test split the paper reports" in text
    assert "not the paper's setting" in text


def test_stand_in_recognizers_and_a_short_training_are_each_named(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, rehearsal=True)
    stand_in = tmp_path / "arcface_weights.pth"
    stand_in.write_bytes(b"random")
    standin.mark(stand_in)
    cells = table2(
        tmp_path, store=store,
        recognizer={"status": "STAND-IN", "standin_file": str(stand_in)},
        training={"steps": 3, "data": {"name": "celebahq-train", "split": "train", "n_images": 24},
                  "weight_files": {"arcface": {"deepface_arcface": paper_facts.weight_file(
                      "deepface_arcface", status="STAND-IN", standin_file=str(stand_in))}}},
        dataset=paper_facts.dataset(36),
    )
    text = header(cells)
    assert text.startswith(standin.REHEARSAL_HEADER)
    assert "arcface (stand-in)" in text and "stand-in weights for arcface, facenet, vggface, sface-deepface" in text
    assert "nullswap trained on 24 of the 24,183 train images, 3 of the paper's 5,640 steps (60 epochs)" in text
    assert "trained with stand-in weights: arcface_weights.pth" in text
    assert PAPER not in text.replace("not the paper's setting", "")


def test_the_offline_generator_in_the_nullswap_column_is_named_as_such(tmp_path: Path) -> None:
    offline = {"recognizers": ["dlib", "sface"], "steps": 1100, "batch_size": 8, "resolution": 128,
               "perceptual": "stlpips-alex", "data": {"name": "offline", "split": "train"}, "weight_files": {}}
    text = header(table2(tmp_path, training=offline))
    assert "nullswap trained against dlib, sface (paper: arcface, facenet), on offline (paper: CelebA-HQ train " \
           "split), 1,100 of the paper's 5,640 steps" in text
    assert "batch_size 8 (paper: 256)" in text and "perceptual stlpips-alex (paper: lpips-alex)" in text


def test_overrides_that_change_what_is_measured_are_named_and_placement_is_not(tmp_path: Path) -> None:
    run_config = {"protectors": ["clean", "nullswap"], "recognizers": PAPER_FOUR,
                  "command_line": ["device=cpu", "output_root=/tmp/x", "dataset.root=/data/celebahq",
                                   "protector_options.nullswap.checkpoint=/runs/last.pt",
                                   "protocol.ks=[1,10]", "train.steps=3", "train.lr_generator=1e-3"]}
    text = header(table2(tmp_path, run_config=run_config))
    assert "overrides: protocol.ks=[1,10] train.lr_generator=1e-3" in text and "train.steps" not in text
    assert "device=cpu" not in text and "dataset.root" not in text and "checkpoint=" not in text
    assert "not the paper's setting: overrides protocol.ks=[1,10] train.lr_generator=1e-3" in text


def test_table5_sessions_are_checked_against_their_own_training_recognizers(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    data = paper_facts.dataset(2824)
    for session, (recognizers, strategy) in {"session1": (["arcface"], "single"), "dlw": (["arcface", "facenet"], "dlw")}.items():
        for rec in PAPER_FOUR:
            _write(store, session, rec, {"dataset": data, "recognizer": paper_facts.recognizer(rec),
                                         "protector": paper_facts.nullswap(recognizers=recognizers, dlw=strategy)},
                   table="table5", registry="nullswap")
    assert build_identification("table5", "celebahq", list(store.cells()), 0).header.endswith(PAPER + "; 2800 probes")


def test_notes_keep_the_column_they_belong_to(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    data = paper_facts.dataset(36)
    _write(store, "session3", "visual", {"dataset": data}, table="table5", notes=["31 of 36 images identical"])
    _write(store, "dlw", "visual", {"dataset": data}, table="table5")
    _write(store, "dlw", "arcface", {"dataset": data}, table="table5", notes=["2 probes could not be embedded"])
    _write(store, "dlw", "facenet", {"dataset": data}, table="table5")
    notes = build_identification("table5", "celebahq", list(store.cells()), 0).notes
    assert "session3 (visual): 31 of 36 images identical" in notes
    assert "dlw (arcface): 2 probes could not be embedded" in notes


def test_an_older_cell_of_the_same_slot_does_not_hide_which_row_a_note_belongs_to(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    data = paper_facts.dataset(36)
    _write(store, "clean", "arcface", {"dataset": data})
    for registry in ("nullswap", "nullswap-retrained"):  # two configurations of the one slot nullswap × arcface
        _write(store, "nullswap", "arcface", {"dataset": data}, notes=["3 images skipped"], registry=registry)
    notes = build_identification("table2", "celebahq", list(store.cells()), 0).notes
    assert "nullswap (arcface): 3 images skipped" in notes


def test_figures_carry_the_setting_line_and_a_rehearsal_header(tmp_path: Path) -> None:
    cells = table2(tmp_path / "real", dataset=paper_facts.dataset(36))
    written = build_tables(tmp_path / "real")
    build = build_identification("table2", "celebahq", cells, 0)
    pngs = [p for p in written if p.suffix == ".png"]
    assert {p.name for p in pngs} >= {"table2_acc1.png", "table2_fidelity.png"}
    for png in pngs:
        metadata = Image.open(png).text
        assert metadata["Description"] == build.header and "36 of 2,824 images" in metadata["Description"]
        assert "Warning" not in metadata

    store = ResultStore(tmp_path / "rehearsal", rehearsal=True)
    stand_in = tmp_path / "facenet_weights.pth"
    stand_in.write_bytes(b"random")
    standin.mark(stand_in)
    table2(tmp_path, store=store, recognizer={"status": "STAND-IN", "standin_file": str(stand_in)})
    for png in (p for p in build_tables(tmp_path / "rehearsal") if p.suffix == ".png"):
        metadata = Image.open(png).text
        assert metadata["Warning"] == standin.REHEARSAL_HEADER
        assert metadata["Description"].startswith(standin.REHEARSAL_HEADER)


def test_a_rehearsal_figure_without_its_header_is_refused(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, rehearsal=True)
    stand_in = tmp_path / "vgg_face_weights.pth"
    stand_in.write_bytes(b"random")
    standin.mark(stand_in)
    build = build_visual("table1", "celebahq", table2(tmp_path, store=store, lpips={
        "status": "STAND-IN", "standin_file": str(stand_in)}), 0)
    assert "stand-in LPIPS backbone" in build.header
    build.header = build.header.split("; ", 1)[1]
    with pytest.raises(ValueError, match="REHEARSAL"):
        figures.visual_bars(build, tmp_path / "t1.png")
