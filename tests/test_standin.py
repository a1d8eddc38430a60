"""Stand-in weights never pass for real ones: marked on disk, carried into every cell, headed in every table."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks.report import render
from benchmarks.report.builders import build_identification
from benchmarks.store import REHEARSAL_MARKER, CellKey, CellOutput, RehearsalError, ResultStore, config_hash
from nullswap import standin
from nullswap.provenance import REPO_ROOT


def _weight(tmp_path: Path, content: bytes = b"random weights") -> Path:
    path = tmp_path / "checkpoints" / "model.ckpt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _cell(store: ResultStore, protector: str, provenance: dict, evaluator: str = "sface") -> CellKey:
    config = {"table": "table2", "protector": protector, "evaluator": evaluator}
    key = CellKey("table2", "celebahq", protector, evaluator, 0, config_hash(config))
    output = CellOutput(
        "identification",
        {"top1": 0.5, "top5": 0.75},
        counts={"images": 36, "probes": 24, "identities": 12},
        provenance=provenance,
    )
    store.ensure(key, config, lambda: output, run_config={"protectors": [protector], "recognizers": [evaluator]})
    return key


def test_a_marked_file_reads_as_a_stand_in_and_a_replaced_one_does_not(tmp_path: Path) -> None:
    path = _weight(tmp_path)
    assert standin.read(path) is None
    marker = standin.mark(path, made_by="test")
    assert marker.name == "model.ckpt.standin.json"
    record = standin.read(path)
    assert record is not None and record["reason"] == standin.RANDOM_WEIGHTS and record["made_by"] == "test"
    path.write_bytes(b"the real weights, same folder")  # the user put the published file in place
    assert standin.read(path) is None, "a marker whose sha256 no longer matches is stale and ignored"


def test_reasons_are_found_anywhere_in_a_nested_provenance(tmp_path: Path) -> None:
    path = _weight(tmp_path)
    standin.mark(path)
    provenance = {"protector": {"upstream": {"weights": [standin.record(path), {"file": "real.pth"}]}}}
    assert standin.reasons(provenance) == [f"{path}: {standin.RANDOM_WEIGHTS}"]
    assert standin.reasons({"protector": {"weights": {"a": "sha"}}}) == []


def test_a_real_results_folder_refuses_a_cell_computed_with_a_stand_in(tmp_path: Path) -> None:
    path = _weight(tmp_path)
    standin.mark(path)
    store = ResultStore(tmp_path / "real")
    with pytest.raises(RehearsalError, match="stand-in weights"):
        _cell(store, "initiative", {"protector": standin.record(path)})
    assert not list((tmp_path / "real").rglob("*.json")), "nothing was written"


def test_a_rehearsal_folder_stores_the_stand_ins_with_each_cell(tmp_path: Path) -> None:
    path = _weight(tmp_path)
    standin.mark(path)
    store = ResultStore(tmp_path / "rehearsal", rehearsal=True)
    assert (tmp_path / "rehearsal" / REHEARSAL_MARKER).is_file()
    key = _cell(store, "initiative", {"protector": standin.record(path)})
    cell = store.read(key)
    assert cell["rehearsal"]["reasons"] == [f"{path}: {standin.RANDOM_WEIGHTS}"]


def test_a_real_run_refuses_to_fill_a_rehearsal_folder(tmp_path: Path) -> None:
    ResultStore(tmp_path, rehearsal=True)
    with pytest.raises(RehearsalError, match="holds rehearsal cells"):
        _cell(ResultStore(tmp_path), "clean", {})


def test_a_rehearsal_is_refused_under_the_repositorys_results_folder() -> None:
    with pytest.raises(RehearsalError, match="results/"):
        ResultStore(REPO_ROOT / "results" / "some-rehearsal", rehearsal=True)
    assert not (REPO_ROOT / "results" / "some-rehearsal").exists()


def test_tables_of_rehearsal_cells_are_headed_as_a_rehearsal_and_cannot_lose_the_header(tmp_path: Path) -> None:
    path = _weight(tmp_path)
    standin.mark(path)
    store = ResultStore(tmp_path / "rehearsal", rehearsal=True)
    _cell(store, "clean", {})
    _cell(store, "initiative", {"protector": standin.record(path)})
    build = build_identification("table2", "celebahq", list(store.cells()), 0)
    assert build.header.startswith(standin.REHEARSAL_HEADER)
    assert "model.ckpt" in build.header and "the paper's setting" not in build.header.replace("not the paper", "")
    assert render.markdown(build).splitlines()[2].startswith(standin.REHEARSAL_HEADER)
    assert "REHEARSAL --- random weights, not results" in render.latex(build, "t2")
    stripped = replace(build, header=build.header.split("; ", 1)[1])
    with pytest.raises(ValueError, match="refusing to render"):
        render.markdown(stripped)


def test_real_cells_carry_no_rehearsal_header(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    _cell(store, "clean", {})
    build = build_identification("table2", "celebahq", list(store.cells()), 0)
    assert not build.rehearsal and standin.REHEARSAL_HEADER not in build.header
    assert "rehearsal" not in store.read(next(iter([CellKey(**c["key"]) for c in store.cells()])))
