"""The cluster path without a cluster: profiles → sbatch scripts, sacct parsing, the status report.

Every dry run here runs with Slurm's commands hidden from ``PATH`` (:func:`no_slurm_on_path`), so a dry
run that still needed ``srun`` or ``sbatch`` fails on every machine, also on one where Slurm is installed.
(The same code against a real scheduler: tests/test_slurm.py, ``make test-slurm``.)
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import submitit

from benchmarks import status
from benchmarks.cli import CONFIG_DIR, register_resolvers
from benchmarks.errors import BenchmarkError
from benchmarks.execute import run
from benchmarks.plan import to_plain
from benchmarks.store import CellKey, ResultStore
from benchmarks.submit import Submission, record, submit
from nullswap import cluster

REPO_ROOT = Path(__file__).resolve().parent.parent
SLURM_COMMANDS = ("srun", "sbatch", "sacct", "squeue", "scancel", "sinfo")


@pytest.fixture
def no_slurm_on_path(tmp_path, monkeypatch) -> dict[str, str]:
    """``PATH`` is a folder holding only this Python, for this process and the commands it starts: the
    laptop or login node without Slurm where a user inspects a dry run.  Returns the environment for
    subprocesses."""
    folder = tmp_path / "python-only-bin"
    folder.mkdir()
    (folder / "python").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", str(folder))
    assert [name for name in SLURM_COMMANDS if shutil.which(name)] == []
    with pytest.raises(RuntimeError, match="srun"):  # submitit's own detection now sees no Slurm
        submitit.SlurmExecutor(folder=tmp_path / "never")
    return {**os.environ, "PATH": str(folder)}


def test_sacct_lines_become_one_state_per_array_task():
    text = "7_0|COMPLETED\n7_0.batch|COMPLETED\n7_1|CANCELLED by 0\n7_[2-4%2]|PENDING\n8|RUNNING\n"
    assert cluster.parse_sacct(text) == {
        "7_0": "COMPLETED", "7_1": "CANCELLED", "7_2": "PENDING", "7_3": "PENDING", "7_4": "PENDING",
        "8": "RUNNING",
    }


def test_profile_keys_become_submitit_parameters_and_unknown_keys_are_named():
    params, timeouts = cluster.executor_parameters(
        {"timeout_min": 60, "mem_gb": 64, "tasks_per_node": 8, "partition": "gpu", "qos": None,
         "max_num_timeout": 3, "_target_": "x", "submitit_folder": "y"}
    )
    assert params == {"time": 60, "mem": "64GB", "ntasks_per_node": 8, "partition": "gpu"} and timeouts == 3
    with pytest.raises(cluster.ClusterConfigError, match="gpu_count"):
        cluster.executor_parameters({"gpu_count": 8})
    with pytest.raises(cluster.ClusterConfigError, match="a100x8"):
        cluster.load_profile("no-such-profile")


def test_the_a100x8_dry_run_script_asks_for_a_whole_node_and_overrides_apply(
    tmp_path, monkeypatch, no_slurm_on_path
):
    for name in ("SLURM_PARTITION", "SLURM_ACCOUNT", "SLURM_QOS", "SLURM_CONSTRAINT"):
        monkeypatch.delenv(name, raising=False)
    launcher = cluster.load_profile("a100x8", ["account=proj42", "timeout_min=600"])
    script = cluster.sbatch_script(cluster.make_executor(tmp_path / "%j", launcher, dry_run=True))
    for line in ("--nodes=1", "--ntasks-per-node=8", "--gpus-per-node=8", "--cpus-per-task=8", "--mem=480GB",
                 "--partition=a100", "--constraint=a100", "--account=proj42", "--time=600",
                 "--signal=USR2@180", "--exclusive"):
        assert f"#SBATCH {line}\n" in script, line
    assert "export OMP_NUM_THREADS=8" in script and "srun" in script
    assert not (tmp_path / "%j").exists()  # a dry run writes nothing


def test_a_dry_run_executor_checks_parameters_like_submitit_and_never_submits(tmp_path, no_slurm_on_path):
    executor = cluster.make_executor(tmp_path / "%j", cluster.load_profile("debug"), dry_run=True)
    assert isinstance(executor, submitit.SlurmExecutor)
    with pytest.raises(ValueError, match="gpus_per_nod"):  # submitit's own validation still runs
        executor.update_parameters(gpus_per_nod=1)
    with pytest.raises(RuntimeError, match="never submits"):
        executor.submit(print, "hello")
    assert not (tmp_path / "%j").exists()


def table2_config(tmp_path: Path, *overrides: str) -> dict:
    from hydra import compose, initialize_config_dir

    register_resolvers()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("table2", overrides=[
            "setting=offline", "protectors=[clean,noise]", "recognizers=[dlib,sface]", "visual=false",
            f"output_root={tmp_path}", "experiment=plan", *overrides,
        ])
    return to_plain(cfg)


def test_a_dry_run_plans_one_array_task_per_protector_column_and_a_dependent_tables_job(
    tmp_path, no_slurm_on_path
):
    out = io.StringIO()
    launcher = cluster.load_profile("a100", ["partition=gpu"])
    assert submit(table2_config(tmp_path), launcher, runner=run, dry_run=True, out=out) is None
    text = out.getvalue()
    assert "4 of 4 cells missing -> an array of 2 task(s)" in text
    assert "task 0: clean × dlib, clean × sface" in text and "task 1: noise × dlib, noise × sface" in text
    assert "#SBATCH --array=0-1%2\n" in text and "#SBATCH --partition=gpu\n" in text
    assert "#SBATCH --dependency=afterany:ARRAY_JOB_ID\n" in text and "#SBATCH --job-name=table2-tables\n" in text
    assert not (tmp_path / "plan" / "slurm").exists()


def test_table_arrays_refuse_a_multi_task_profile(tmp_path, no_slurm_on_path):
    with pytest.raises(BenchmarkError, match=r"\+slurm=a100"):
        submit(table2_config(tmp_path), cluster.load_profile("a100x8"), runner=run, dry_run=True, out=io.StringIO())


def test_make_reproduce_table2_cluster_dry_run_prints_both_scripts_with_no_slurm_on_path(
    tmp_path, no_slurm_on_path
):
    """The command behind ``make reproduce-table2 CLUSTER=dry-run``, through Hydra and the profile."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.table2", "cluster=dry-run", "+slurm=a100", "hydra.launcher.partition=gpu",
         "setting=offline", "protectors=[clean,noise]", "recognizers=[dlib,sface]", "visual=false",
         f"output_root={tmp_path}", "experiment=plan"],
        cwd=REPO_ROOT, env=no_slurm_on_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "4 of 4 cells missing -> an array of 2 task(s)" in result.stdout
    for line in ("--array=0-1%2", "--partition=gpu", "--job-name=table2-cells", "--job-name=table2-tables",
                 "--dependency=afterany:ARRAY_JOB_ID"):
        assert f"#SBATCH {line}\n" in result.stdout, line
    assert not (tmp_path / "plan" / "slurm").exists()


