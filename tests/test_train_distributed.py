"""DistributedDataParallel training runs under torchrun (two CPU processes, gloo)."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest
import torch

pytestmark = pytest.mark.slow


def test_two_process_training_writes_one_log_and_one_checkpoint(sample_train, tmp_path):
    run_dir = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "nullswap.train",
        "model.width=16", "model.id_blocks=1", "model.perturbation_blocks=1", "model.feature_blocks=1",
        "recognizers=[dlib,sface]", "eval_recognizers=[]", "train.batch_size=4", "train.resolution=64",
        "train.steps=3", "train.checkpoint_every=3", "train.eval_every=3", "train.eval_faces=2",
        "train.tensorboard=false", "train.progress=false", "threads=1", f"run_dir={run_dir}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == 3
    with open(run_dir / "train_log.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [1, 2, 3]      # only the main process logs
    assert sum(float(rows[-1][f"dlw_weight/{n}"]) for n in ("dlib", "sface")) == pytest.approx(2.0)
