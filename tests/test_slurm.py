"""The cluster path against a real scheduler: a single-node Slurm 22.05 started by slurm/local_cluster.py.

Jobs are kept tiny (1 CPU, 64 px, a few steps): the machine running the tests is the whole cluster.
Without root or without the Slurm packages these tests are skipped; ``make test-slurm`` installs the
packages when they are missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from benchmarks import status
from benchmarks.status import read_submissions
from nullswap import cluster

pytestmark = pytest.mark.slurm
REPO_ROOT = Path(__file__).resolve().parent.parent
#: the a100 profile, shrunk to this machine (one CPU, fake GPU, 1 GB)
SMALL = ["mem_gb=1", "cpus_per_task=1", "timeout_min=10", "setup=[export OMP_NUM_THREADS=1]"]
ENDED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL"}


@pytest.fixture(scope="session")
def slurm_cluster():
    """A fresh cluster for the session (its own state directory: job ids start at 1)."""
    sys.path.insert(0, str(REPO_ROOT))
    from slurm.local_cluster import ClusterError, LocalCluster, missing_programs

    install = os.environ.get("NULLSWAP_SLURM_INSTALL") == "1"
    if os.geteuid() != 0:
        pytest.skip("the local Slurm cluster runs its daemons as root")
    if missing_programs() and not install:
        pytest.skip(f"Slurm not installed ({', '.join(missing_programs())}); `make test-slurm` installs it")
    base = Path(tempfile.mkdtemp(prefix="nullswap-slurm-test-"))  # not under pytest's 0700 folders: munged must reach it
    local = LocalCluster(base)
    try:
        local.start(install=install)
    except ClusterError as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"local Slurm cluster did not start: {exc}")
    previous = os.environ.get("SLURM_CONF")
    local.activate()
    yield local
    local.stop()
    if previous is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = previous
    shutil.rmtree(base, ignore_errors=True)


def wait_until(predicate: Callable[[], object], timeout_s: float, what: str, interval_s: float = 0.5):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def ended(job_ids: list[str]) -> bool:
    states = cluster.job_states(job_ids)
    return all(states.get(j) in ENDED for j in job_ids)


@pytest.mark.timeout(1800)
def test_a_job_gets_the_profile_partition_and_a_fake_gpu(slurm_cluster, tmp_path):
    launcher = cluster.load_profile("a100", [*SMALL, "timeout_min=2"])
    executor = cluster.make_executor(tmp_path / "%j", launcher)
    jobs = [executor.submit(os.getenv, name) for name in ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_PARTITION")]
    assert [job.result() for job in jobs] == ["0", "a100"]
    wait_until(lambda: ended([j.job_id for j in jobs]), 60, "sacct to record the jobs")
    assert set(cluster.job_states([j.job_id for j in jobs]).values()) == {"COMPLETED"}


# --------------------------------------------------------------------------------------------------
# A 2 x 2 Table-2 sweep as one array: kill a task inside its second cell, submit again, only that cell runs
# --------------------------------------------------------------------------------------------------
SWEEP = ["setting=offline", "protectors=[clean,noise]", "recognizers=[dlib,sface]", "visual=false",
         "dataset.max_images=12", "device=cpu", "batch_size=4", "experiment=sweep"]


def sweep_config(output_root: Path) -> dict:
    """The sweep's table config, composed as ``python -m benchmarks.table2 SWEEP…`` composes it."""
    from hydra import compose, initialize_config_dir

    from benchmarks.cli import CONFIG_DIR, register_resolvers
    from benchmarks.plan import to_plain

    register_resolvers()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return to_plain(compose("table2", overrides=[*SWEEP, f"output_root={output_root}"]))


