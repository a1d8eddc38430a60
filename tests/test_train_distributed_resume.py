"""Resuming DistributedDataParallel training: every rank gets its own RNG state back.

Each rank draws its own Eq. 1 noise from its own generator (seeded by seed + rank).  A checkpoint that
kept only rank 0's state would, on resume, make every rank draw rank 0's noise — the run would go on
training, but no longer the run that was interrupted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nullswap.runtime import all_rng_states, restore_rank_rng, rng_state

TINY = [
    "model.width=16", "model.id_blocks=1", "model.perturbation_blocks=1", "model.feature_blocks=1",
    "model.disc_width=8", "model.disc_layers=2",
    "recognizers=[dlib]", "eval_recognizers=[]", "train.batch_size=4", "train.resolution=64",
    "train.eval_every=0", "train.tensorboard=false", "train.progress=false", "threads=1",
]


def torchrun(run_dir: Path, *overrides: str) -> dict:
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "nullswap.train", *TINY, f"run_dir={run_dir}", *overrides,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)


@pytest.mark.slow
def test_two_process_run_interrupted_and_resumed_equals_the_uninterrupted_run(sample_train, tmp_path):
    full = torchrun(tmp_path / "full", "train.steps=4", "train.checkpoint_every=4")
    first = torchrun(tmp_path / "split", "train.steps=2", "train.checkpoint_every=2")
    assert first["step"] == 2 and len(first["rng_per_rank"]) == 2
    resumed = torchrun(tmp_path / "split", "train.steps=4", "train.checkpoint_every=2", "resume=true")

    assert full["step"] == resumed["step"] == 4
    for part in ("generator", "discriminator"):
        for key, tensor in full[part].items():
            assert torch.equal(tensor, resumed[part][key]), f"{part}.{key}"
    # Each rank's noise generator ends where the uninterrupted run's does (so it drew the same noise) …
    for rank in (0, 1):
        assert torch.equal(full["rng_per_rank"][rank]["torch"], resumed["rng_per_rank"][rank]["torch"]), rank
    # … and the ranks draw different noise.
    assert not torch.equal(resumed["rng_per_rank"][0]["torch"], resumed["rng_per_rank"][1]["torch"])


def test_without_torch_distributed_the_checkpoint_holds_one_state_equal_to_the_process_state():
    torch.manual_seed(5)
    states = all_rng_states()
    assert len(states) == 1
    assert torch.equal(states[0]["torch"], rng_state()["torch"])


def test_each_rank_restores_its_own_state():
    torch.manual_seed(1)
    rank0 = rng_state()
    torch.manual_seed(2)
    rank1 = rng_state()
    expected = torch.rand(3)
    torch.manual_seed(99)
    restore_rank_rng({"rng": rank0, "rng_per_rank": [rank0, rank1], "step": 7}, rank=1, world_size=2, seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_a_checkpoint_from_another_world_size_warns_and_still_gives_ranks_different_noise():
    torch.manual_seed(1)
    only = rng_state()
    draws = []
    for rank in (0, 1):
        with pytest.warns(UserWarning, match="will not match an uninterrupted one"):
            restore_rank_rng({"rng": only, "step": 3}, rank=rank, world_size=2, seed=0)
        draws.append(torch.rand(4))
    assert not torch.equal(draws[0], draws[1])
