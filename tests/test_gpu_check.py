"""``make gpu-check`` on a machine without a GPU: its plan, its arithmetic and its report are checked here;
its measurements need the GPU it is made for (``--tiny-cpu`` runs every phase's code path on the CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.tools import gpu_check


def test_without_a_gpu_it_says_so_and_offers_the_dry_run(capsys, monkeypatch):
    monkeypatch.setattr(gpu_check, "_gpu_count", lambda: 0)
    assert gpu_check.main([]) == 2
    assert "no CUDA device here" in capsys.readouterr().err


def test_a_non_positive_budget_is_refused():
    with pytest.raises(SystemExit):
        gpu_check.main(["--minutes", "0", "--dry-run"])


@pytest.mark.parametrize("offline_set_built", [True, False])
def test_the_dry_run_plans_every_phase_and_writes_its_report(offline_set_built, tmp_path: Path, monkeypatch):
    """Whatever this machine holds: a dry run plans the offline recipe even where its data set is not built
    yet, and says so."""
    import nullswap.data.offline

    monkeypatch.setattr(nullswap.data.offline, "is_built", lambda *a, **k: offline_set_built)
    assert gpu_check.main(["--dry-run", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    phases = {p["name"]: p for p in report["phases"]}
    assert list(phases) == list(gpu_check.PHASES) and report["dry_run"]
    assert "-m cuda" in phases["cuda-tests"]["commands"][0]
    assert any("--batch 32" in c and "train.amp=bf16" in c and "experiment=paper" in c
               for c in phases["paper-step"]["commands"])
    assert any("--batch 256" in c for c in phases["paper-step"]["commands"])
    assert phases["ddp"]["status"] == "skipped" and "GPU(s) present" in phases["ddp"]["detail"]
    markdown = (tmp_path / "report.md").read_text()
    assert "Dry run: the plan only" in markdown and "experiment=offline" in markdown
    assert phases["offline-recipe"]["status"] == "planned"
    assert ("make offline-data" in phases["offline-recipe"]["detail"]) is not offline_set_built
    assert not list(tmp_path.rglob("*.pt")), "a dry run trains nothing"


def test_gpu_hours_follow_the_measured_step_time_and_the_stated_ratio():
    # 0.4 s per step at the per-GPU batch here, A100 2.5× slower, 8 GPUs, 5,640 steps
    assert gpu_check.gpu_hours(0.4) == pytest.approx(5_640 * 0.4 * 2.5 * 8 / 3600)
    assert gpu_check.PAPER_STEPS == 5_640 and gpu_check.PAPER_BATCH // gpu_check.PAPER_GPUS == 32


def test_the_report_gives_steps_memory_and_the_gpu_hours_of_each_paper_table(tmp_path: Path):
    step = {"batch_global": 32, "batch_per_gpu": 32, "steps_per_s": 2.5, "seconds_per_step": 0.4,
            "peak_memory_gib": 41.2}
    phases = [gpu_check.Phase("cuda-tests", "ok", 40.0, facts={"summary": "3 passed"}),
              gpu_check.Phase("paper-step", "ok", 120.0, facts={"weights": "the paper's weight files",
                                                                 "batch 32": step,
                                                                 "batch 256": {"error": "out of memory"}}),
              gpu_check.Phase("ddp", "skipped", 0.0, detail="1 GPU(s) present")]
    text = (gpu_check.write_report(tmp_path, phases)).read_text()
    assert "| 32 | 32 | 2.5 | 0.4 | 41.2 GiB |" in text and "| 256 | – | out of memory |" in text
    one = gpu_check.gpu_hours(0.4)
    assert f"| Table 2 (its NullSwap column) | 1 × 5,640 | {one:.1f} |" in text
    assert f"| Table 5 (four sessions) | 4 × 5,640 | {4 * one:.1f} |" in text
    assert "assumed A100 : this GPU step time = 2.5 : 1" in text


def test_the_training_rate_leaves_out_the_first_steps_start_up(tmp_path: Path):
    log = tmp_path / "train_log.csv"
    log.write_text("step,seconds\n1,30.0\n2,30.5\n3,31.0\n")
    assert gpu_check._steps_per_second(log) == pytest.approx(2.0)


@pytest.mark.slow
def test_tiny_cpu_mode_runs_every_phase_code_path(tmp_path: Path):
    assert gpu_check.main(["--tiny-cpu", "--out", str(tmp_path), "--minutes", "20"]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    status = {p["name"]: p["status"] for p in report["phases"]}
    assert status == {"cuda-tests": "ok", "paper-step": "ok", "ddp": "skipped", "offline-recipe": "ok"}
    assert "These numbers measure nothing" in (tmp_path / "report.md").read_text()