def submit_sweep(output_root: Path) -> subprocess.CompletedProcess:
    """``python -m benchmarks.table2 cluster=slurm +slurm=a100 SWEEP…``, the profile shrunk to this machine."""
    command = [
        sys.executable, "-m", "benchmarks.table2", "cluster=slurm", "+slurm=a100", *SWEEP,
        f"output_root={output_root}",
        *[f"hydra.launcher.{o}" for o in SMALL[:3]], "hydra.launcher.setup=['export OMP_NUM_THREADS=1']",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


@pytest.mark.timeout(3600)
def test_a_task_killed_half_way_leaves_only_its_missing_cell_for_the_next_submission(
    slurm_cluster, sample_test, tmp_path, monkeypatch
):
    from slurm_gate import GatedRunner

    from benchmarks.plan import plan_missing
    from benchmarks.submit import group_cells, submit

    root = tmp_path / "sweep"
    cfg = sweep_config(tmp_path)
    # The noise column's task stops at its second cell until released (never): it is killed there, with its
    # first cell written and its second known to be unfinished, however fast this machine computes.
    noise_cells = next(g for g in group_cells(plan_missing(cfg)[2], "protector") if g[0].key.protector == "noise")
    gate = GatedRunner(gate=str(tmp_path / "gate"), hold=noise_cells[1].key.config_hash)
    Path(gate.gate).mkdir()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO_ROOT / "tests"), str(REPO_ROOT),
                                                      os.environ.get("PYTHONPATH", "")]))  # the job imports slurm_gate
    submit(cfg, cluster.load_profile("a100", SMALL), runner=gate, out=sys.stderr)
    first = read_submissions(root)[-1]
    # one array, one task per protector column: [clean x dlib, clean x sface], [noise x dlib, noise x sface]
    assert len(first["planned"]) == 4 and [len(t["cells"]) for t in first["tasks"]] == [2, 2]
    array, noise = first["array_job_id"], first["tasks"][1]
    assert [t["job_id"] for t in first["tasks"]] == [f"{array}_0", f"{array}_1"]
    assert noise["cells"] == [str(job.key.relpath()) for job in noise_cells]

    wait_until(gate.running_marker().is_file, 1800, "the noise task to reach its second cell", 0.2)
    assert gate.running_marker().read_text().strip() == noise["job_id"]  # the noise task is the one waiting
    assert (root / noise["cells"][0]).is_file() and not (root / noise["cells"][1]).is_file()
    subprocess.run(["scancel", noise["job_id"]], check=True)
    wait_until(lambda: ended([f"{array}_0", f"{array}_1", first["tables_job_id"]]), 1800, "the array and tables job")

    report = status.collect(root)
    print("\nafter the first submission, one task cancelled half-way:\n" + status.format_report(root, report))
    assert status.counts(report) == {"done": 3, "pending": 0, "running": 0, "failed": 1}
    (failed,) = [s for s in report if s.state == "failed"]
    assert failed.cell == noise["cells"][1] and failed.slurm_state == "CANCELLED"
    assert all(Path(p).is_file() for p in failed.logs) and "CANCELLED" in failed.tail
    assert (root / "tables" / "table2.md").is_file()  # the tables job ran after the array, on 3 cells

    submit_sweep(tmp_path)  # the command a user runs, with the real runner
    second = read_submissions(root)[-1]
    assert [t["cells"] for t in second["tasks"]] == [[failed.cell]]  # only the missing cell is submitted
    wait_until(lambda: ended([second["tasks"][0]["job_id"], second["tables_job_id"]]), 1800, "the resubmission")
    report = status.collect(root)
    print("after submitting again:\n" + status.format_report(root, report))
    assert status.counts(report) == {"done": 4, "pending": 0, "running": 0, "failed": 0}
    redone = json.loads((root / failed.cell).read_text())
    assert redone["provenance"]["slurm_job_id"] == second["array_job_id"]


