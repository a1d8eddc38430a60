"""What reusing clean embeddings saves per training step: ``python -m benchmarks.tools.clean_cache_cost``.

Builds one trainer (``experiment=demo`` unless other overrides are given), warms the cache for one epoch,
then alternates blocks of steps with the cache off and on in the same process, so that the machine's
own drift (which on a shared 2-core machine moves a step by a quarter) falls on both sides alike.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nullswap.train as train_module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tools.clean_cache_cost", description=__doc__)
    parser.add_argument("--rounds", type=int, default=4, help="off/on block pairs")
    parser.add_argument("--steps", type=int, default=4, help="steps per block")
    parser.add_argument("overrides", nargs="*", default=["experiment=demo"], help="training config overrides")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        cfg = train_module.compose([*args.overrides, f"run_dir={folder}", "train.progress=false",
                                    "train.tensorboard=false"])
        trainer = train_module.Trainer(cfg, Path(folder))
        trainer.objective.enable_clean_cache()
        warm = trainer.objective._clean_cache
        step = 0
        for _ in range(trainer.schedule.steps_per_epoch + 1):  # every (face, flip) seen at least once
            trainer.train_step(step)
            step += 1
        seconds: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(args.rounds):
            for mode in ("off", "on"):
                trainer.objective._clean_cache = warm if mode == "on" else None
                started = time.perf_counter()
                for _ in range(args.steps):
                    trainer.train_step(step)
                    step += 1
                seconds[mode].append((time.perf_counter() - started) / args.steps)
    mean = {mode: sum(values) / len(values) for mode, values in seconds.items()}
    for mode in ("off", "on"):
        print(f"cache {mode:3s}: {mean[mode]:.3f} s/step  (blocks: {', '.join(f'{v:.2f}' for v in seconds[mode])})")
    print(f"saved: {1 - mean['on'] / mean['off']:.0%} of a step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