def test_the_training_dry_run_prints_its_script_with_no_slurm_on_path(tmp_path, no_slurm_on_path):
    """``python -m nullswap.train_job --dry-run``: the script a real submission would write, nothing written."""
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "nullswap.train_job", "--profile", "a100x8", "--dry-run", "--set", "account=proj42",
         f"run_dir={run_dir}", "experiment=paper"],
        cwd=REPO_ROOT, env=no_slurm_on_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for line in ("--gpus-per-node=8", "--ntasks-per-node=8", "--account=proj42", "--job-name=nullswap-train"):
        assert f"#SBATCH {line}\n" in result.stdout, line
    assert f"{run_dir}/slurm/%j" in result.stdout and "experiment=paper" in result.stderr
    assert not run_dir.exists()


def test_status_sorts_cells_into_done_pending_running_failed_with_the_failures_log(tmp_path, monkeypatch):
    root = tmp_path / "exp"
    keys = [CellKey("table2", "sample", p, r, 0, f"{i:012d}") for i, (p, r) in
            enumerate([("clean", "dlib"), ("clean", "sface"), ("noise", "dlib"), ("noise", "sface"), ("pgd", "dlib")])]
    ResultStore(root).write(keys[0], {"schema": 1, "key": keys[0].as_dict(), "values": {}})
    folder = root / "slurm" / "t" / "%j"
    record(root, Submission(
        table="table2", submitted="now", folder=str(folder), planned=[str(k.relpath()) for k in keys],
        tasks=[{"job_id": f"5_{i}", "cells": [str(k.relpath())]} for i, k in enumerate(keys[:4])],
        array_job_id="5", tables_job_id="6",
    ))
    log = folder.parent / "5_3" / "5_3_0_log.err"
    log.parent.mkdir(parents=True)
    log.write_text("loading\nTraceback (most recent call last):\nRuntimeError: out of faces\n")
    monkeypatch.setattr(cluster, "job_states",
                        lambda ids: {"5_0": "COMPLETED", "5_1": "PENDING", "5_2": "RUNNING", "5_3": "FAILED"})
    report = {s.cell.split("/")[3] + "/" + s.cell.split("/")[4]: s for s in status.collect(root)}
    assert {k: s.state for k, s in report.items()} == {
        "clean/dlib": "done", "clean/sface": "pending", "noise/dlib": "running", "noise/sface": "failed",
        "pgd/dlib": "pending",
    }
    assert report["pgd/dlib"].slurm_state == "NOT SUBMITTED"
    assert report["noise/sface"].logs[1] == str(log) and report["noise/sface"].tail.endswith("out of faces")
    text = status.format_report(root, list(report.values()))
    assert "5 cells — 1 done, 2 pending, 1 running, 1 failed" in text and f"log: {log}" in text
    assert json.loads((root / "slurm" / "submissions.jsonl").read_text())["array_job_id"] == "5"


