"""``make gpu-check``: what a machine with a GPU tells us in at most ten minutes, written into one folder.

Run it whenever a GPU machine is lent (``make gpu-check``, or ``python -m benchmarks.tools.gpu_check``):

1. **CUDA tests** — ``pytest -m cuda`` (mixed-precision steps stay finite, a GPU checkpoint resumes);
2. **the paper's training step** — ``experiment=paper`` (ArcFace + FaceNet in the loss, LPIPS v0.1 AlexNet,
   the width-64 generator) under AMP bf16 at 256×256: steps per second after warm-up and peak GPU memory,
   at the paper's per-GPU batch (its 256 over 8 GPUs: 32) and at the whole 256 on one GPU when it fits.
   Where the paper's weight files are absent, random-weight stand-ins are used in a private
   ``$NULLSWAP_HOME`` (a step costs the same whatever the weights' values; the report says so);
3. **DDP** — the same step under ``torchrun`` on every GPU present (per-GPU batch 32): steps per second
   and scaling against one GPU (skipped, with the reason, on a one-GPU machine);
4. **the offline recipe** — ``experiment=offline`` trained on the GPU for the minutes left (its number of
   steps set from a probe's rate), then measured like ``results/offline/`` (Table 2 on the offline test
   split) beside the CPU model's row: does 100× the compute move the held-out cloak, or are 629 faces
   the limit?
5. **the report** — ``report.md`` and ``report.json`` in the output folder, with the GPU-hours of the
   paper's tables on 8×A100 derived from the measured step time and a stated A100 : this-GPU ratio.

Every phase has a time budget and ends as ``ok``, ``skipped`` (why) or ``failed`` (its log's tail); one
failing phase never stops the next.  ``--dry-run`` prints the plan without running anything;
``--tiny-cpu`` runs every phase's code path on the CPU at toy sizes (minutes), so the tool itself is
tested on machines without a GPU — its numbers then measure nothing and the report says so.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nullswap.provenance import REPO_ROOT

#: the paper's training: global batch 256 on 8 A100s, 60 epochs of the 24,183 CelebA-HQ train images
PAPER_BATCH, PAPER_GPUS, PAPER_STEPS = 256, 8, 60 * (24_183 // 256)
#: assumed step-time ratio A100 : H200 for this bf16 convolutional workload, from the published peak bf16
#: throughput (312 vs 989 TFLOPS) and memory bandwidth (2.0 vs 4.8 TB/s): not measured
A100_PER_H200 = 2.5
#: Table 5 trains four sessions of the paper's length
TABLE_TRAININGS = {"Table 2 (its NullSwap column)": 1, "Table 5 (four sessions)": 4}
PHASES = ("cuda-tests", "paper-step", "ddp", "offline-recipe")


@dataclass
class Phase:
    name: str
    status: str = "pending"  # ok | skipped | failed | planned
    seconds: float = 0.0
    detail: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)


@dataclass
class Budget:
    """Seconds each phase may take, out of the total (the offline recipe gets what is left)."""

    total_s: float
    cuda_tests_s: float = 120.0
    paper_step_s: float = 150.0
    ddp_s: float = 90.0
    evaluation_s: float = 120.0

    def left(self, started: float) -> float:
        return self.total_s - (time.monotonic() - started)


# --------------------------------------------------------------------------------------------------
# The step measurement (runs in its own process: one per configuration, under torchrun for DDP)
# --------------------------------------------------------------------------------------------------
def tiled_faces(n: int):
    """At least ``n`` real registry faces (the offline set, else the sample), repeated as needed; the
    content of a batch does not change the cost of a step."""
    import numpy as np

    from benchmarks.rehearsal.layouts import rehearsal_faces
    from nullswap.data.base import FaceSet

    faces = rehearsal_faces()
    repeats = -(-n // len(faces))
    index = list(range(len(faces))) * repeats
    keys = [f"{faces.keys[i]}#{k // len(faces)}" for k, i in enumerate(index)]
    return FaceSet("gpu-check-tiled", np.ascontiguousarray(faces.images[index]),
                   [faces.identities[i] for i in index], keys)


def measure_steps(overrides: list[str], batch: int, warmup: int, steps: int, out: Path) -> dict[str, Any]:
    """Steps per second (after ``warmup``) and peak memory of ``nullswap.train`` with ``overrides``; rank 0
    writes them to ``out``.  Under ``torchrun`` every rank runs this and the trainer trains under DDP."""
    import torch

    import nullswap.train as train_module

    world = int(os.environ.get("WORLD_SIZE", "1"))
    faces = tiled_faces(max(batch, 8))
    train_module.load_faces = lambda cfg, split: faces  # what a step costs does not depend on which faces
    cfg = train_module.compose([*overrides, f"train.batch_size={batch}", "train.epochs=null",
                                f"train.steps={warmup + steps}", "train.eval_every=0", "train.eval_split=null",
                                "train.tensorboard=false", "train.progress=false"])
    run_dir = Path(tempfile.mkdtemp(prefix="gpu-check-step-"))
    trainer = train_module.Trainer(cfg, run_dir)
    cuda = trainer.device.type == "cuda"
    for step in range(warmup):
        trainer.train_step(step)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    for step in range(warmup, warmup + steps):
        trainer.train_step(step)
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    result = {
        "batch_global": batch, "batch_per_gpu": batch // world, "processes": world,
        "resolution": int(cfg.train.resolution), "amp": str(trainer.amp_dtype), "device": str(trainer.device),
        "device_name": torch.cuda.get_device_name(trainer.device) if cuda else platform.processor() or "cpu",
        "steps_timed": steps, "seconds": round(seconds, 3), "steps_per_s": round(steps / seconds, 4),
        "seconds_per_step": round(seconds / steps, 4),
        "peak_memory_gib": round(torch.cuda.max_memory_allocated(trainer.device) / 2**30, 2) if cuda else None,
        "recognizers": list(cfg.recognizers), "model_width": int(cfg.model.width),
        "weight_files": trainer.weight_files, "standins": list(trainer.standins),
    }
    if trainer.world.is_main:
        out.write_text(json.dumps(result, indent=1))
    if trainer.world.enabled:
        import torch.distributed as dist

        dist.destroy_process_group()
    return result


# --------------------------------------------------------------------------------------------------
# The phases
# --------------------------------------------------------------------------------------------------
class GpuCheck:
    def __init__(self, out: Path, budget: Budget, tiny_cpu: bool = False, dry_run: bool = False) -> None:
        self.out, self.budget, self.tiny, self.dry = out, budget, tiny_cpu, dry_run
        self.phases: list[Phase] = []
        self.started = time.monotonic()
        self.env = dict(os.environ)
        self.gpus = 0 if tiny_cpu or dry_run else _gpu_count()

    # ---------------------------------------------------------------- helpers
    def run(self, phase: Phase, argv: list[str], timeout: float, log: str, env: dict | None = None) -> int:
        phase.commands.append(shlex.join(argv))
        if self.dry:
            return 0
        path = self.out / "logs" / log
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as handle:
            try:
                result = subprocess.run(argv, cwd=REPO_ROOT, env=env or self.env, stdout=handle,
                                        stderr=subprocess.STDOUT, timeout=max(timeout, 10))
                status = result.returncode
            except subprocess.TimeoutExpired:
                handle.write(f"\n[gpu-check] stopped after its budget of {timeout:.0f} s\n")
                status = 124
        if status:
            phase.detail += f"\n{shlex.join(argv[:6])}… exited {status}; last lines of {path}:\n" + _tail(path)
        return status

    def step_overrides(self, phase: Phase) -> list[str]:
        standins = ["rehearsal=true"] if phase.facts.get("standins") else []
        if self.tiny:
            return ["experiment=paper", "device=cpu", "train.amp=false", "model.width=8", "train.resolution=64",
                    "threads=2", *standins]
        return ["experiment=paper", "device=cuda", "train.amp=bf16", "train.resolution=256", *standins]

    def paper_home(self, phase: Phase) -> dict[str, str]:
        """The environment for the paper's step: the user's home when the paper's files are genuine, else
        a private one with random-weight stand-ins (labelled in the report, and trained with
        ``rehearsal=true``, which is what lets training read them)."""
        from nullswap import weights

        needed = ("deepface_arcface", "deepface_facenet", "lpips_alexnet_backbone")
        if all(weights.status(n).genuine for n in needed):
            phase.facts["weights"] = "the paper's weight files"
            return dict(self.env)
        phase.facts["standins"] = True
        from benchmarks.rehearsal.paper import Rehearsal, prepare_home
        from nullswap.assets import cache_root

        rehearsal = Rehearsal(self.out / "standin-home")
        env = {**self.env, "NULLSWAP_HOME": str(rehearsal.home)}
        if not self.dry:
            prepare_home(rehearsal, cache_root())
            subprocess.run([sys.executable, "-c", "from benchmarks.rehearsal import standins; standins.build()"],
                           cwd=REPO_ROOT, env=env, check=True, capture_output=True)
        phase.facts["weights"] = ("random-weight stand-ins of ArcFace, FaceNet and the LPIPS AlexNet (the paper's "
                                  "files are absent here; a step's cost does not depend on the weights' values)")
        return env

    # ---------------------------------------------------------------- 1. CUDA tests
    def cuda_tests(self) -> Phase:
        phase = Phase("cuda-tests")
        status = self.run(phase, [sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider"],
                          self.budget.cuda_tests_s, "cuda-tests.log")
        log = self.out / "logs" / "cuda-tests.log"
        summary = _tail(log, 1) if log.is_file() else ""
        phase.facts["summary"] = summary.strip()
        phase.status = "planned" if self.dry else ("ok" if status in (0, 5) else "failed")
        return phase

    # ---------------------------------------------------------------- 2. the paper's step
    def paper_step(self) -> Phase:
        phase = Phase("paper-step")
        env = self.paper_home(phase)
        batches = [2] if self.tiny else [PAPER_BATCH // PAPER_GPUS, PAPER_BATCH]
        warmup, steps = (1, 2) if self.tiny else (3, 10)
        for batch in batches:
            out = self.out / f"paper-step-batch{batch}.json"
            argv = [sys.executable, "-m", "benchmarks.tools.gpu_check", "step", "--batch", str(batch), "--warmup",
                    str(warmup), "--steps", str(steps), "--json", str(out), "--", *self.step_overrides(phase)]
            status = self.run(phase, argv, self.budget.paper_step_s / len(batches), f"paper-step-batch{batch}.log",
                              env)
            if out.is_file():
                phase.facts[f"batch {batch}"] = json.loads(out.read_text())
            elif not self.dry:
                phase.facts[f"batch {batch}"] = {"error": "out of memory" if "OutOfMemory" in phase.detail
                                                 else f"exit {status}"}
        measured = [f for f in phase.facts.values() if isinstance(f, dict) and "steps_per_s" in f]
        phase.status = "planned" if self.dry else ("ok" if measured else "failed")
        return phase

    # ---------------------------------------------------------------- 3. DDP
    def ddp(self, paper: Phase) -> Phase:
        phase = Phase("ddp")
        if self.gpus < 2:
            phase.status = "skipped"
            phase.detail = (f"{self.gpus} GPU(s) present: DistributedDataParallel needs two or more "
                            "(its CPU test, tests/test_train_distributed.py, runs two gloo processes)")
            return phase
        env = self.paper_home(phase)
        batch = (PAPER_BATCH // PAPER_GPUS) * self.gpus
        out = self.out / "ddp.json"
        argv = ["torchrun", "--standalone", f"--nproc_per_node={self.gpus}", "-m", "benchmarks.tools.gpu_check",
                "step", "--batch", str(batch), "--warmup", "3", "--steps", "10", "--json", str(out), "--",
                *self.step_overrides(phase)]
        self.run(phase, argv, self.budget.ddp_s, "ddp.log", env)
        if out.is_file():
            facts = json.loads(out.read_text())
            single = (paper.facts.get(f"batch {PAPER_BATCH // PAPER_GPUS}") or {}).get("seconds_per_step")
            if single:
                facts["scaling_efficiency"] = round(single / facts["seconds_per_step"], 3)
            phase.facts["ddp"] = facts
        phase.status = "planned" if self.dry else ("ok" if out.is_file() else "failed")
        return phase

    # ---------------------------------------------------------------- 4. the offline recipe
    def offline_recipe(self) -> Phase:
        phase = Phase("offline-recipe")
        from nullswap.data.offline import is_built

        if not is_built() and not self.tiny:
            phase.detail = "the offline set is not built here: make offline-data (needs the registry archives)"
            if not self.dry:
                phase.status = "skipped"
                return phase
            phase.detail += "; planned as it would run once it is"
        run_dir = self.out / "offline"
        device = ["device=cpu", "threads=2"] if self.tiny else ["device=cuda", "threads=null"]
        data = ["data=sample"] if self.tiny else []
        base = [sys.executable, "-m", "nullswap.train", "experiment=offline", *device, *data, f"run_dir={run_dir}",
                "train.progress=false", "train.tensorboard=false"]
        probe_steps = 2 if self.tiny else 20
        self.run(phase, [*base, f"train.steps={probe_steps}", "train.eval_every=0",
                         f"train.checkpoint_every={probe_steps}"], 300, "offline-probe.log")
        rate = _steps_per_second(run_dir / "train_log.csv")
        left = self.budget.left(self.started) - self.budget.evaluation_s - 30
        steps = probe_steps + 2 if self.tiny else max(probe_steps, int(rate * left)) if rate else probe_steps
        phase.facts.update({"probe_steps_per_s": rate, "seconds_left_for_training": round(left),
                            "steps": "the probe's rate × the seconds left" if self.dry else steps})
        self.run(phase, [*base, f"train.steps={steps}", "resume=true",
                         f"train.checkpoint_every={max(1, steps // 10)}", f"train.eval_every={max(1, steps // 5)}"],
                 max(left, 60), "offline-train.log")
        checkpoint = run_dir / "checkpoints" / "last.pt"
        table = ["setting=offline", "dataset=offline", "dataset.views=false", "experiment=offline-gpu",
                 "protectors=[clean,nullswap]", f"protector_options.nullswap.checkpoint={checkpoint}",
                 f"output_root={self.out}", "visual=true"]
        if self.tiny:
            table = ["setting=offline", "dataset=sample", "dataset.max_images=12", "experiment=offline-gpu",
                     "protectors=[clean,nullswap]", f"protector_options.nullswap.checkpoint={checkpoint}",
                     f"output_root={self.out}", "recognizers=[sface]", "device=cpu", "visual=true"]
        self.run(phase, [sys.executable, "-m", "benchmarks.table2", *table], self.budget.evaluation_s, "offline-table2.log")
        measured = self.out / "offline-gpu" / "tables" / "table2.csv"
        if measured.is_file():
            phase.facts["top1"] = _top1(measured)
            phase.facts["cpu_model_top1"] = _top1(REPO_ROOT / "results" / "offline" / "tables" / "table2.csv")
            phase.facts["eval_log"] = _last_row(run_dir / "eval_log.csv")
        phase.status = "planned" if self.dry else ("ok" if measured.is_file() else "failed")
        return phase

    # ---------------------------------------------------------------- all of it
    def run_all(self, only: tuple[str, ...] = PHASES) -> list[Phase]:
        self.out.mkdir(parents=True, exist_ok=True)
        paper = Phase("paper-step", status="skipped", detail="not selected")
        steps = {"cuda-tests": self.cuda_tests, "paper-step": self.paper_step,
                 "ddp": lambda: self.ddp(paper), "offline-recipe": self.offline_recipe}
        for name in PHASES:
            if name not in only:
                continue
            began = time.monotonic()
            try:
                phase = steps[name]()
            except Exception as exc:  # one phase's failure never stops the next; the report names it
                phase = Phase(name, "failed", detail=f"{type(exc).__name__}: {exc}")
            phase.seconds = round(time.monotonic() - began, 1)
            if name == "paper-step":
                paper = phase
            self.phases.append(phase)
            print(f"[gpu-check] {name}: {phase.status} ({phase.seconds:.0f} s)", flush=True)
        return self.phases


# --------------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------------
def gpu_hours(seconds_per_step_here: float, ratio: float = A100_PER_H200, gpus: int = PAPER_GPUS,
              steps: int = PAPER_STEPS) -> float:
    """GPU-hours of one paper training on ``gpus`` A100s: steps × (this GPU's step time at the per-GPU
    batch × ``ratio``) × ``gpus`` / 3600 — assuming DDP keeps the per-GPU step time (see the DDP phase)."""
    return steps * seconds_per_step_here * ratio * gpus / 3600.0


def environment() -> dict[str, Any]:
    facts: dict[str, Any] = {"host": socket.gethostname(), "python": sys.version.split()[0],
                             "platform": platform.platform()}
    try:
        import torch

        facts["torch"] = torch.__version__
        facts["cuda"] = torch.version.cuda
        facts["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception as exc:  # the report is written whatever failed
        facts["torch"] = f"unavailable: {exc}"
    return facts


def report_markdown(phases: list[Phase], env: dict[str, Any], tiny: bool = False, dry: bool = False) -> str:
    lines = ["# GPU check", ""]
    if tiny:
        lines += ["**Tiny CPU mode: every phase's code path ran at toy sizes on the CPU. These numbers measure "
                  "nothing about a GPU.**", ""]
    if dry:
        lines += ["**Dry run: the plan only, nothing ran.**", ""]
    lines += [f"- machine: {env.get('host')}, {', '.join(env.get('gpus') or []) or 'no GPU'}; torch "
              f"{env.get('torch')} (CUDA {env.get('cuda')}), Python {env.get('python')}", ""]
    lines += ["| phase | status | time |", "|---|---|---|"]
    lines += [f"| {p.name} | {p.status} | {p.seconds:.0f} s |" for p in phases]
    by_name = {p.name: p for p in phases}
    paper = by_name.get("paper-step")
    if paper is not None and paper.facts:
        measured = [f for k, f in paper.facts.items() if k.startswith("batch ") and "steps_per_s" in f]
        amp = str(measured[0].get("amp", "bf16")).replace("torch.bfloat16", "bf16") if measured else "bf16"
        amp = "off" if amp == "None" else amp.replace("torch.float16", "fp16")
        side = measured[0].get("resolution", 256) if measured else 256
        lines += ["", f"## The paper's training step (experiment=paper, AMP {amp}, {side}×{side})", "",
                  f"Weights: {paper.facts.get('weights', '?')}.", "",
                  "| global batch | per GPU | steps/s | s/step | peak memory |", "|---|---|---|---|---|"]
        for key, facts in paper.facts.items():
            if key.startswith("batch ") and "steps_per_s" in facts:
                memory = f"{facts['peak_memory_gib']} GiB" if facts.get("peak_memory_gib") is not None else "–"
                lines.append(f"| {facts['batch_global']} | {facts['batch_per_gpu']} | {facts['steps_per_s']} | "
                             f"{facts['seconds_per_step']} | {memory} |")
            elif key.startswith("batch "):
                lines.append(f"| {key[6:]} | – | {facts.get('error', 'not measured')} | – | – |")
        per_gpu = paper.facts.get(f"batch {PAPER_BATCH // PAPER_GPUS}") or {}
        if "seconds_per_step" in per_gpu and not tiny:
            hours = gpu_hours(per_gpu["seconds_per_step"])
            lines += ["", f"GPU-hours on {PAPER_GPUS}×A100 (assumed A100 : this GPU step time = {A100_PER_H200} : 1, "
                      "from peak bf16 throughput and bandwidth, not measured; DDP assumed to keep the per-GPU "
                      "step time — see the DDP phase):", "",
                      "| job | steps | GPU-hours |", "|---|---|---|"]
            for job, trainings in TABLE_TRAININGS.items():
                lines.append(f"| {job} | {trainings} × {PAPER_STEPS:,} | {trainings * hours:.1f} |")
    offline = by_name.get("offline-recipe")
    if offline is not None and offline.facts.get("top1"):
        measured, cpu = offline.facts["top1"], offline.facts.get("cpu_model_top1") or {}
        rows = sorted({k.split(" × ")[1] for k in measured})
        lines += ["", "## The offline recipe on the GPU, measured like results/offline/ (Acc@1)", "",
                  f"{offline.facts.get('steps')} steps (probe: {offline.facts.get('probe_steps_per_s')} steps/s).", "",
                  "| recognizer | clean | NullSwap, this run | NullSwap, the CPU model (results/offline) |",
                  "|---|---|---|---|"]
        for row in rows:
            lines.append(f"| {row} | {measured.get(f'clean × {row}', '–')} | {measured.get(f'nullswap × {row}', '–')} | "
                         f"{cpu.get(f'nullswap × {row}', '–')} |")
    for phase in phases:
        if phase.name == "paper-step":
            continue
        if phase.facts or phase.detail:
            lines += ["", f"## {phase.name}", ""]
            for key, value in phase.facts.items():
                if key in ("top1", "cpu_model_top1"):
                    continue
                shown = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value
                lines.append(f"- {key}: {shown}")
            if phase.detail:
                lines += ["", "```", phase.detail.strip(), "```"]
    lines += ["", "## Commands", ""] + [f"- `{c}`" for p in phases for c in p.commands]
    return "\n".join(lines) + "\n"


def write_report(out: Path, phases: list[Phase], tiny: bool = False, dry: bool = False) -> Path:
    from nullswap.atomic import write_text

    env = environment()
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "report.json", json.dumps({"environment": env, "tiny_cpu": tiny, "dry_run": dry,
                                                "phases": [asdict(p) for p in phases]}, indent=1, default=str))
    path = out / "report.md"
    write_text(path, report_markdown(phases, env, tiny, dry))
    return path


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------
def _gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:
        return 0


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else ""


def _steps_per_second(train_log: Path) -> float | None:
    """Training rate from ``train_log.csv`` (its ``seconds`` column), leaving out the first step's start-up."""
    if not train_log.is_file():
        return None
    with open(train_log, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if len(rows) < 2:
        return None
    first, last = rows[0], rows[-1]
    elapsed = float(last["seconds"]) - float(first["seconds"])
    return round((int(last["step"]) - int(first["step"])) / elapsed, 4) if elapsed > 0 else None


def _top1(table_csv: Path) -> dict[str, float]:
    if not table_csv.is_file():
        return {}
    with open(table_csv, newline="") as handle:
        return {f"{r['protector']} × {r['evaluator']}": round(float(r["measured"]), 3)
                for r in csv.DictReader(handle) if r["metric"] == "top1" and r["measured"]}


def _last_row(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows[-1] if rows else {}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["step"]:  # one measurement, in its own process (under torchrun for DDP)
        step = argparse.ArgumentParser(prog="python -m benchmarks.tools.gpu_check step")
        step.add_argument("--batch", type=int, required=True)
        step.add_argument("--warmup", type=int, default=3)
        step.add_argument("--steps", type=int, default=10)
        step.add_argument("--json", type=Path, required=True)
        step.add_argument("overrides", nargs="*")
        args = step.parse_args([a for a in argv[1:] if a != "--"])
        measure_steps(args.overrides, args.batch, args.warmup, args.steps, args.json)
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tools.gpu_check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None,
                        help="the folder for the report, logs and runs (default: runs/gpu-check-<time>)")
    parser.add_argument("--minutes", type=float, default=10.0, help="the whole check's budget (default 10)")
    parser.add_argument("--only", nargs="+", choices=PHASES, default=list(PHASES), help="run only these phases")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the plan and write its report; run nothing")
    mode.add_argument("--tiny-cpu", action="store_true", help="every phase at toy sizes on the CPU (tests the tool)")
    args = parser.parse_args(argv)
    if args.minutes <= 0:
        parser.error("--minutes must be positive")
    out = (args.out or REPO_ROOT / "runs" / time.strftime("gpu-check-%Y%m%d-%H%M%S")).resolve()
    check = GpuCheck(out, Budget(args.minutes * 60), tiny_cpu=args.tiny_cpu, dry_run=args.dry_run)
    if not (args.dry_run or args.tiny_cpu) and check.gpus == 0:
        print("no CUDA device here: make gpu-check measures a GPU (try --dry-run or --tiny-cpu)", file=sys.stderr)
        return 2
    phases = check.run_all(tuple(args.only))
    report = write_report(out, phases, args.tiny_cpu, args.dry_run)
    print(report.read_text())
    print(f"report: {report}")
    return 0 if all(p.status in ("ok", "skipped", "planned") for p in phases) else 1


if __name__ == "__main__":
    raise SystemExit(main())