@pytest.mark.timeout(1800)
def test_table3_runs_as_an_array_of_swap_cells_and_a_tables_job(slurm_cluster, sample_test, tmp_path):
    """``python -m benchmarks.table3 cluster=slurm +slurm=a100``: one task per protector column."""
    command = [
        sys.executable, "-m", "benchmarks.table3", "cluster=slurm", "+slurm=a100",
        "setting=offline", "protectors=[clean,noise]", "recognizers=[dlib]", "dataset.max_images=8",
        "device=cpu", f"output_root={tmp_path}", "experiment=swaps",
        *[f"hydra.launcher.{o}" for o in SMALL[:3]], "hydra.launcher.setup=['export OMP_NUM_THREADS=1']",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    root = tmp_path / "swaps"
    submission = read_submissions(root)[-1]
    assert [len(t["cells"]) for t in submission["tasks"]] == [1, 1]  # clean × landmark, noise × landmark
    jobs = [t["job_id"] for t in submission["tasks"]] + [submission["tables_job_id"]]
    wait_until(lambda: ended(jobs), 1500, "the swap array and its tables job")
    assert set(cluster.job_states(jobs).values()) == {"COMPLETED"}
    cells = [json.loads((root / cell).read_text()) for t in submission["tasks"] for cell in t["cells"]]
    assert [c["kind"] for c in cells] == ["swap", "swap"]
    assert [(c["provenance"]["slurm_array_job_id"], c["provenance"]["slurm_array_task_id"]) for c in cells] == [
        (submission["array_job_id"], "0"), (submission["array_job_id"], "1")]
    assert (root / "tables" / "table3.md").is_file()


# --------------------------------------------------------------------------------------------------
# Training: signalled mid-run, checkpointed, re-queued, finished with the uninterrupted run's weights
# --------------------------------------------------------------------------------------------------
TRAIN = [
    "model.width=16", "model.id_blocks=1", "model.perturbation_blocks=1", "model.feature_blocks=1",
    "model.disc_width=8", "model.disc_layers=2", "recognizers=[dlib]", "eval_recognizers=[]",
    "train.batch_size=2", "train.resolution=64", "train.steps=30", "train.checkpoint_every=1000",
    "train.eval_every=0", "train.tensorboard=false", "train.progress=false", "threads=1",
]


def logged_steps(run_dir: Path) -> int:
    path = run_dir / "train_log.csv"
    return max(0, len(path.read_text().splitlines()) - 1) if path.is_file() else 0


@pytest.mark.timeout(3600)
def test_a_training_job_signalled_mid_run_is_requeued_and_ends_with_the_uninterrupted_weights(
    slurm_cluster, sample_train, tmp_path
):
    from nullswap.train_job import TrainJob

    launcher = cluster.load_profile("debug", ["timeout_min=15", "mem_gb=1"])
    runs = {name: tmp_path / name for name in ("signalled", "straight")}
    jobs = {
        name: cluster.make_executor(tmp_path / f"jobs-{name}" / "%j", launcher).submit(
            TrainJob(), [*TRAIN, f"run_dir={run_dir}"]
        )
        for name, run_dir in runs.items()
    }
    signalled = jobs["signalled"]
    wait_until(lambda: logged_steps(runs["signalled"]) >= 3, 1800, "three training steps", 0.2)
    subprocess.run(["scancel", "--signal=USR2", signalled.job_id], check=True)
    wait_until(lambda: ended([j.job_id for j in jobs.values()]), 1800, "both training jobs")
    assert set(cluster.job_states([j.job_id for j in jobs.values()]).values()) == {"COMPLETED"}

    log = Path(signalled.paths.stdout).read_text()
    stopped_at = int(log.split("checkpoint written at step ", 1)[1].split()[0])
    assert 3 <= stopped_at < 30
    assert "Requeued job" in log  # submitit's own log line, after the checkpoint was written
    a = torch.load(signalled.result(), weights_only=True)
    b = torch.load(jobs["straight"].result(), weights_only=True)
    assert a["step"] == b["step"] == 30
    for part in ("generator", "discriminator"):
        for key, tensor in b[part].items():
            assert torch.equal(tensor, a[part][key]), f"{part}.{key}"
    assert torch.equal(a["rng"]["torch"], b["rng"]["torch"])
    steps = [int(line.split(",", 1)[0]) for line in (runs["signalled"] / "train_log.csv").read_text().splitlines()[1:]]
    assert steps == list(range(1, 31))
