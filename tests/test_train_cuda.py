"""Mixed-precision training on a GPU: a few bf16 and fp16 steps stay finite, and a checkpoint written on
the GPU resumes (RNG states, gradient scaler, weights).  Skipped without CUDA.

Each run prints one line with its steps per second and peak GPU memory (``pytest -s`` shows it).
"""

from __future__ import annotations

import csv
import math
import time

import pytest
import torch

import nullswap.train as train_module

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
SMALL = [
    "model.width=32", "recognizers=[dlib,sface]", "eval_recognizers=[]", "train.batch_size=8",
    "train.resolution=256", "train.eval_every=0", "train.tensorboard=false", "train.progress=false",
    "device=cuda",
]


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_amp_steps_are_finite_and_a_gpu_checkpoint_resumes(amp, sample_train, tmp_path):
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    run_dir = tmp_path / amp
    torch.cuda.reset_peak_memory_stats()
    cfg = train_module.compose([*SMALL, f"train.amp={amp}", "train.steps=4", "train.checkpoint_every=4",
                                f"run_dir={run_dir}"])
    trainer = train_module.Trainer(cfg, run_dir)
    assert trainer.amp_dtype == DTYPES[amp]
    started = time.perf_counter()
    trainer.fit(resume=False)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    print(f"\n{amp}: {4 / seconds:.2f} steps/s (incl. start-up), peak "
          f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB, batch 8, 256x256, {torch.cuda.get_device_name()}")
    with open(run_dir / "train_log.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    for row in rows:
        for column in ("loss_total", "loss_id", "loss_mse", "loss_lpips", "loss_adv", "loss_disc"):
            assert math.isfinite(float(row[column])), (row["step"], column)

    saved = torch.load(run_dir / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
    resumed_cfg = train_module.compose([*SMALL, f"train.amp={amp}", "train.steps=6", "train.checkpoint_every=6",
                                        f"run_dir={run_dir}", "resume=true"])
    resumed = train_module.Trainer(resumed_cfg, run_dir)
    resumed.restore(resumed.checkpoint_path)  # map_location=cuda: RNG states must come back to the CPU
    assert resumed.step == 4
    for key, tensor in saved["generator"].items():
        assert torch.equal(resumed.generator.state_dict()[key].cpu(), tensor), key
    if amp == "fp16":
        assert resumed.scaler.get_scale() == saved["scaler"]["scale"]
    assert torch.equal(torch.cuda.get_rng_state().cpu(), saved["rng"]["cuda"][torch.cuda.current_device()])
    resumed.fit(resume=True)
    final = torch.load(run_dir / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
    assert final["step"] == 6
    assert all(torch.isfinite(t).all() for t in final["generator"].values() if t.is_floating_point())
