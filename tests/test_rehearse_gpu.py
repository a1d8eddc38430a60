"""``make rehearse-gpu`` (benchmarks/tools/rehearse_gpu.py), checked where no GPU is: its refusals, its plan,
its report, and the parts that run on a CPU (SimSwap's builder; an upstream's failure reported with its error).
The rehearsal itself needs a CUDA device and the upstream trees; it is run by hand on a GPU machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmarks.tools import rehearse_gpu
from nullswap import standin
from nullswap.provenance import REPO_ROOT
from nullswap.upstream import rehearsal

needs_no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")


@needs_no_gpu
def test_without_cuda_it_refuses_before_building_anything(tmp_path: Path, monkeypatch, capsys):
    (tmp_path / "sources" / "simswap").mkdir(parents=True)
    monkeypatch.setenv(rehearsal.SOURCES_VARIABLE, str(tmp_path / "sources"))
    assert rehearse_gpu.main(["--out", str(tmp_path / "out")]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_without_the_upstream_trees_it_says_which_variable_to_set(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.delenv(rehearsal.SOURCES_VARIABLE, raising=False)
    assert rehearse_gpu.main(["--only", "uniface", "--out", str(tmp_path / "out")]) == 2
    assert "NULLSWAP_UPSTREAM_SOURCES is not set" in capsys.readouterr().err


def test_only_cuda_devices_and_known_upstreams_are_accepted():
    with pytest.raises(SystemExit):
        rehearse_gpu.main(["--device", "cpu"])
    with pytest.raises(SystemExit):
        rehearse_gpu.main(["--only", "infoswap"])  # rehearsed on the CPU by make test-upstream


def test_check_lists_every_upstream_with_what_it_lacks(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv(rehearsal.SOURCES_VARIABLE, str(tmp_path))
    code = rehearse_gpu.main(["--check"])
    out = capsys.readouterr().out
    assert code == 1  # no CUDA, no trees here
    for name in ("simswap", "uniface", "e4s", "diffswap", "dfrap-simswap"):
        assert f"\n{name} " in out
    assert "needs a real SCRFD face detector ONNX" in out and "has no simswap/ tree" in out


def test_the_report_is_headed_as_a_rehearsal_and_never_written_under_results(tmp_path: Path):
    outcomes = [rehearse_gpu.Outcome("uniface", "ok", seconds=12.0, interpreter="pinned environment x",
                                     items=["ok", "ok"]),
                rehearse_gpu.Outcome("e4s", "FAILED", error="RuntimeError: Ninja is required", seconds=3.0),
                rehearse_gpu.Outcome("simswap", "skipped", error="needs a real SCRFD face detector ONNX")]
    report = rehearse_gpu.write_report(outcomes, tmp_path, {"device": "cuda:0", "name": "H200", "arch": "sm_90"})
    text = report.read_text()
    assert text.startswith(f"# {standin.REHEARSAL_HEADER}")
    assert "| uniface | ok | 2/2 |" in text and "| e4s | FAILED | - |" in text and "Ninja is required" in text
    assert json.loads((tmp_path / "report.json").read_text())["outcomes"][2]["status"] == "skipped"
    assert outcomes[1].line().startswith("e4s            FAILED in 3 s — RuntimeError")
    with pytest.raises(ValueError, match="never written under the repository's results"):
        rehearse_gpu.write_report(outcomes, REPO_ROOT / "results" / "gpu-rehearsal", {})
    assert not (REPO_ROOT / "results" / "gpu-rehearsal").exists()


@pytest.mark.upstream
@needs_no_gpu
def test_simswaps_stand_ins_build_on_a_cpu_and_a_run_without_cuda_is_reported_with_its_error(tmp_path: Path):
    reason = rehearsal.missing_reason("simswap")
    if reason:
        pytest.skip(f"needs SimSwap's upstream tree: {reason}")
    target = rehearse_gpu.TARGETS["simswap"]
    assert rehearse_gpu.builder_inputs(target, None)[1].startswith("needs a real SCRFD face detector ONNX")
    detector = tmp_path / "not-a-detector.onnx"  # the driver stops before it would load it
    detector.write_bytes(b"\0")
    outcome = rehearse_gpu.rehearse(target, tmp_path / "work", "cuda:0", detector, timeout=300)
    assert outcome.status == "FAILED" and "needs a CUDA GPU" in outcome.error, outcome.info.get("traceback")
    assert outcome.interpreter == rehearsal.PROJECT_INTERPRETER
    checkout = tmp_path / "work" / "checkout"
    for path in ("checkpoints/people/latest_net_G.pth", "arcface_model/arcface_checkpoint.tar",
                 "insightface_func/models/antelope/scrfd_10g_bnkps.onnx"):
        assert standin.read(checkout / path) is not None  # built by the upstream's own classes, marked
