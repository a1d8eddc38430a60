"""Training as a Slurm job that survives pre-emption and time limits (submitit ``Checkpointable``).

``python -m nullswap.train_job --profile a100x8 run_dir=runs/paper experiment=paper`` submits
:class:`TrainJob` with the profile's resources; ``--dry-run`` prints the sbatch script instead.

When Slurm announces the end of the job (``--signal=USR2@<signal_delay_s>`` before the time limit, or
``scancel --signal=USR2`` / pre-emption), the trainer finishes the step it is in, writes a checkpoint
at that step boundary (every rank's RNG state included), and only then hands over to submitit, which
re-queues the job.  The re-queued job finds ``run_dir/checkpoints/last.pt`` and resumes with
``resume=true``, so an interrupted run ends with the weights of an uninterrupted one.  The signal is
not acted on inside its handler because a handler can run between the discriminator's and the
generator's update, where no consistent checkpoint exists.

Several tasks per job (``tasks_per_node`` > 1, ``nodes`` > 1) train under DistributedDataParallel:
the ranks come from Slurm through submitit, and all ranks stop at the same step.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import submitit
import torch
import torch.distributed as dist

from nullswap import cluster
from nullswap.train import Trainer, compose, default_run_dir


class Interrupted(Exception):
    """Raised at a step boundary after the checkpoint for a pending stop signal was written."""


class InterruptibleTrainer(Trainer):
    """A :class:`~nullswap.train.Trainer` that, once ``stop`` is set on any rank, saves and stops before
    the next step (the training step itself is the trainer's)."""

    def __init__(self, cfg, run_dir: Path, stop: threading.Event) -> None:
        super().__init__(cfg, run_dir)
        self.stop = stop

    def _stop_requested(self) -> bool:
        flag = self.stop.is_set()
        if self.world.enabled:
            tensor = torch.tensor([float(flag)], device=self.device)
            dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
            flag = bool(tensor.item())
        return flag

    def train_step(self, step: int) -> dict[str, float]:
        if self._stop_requested():
            self.save()  # self.step == step: the state between two steps
            raise Interrupted(step)
        return super().train_step(step)


def _export_distributed_environment() -> None:
    """RANK / WORLD_SIZE / LOCAL_RANK / MASTER_* for torch.distributed from Slurm, when the job has several tasks."""
    if int(os.environ.get("SLURM_NTASKS", "1")) > 1 and "RANK" not in os.environ:
        submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False)


class TrainJob(submitit.helpers.Checkpointable):
    """``TrainJob()(overrides)`` trains (or resumes) the run in ``run_dir``; re-queued by submitit with the
    same overrides, it resumes from the run's last checkpoint."""

    def __call__(self, overrides: Sequence[str]) -> str | None:
        _export_distributed_environment()
        cfg = compose(list(overrides))
        if not cfg.get("run_dir"):
            raise ValueError("a training job needs run_dir=PATH: the re-queued job resumes from it")
        run_dir = default_run_dir(cfg)
        resume = (run_dir / "checkpoints" / "last.pt").is_file()
        cfg.resume = resume
        if cfg.get("threads"):
            torch.set_num_threads(int(cfg.threads))
        stop = threading.Event()
        handover = signal.getsignal(signal.SIGUSR2)
        signal.signal(signal.SIGUSR2, lambda signum, frame: stop.set())
        trainer = InterruptibleTrainer(cfg, run_dir, stop)
        try:
            path = trainer.fit(resume=resume)
        except Interrupted as stopped:
            print(f"stop signal: checkpoint written at step {stopped.args[0]} in {run_dir}", flush=True)
            if callable(handover) and trainer.world.is_main:
                handover(signal.SIGUSR2, None)  # submitit: checkpoint() → re-queue → exit
            return None
        return str(path)


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Submit NullSwap training as a re-queueable Slurm job (see docs/cluster.md).",
        epilog="Remaining arguments are training overrides (nullswap/conf/train.yaml), e.g. experiment=paper.",
    )
    parser.add_argument("--profile", default="a100x8", help=f"slurm/<profile>.yaml: {cluster.available_profiles()}")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a profile key, e.g. --set partition=gpu --set timeout_min=600")
    parser.add_argument("--dry-run", action="store_true", help="print the sbatch script, submit nothing")
    parser.add_argument("--folder", type=Path, default=None,
                        help="submitit job files and logs (default RUN_DIR/slurm/%%j)")
    parser.add_argument("--wait", action="store_true", help="wait for the job and print its result")
    args, overrides = parser.parse_known_args(argv)
    if not any(o.startswith("run_dir=") for o in overrides):
        overrides.append(f"run_dir=runs/{time.strftime('%Y%m%d-%H%M%S')}")
    overrides = [
        f"run_dir={Path(o.split('=', 1)[1]).expanduser().resolve()}" if o.startswith("run_dir=") else o
        for o in overrides
    ]
    run_dir = Path(next(o for o in overrides if o.startswith("run_dir=")).split("=", 1)[1])
    try:
        launcher = cluster.load_profile(args.profile, args.set)
        folder = args.folder or run_dir / "slurm" / "%j"
        executor = cluster.make_executor(folder, launcher, dry_run=args.dry_run)  # a dry run needs no Slurm
        if "job_name" not in executor.parameters:
            executor.update_parameters(job_name="nullswap-train")
    except cluster.ClusterConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(cluster.sbatch_script(executor))
        print(f"# job: TrainJob()({overrides})", file=sys.stderr)
        return 0
    job = executor.submit(TrainJob(), overrides)
    print(f"submitted training job {job.job_id}: {run_dir} (logs {job.paths.stdout.parent})")
    if args.wait:
        print(f"checkpoint: {job.result()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