def table3_config(tmp_path: Path) -> dict:
    from hydra import compose, initialize_config_dir

    register_resolvers()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("table3", overrides=[
            "setting=offline", "protectors=[clean,noise]", f"output_root={tmp_path}", "experiment=plan3",
        ])
    return to_plain(cfg)


def test_table3_goes_to_the_cluster_as_its_own_swap_cells(tmp_path, no_slurm_on_path):
    from benchmarks import table3

    out = io.StringIO()
    cfg = table3_config(tmp_path)
    submit(cfg, cluster.load_profile("a100"), runner=table3.run, planner=table3.plan_missing, dry_run=True, out=out)
    text = out.getvalue()
    assert "2 of 2 cells missing -> an array of 2 task(s)" in text
    assert "task 0: clean × landmark" in text and "task 1: noise × landmark" in text
    assert "#SBATCH --job-name=table3-tables\n" in text

    # an array task computes only the cells it was handed (by config hash), and the same hashes plan again
    _, jobs, _ = table3.plan_missing(cfg)
    handed = {**cfg, "only": {**cfg["only"], "cells": [jobs[1].key.config_hash]}}
    assert [job.key for job in table3.plan(table3.prepared(handed), table3.protector_specs(handed))] == [jobs[1].key]


def test_a_failed_tasks_tail_keeps_slurms_verdict_however_much_the_dying_job_printed_after_it(tmp_path):
    log = tmp_path / "task.err"
    log.write_text("\n".join([
        "srun: got SIGCONT",
        "slurmstepd-vm: error: *** JOB 3 ON vm CANCELLED AT 2026-12-02T02:46:31 ***",
        *[f"srun: shutting down, line {i}" for i in range(8)],
    ]) + "\n")
    tail = status.last_lines([log], 3).splitlines()
    assert tail[0].endswith("CANCELLED AT 2026-12-02T02:46:31 ***")
    assert tail[1:] == [f"srun: shutting down, line {i}" for i in (5, 6, 7)]
