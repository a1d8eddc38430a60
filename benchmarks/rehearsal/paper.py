"""``make rehearse-paper``: the paper's setting end to end, on stand-ins, as a new user would run it.

In a temporary folder (its own ``$NULLSWAP_HOME``; nothing under the repository is written):

1. the offline set's real faces written as CelebA-HQ (1024² images, mapping, identity and partition files;
   test 36 images / 12 identities) and as LFW (people folders, 250×250) — :mod:`.layouts`;
2. random-weight stand-ins of the paper's networks where the weight manifest looks, each marked — :mod:`.standins`;
3. ``python -m nullswap.train experiment=paper`` for a few steps (``rehearsal=true``);
4. Tables 1, 2 and 4 with that checkpoint and Table 5 (four sessions of a few steps; the first is killed
   after its first checkpoint and the table run again, which resumes it), all with ``rehearsal=true``;
   the upstream baselines are reported missing unless ``python -m benchmarks.setup`` prepared them;
5. Table 2 on the val split (its header says so), and a *normal* run (``rehearsal=false``) that the
   recognizer sanity gate refuses: one recognizer a marked stand-in, one an unmarked random file;
6. the sbatch scripts of a Table 2 submission and of a paper training job (dry runs), and the same Table 2
   through the local Slurm cluster when one answers (``make test-slurm``'s; skipped with a message otherwise).

Every command is one a user would type, printed before it runs, with its exit status and wall time; each
table is printed as written.  The run fails when any table lacks the REHEARSAL header, a step fails in
an unexpected way, or anything was written under the repository's ``results/``.

Usage: ``python -m benchmarks.rehearsal.paper [--workdir DIR] [--keep] [--no-slurm]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from nullswap.assets import cache_root
from nullswap.provenance import REPO_ROOT
from nullswap.standin import REHEARSAL_HEADER

#: training overrides that fit the paper's networks on a few dozen faces and two CPU cores (the
#: recognizers, LPIPS, data set, model and losses stay the paper's)
SMALL_TRAINING = ["train.epochs=null", "train.batch_size=4", "train.resolution=128", "train.eval_faces=4",
                  "train.tensorboard=false", "train.progress=false"]
#: the upstream baselines a rehearsal does not set up: their absence is reported, not a failure
UPSTREAM = ("initiative", "antiforgery", "dfrap")
#: one numbered missing piece in a MissingPieces message ("  2. protector dfrap:")
PIECE = re.compile(r"^\s*\d+\. ((?:protector|recognizer|perceptual metric|cell) [^:]+):", re.MULTILINE)


@dataclass
class Step:
    name: str
    argv: list[str]
    status: int
    seconds: float
    output: str


@dataclass
class Rehearsal:
    """The folders of one rehearsal and what it ran."""

    workdir: Path
    steps: list[Step] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def home(self) -> Path:
        return self.workdir / "home"

    @property
    def celebahq(self) -> Path:
        return self.workdir / "data" / "CelebAMask-HQ"

    @property
    def lfw(self) -> Path:
        return self.workdir / "data" / "lfw-root"

    @property
    def results(self) -> Path:
        return self.workdir / "results"

    @property
    def run_dir(self) -> Path:
        return self.workdir / "runs" / "paper"

    def env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, "NULLSWAP_HOME": str(self.home), "DEEPFACE_HOME": str(self.workdir / "deepface"),
               "PYTHONUNBUFFERED": "1", **extra}
        env.pop("NULLSWAP_TRACEBACK", None)
        env.pop("NULLSWAP_CHECKPOINT", None)
        return env

    # ------------------------------------------------------------------ running commands
    def run(self, name: str, argv: list[str], expect: tuple[int, ...] = (0,), env: dict[str, str] | None = None,
            quiet: bool = False) -> Step:
        """Run one command as a user would, print it, its status and time; record a problem when its exit
        status is not one of ``expect``."""
        print(f"\n=== {name}\n$ {shlex.join(argv)}", flush=True)
        started = time.perf_counter()
        result = subprocess.run(argv, cwd=REPO_ROOT, env=env or self.env(), capture_output=True, text=True)
        step = Step(name, argv, result.returncode, time.perf_counter() - started, result.stdout + result.stderr)
        self.steps.append(step)
        if not quiet:
            print(_interesting(step.output))
        print(f"--- exit {step.status}, {step.seconds:.0f} s", flush=True)
        if step.status not in expect:
            self.problems.append(f"{name}: exit {step.status} (expected {expect})\n{step.output[-3000:]}")
        return step

    def python(self, name: str, *args: str, **kwargs) -> Step:
        return self.run(name, [sys.executable, "-m", *args], **kwargs)


def _interesting(output: str, limit: int = 80) -> str:
    """The lines of a command's output a reader of the rehearsal needs (errors, stand-ins, sessions, files)."""
    keys = ("error", "missing piece", "REHEARSAL", "session", "resum", "cells computed", "wrote", "refused",
            "sanity gate", "cell(s) not computed", "protector ", "recognizer ", "checkpoint:", "NullSwap generator",
            "stand", "not the paper", "steps", "layout")
    lines = [line for line in output.splitlines() if any(k.lower() in line.lower() for k in keys)]
    lines = [line if len(line) <= 320 else line[:320] + " …" for line in lines
             if "Warning" not in line and "warn(" not in line and "let through because" not in line]
    if len(lines) > limit:
        lines = [*lines[: limit // 2], f"  … {len(lines) - limit} more lines …", *lines[-limit // 2 :]]
    return "\n".join(lines)


# ------------------------------------------------------------------ building the stand-ins
def prepare_home(rehearsal: Rehearsal, source: Path) -> None:
    """A private ``$NULLSWAP_HOME``: the real registry faces and archives of ``source`` (read through links),
    each genuine offline weight file linked in, and nothing else — the paper's files are stand-ins here."""
    from nullswap import weights

    home = rehearsal.home
    (home / "weights").mkdir(parents=True, exist_ok=True)
    for folder in ("faces", "archives"):
        if (source / folder).is_dir() and not (home / folder).exists():
            (home / folder).symlink_to((source / folder).resolve(), target_is_directory=True)
    for entry in weights.MANIFEST.values():
        real = source / "weights" / entry.cache_subdir / entry.filename
        if entry.offline and real.is_file():
            link = home / "weights" / entry.cache_subdir / entry.filename
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(real.resolve())


def build_standins(rehearsal: Rehearsal) -> None:
    """Data layouts and stand-in weights, built in a subprocess that sees only the private home."""
    rehearsal.python("stand-in data sets and weights", "benchmarks.rehearsal.standins",
                     "--celebahq", str(rehearsal.celebahq), "--lfw", str(rehearsal.lfw))
    rehearsal.python("python -m nullswap.weights list (the stand-ins are named as such)", "nullswap.weights",
                     "list", quiet=True)
    print("\n".join(line for line in rehearsal.steps[-1].output.splitlines()
                    if "STAND-IN" in line or "deepface" in line or "lpips" in line))


# ------------------------------------------------------------------ the table runs
def table_args(rehearsal: Rehearsal, *extra: str) -> list[str]:
    return [f"output_root={rehearsal.results}", "rehearsal=true", "device=cpu", "batch_size=8", *extra]


def print_tables(rehearsal: Rehearsal, experiment: str, names: tuple[str, ...]) -> None:
    """Print each table as written, and check its REHEARSAL header."""
    for name in names:
        path = rehearsal.results / experiment / "tables" / f"{name}.md"
        if not path.is_file():
            rehearsal.problems.append(f"{path} was not written")
            continue
        text = path.read_text()
        print(f"\n----- {path}\n{text}")
        header = text.split("\n\n")[1] if "\n\n" in text else ""
        if not header.startswith(REHEARSAL_HEADER):
            rehearsal.problems.append(f"{path}: the header does not start with '{REHEARSAL_HEADER}'")


def expect_only_upstream_missing(rehearsal: Rehearsal, step: Step) -> None:
    """A table run ends with status 2 only because the upstream baselines are not set up."""
    if step.status != 2:
        return
    missing = [match.group(1) for match in PIECE.finditer(step.output)]
    unexpected = [m for m in missing if m not in {f"protector {u}" for u in UPSTREAM}]
    if unexpected or not missing:
        rehearsal.problems.append(f"{step.name}: unexpected missing pieces {unexpected or '(none listed)'}")
    else:
        print(f"(expected: the upstream baselines {', '.join(UPSTREAM)} are not set up here — "
              "python -m benchmarks.setup prepares them; every other column was computed)")


def train_paper(rehearsal: Rehearsal, steps: int) -> Path:
    rehearsal.python(
        "experiment=paper training, a few steps", "nullswap.train", "experiment=paper",
        f"data.root={rehearsal.celebahq}", *SMALL_TRAINING, f"train.steps={steps}", f"train.checkpoint_every={steps}",
        f"train.eval_every={steps}", "rehearsal=true", f"run_dir={rehearsal.run_dir}")
    return rehearsal.run_dir / "checkpoints" / "last.pt"


def tables_1_2_4(rehearsal: Rehearsal, checkpoint: Path) -> None:
    nullswap = f"protector_options.nullswap.checkpoint={checkpoint}"
    for table, data, experiment in (("table1", rehearsal.celebahq, "celebahq-paper"),
                                    ("table2", rehearsal.celebahq, "celebahq-paper"),
                                    ("table4", rehearsal.lfw, "lfw-paper")):
        step = rehearsal.python(f"Table {table[-1]}", f"benchmarks.{table}",
                                *table_args(rehearsal, f"dataset.root={data}", nullswap), expect=(0, 2))
        expect_only_upstream_missing(rehearsal, step)
        print_tables(rehearsal, experiment, (table,))


def table5_interrupted_and_resumed(rehearsal: Rehearsal, steps: int) -> None:
    """Table 5: start it, kill it once the first session wrote its first checkpoint, run it again."""
    # sessions: no held-out evaluation during training (the table measures them), a checkpoint every step
    extra = '["train.batch_size=4","train.resolution=128","train.checkpoint_every=1","train.eval_split=null",' \
            '"train.tensorboard=false","train.progress=false"]'
    argv = [sys.executable, "-m", "benchmarks.table5",
            *table_args(rehearsal, f"dataset.root={rehearsal.celebahq}", f"train.steps={steps}", f"train.extra={extra}")]
    session = rehearsal.results / "celebahq-paper" / "sessions" / "session1"
    print(f"\n=== Table 5, interrupted: killed once {session}/checkpoints/last.pt exists\n$ {shlex.join(argv)}",
          flush=True)
    started = time.perf_counter()
    log = rehearsal.workdir / "table5-interrupted.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(argv, cwd=REPO_ROOT, env=rehearsal.env(), stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        while process.poll() is None and not (session / "checkpoints" / "last.pt").is_file():
            time.sleep(0.2)
        killed = process.poll() is None
        if killed:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    output = log.read_text()
    rehearsal.steps.append(Step("Table 5 (killed)", argv, process.returncode, time.perf_counter() - started, output))
    print(_interesting(output, 20))
    print(f"--- killed after {time.perf_counter() - started:.0f} s, session1 at its first checkpoint"
          if killed else "--- it ended before it could be killed (nothing to resume)")
    if not killed:
        rehearsal.problems.append("Table 5 ended before its first session could be interrupted")
    step = rehearsal.run("Table 5, run again: session1 resumes", argv, expect=(0, 2))
    expect_only_upstream_missing(rehearsal, step)
    if killed and "resuming its interrupted training" not in step.output:
        rehearsal.problems.append("Table 5: the interrupted session was not resumed")
    trained = [line for line in step.output.splitlines() if "session session1" in line]
    print("\n".join(trained))
    print_tables(rehearsal, "celebahq-paper", ("table5",))


def val_split_header(rehearsal: Rehearsal, checkpoint: Path) -> None:
    rehearsal.python("Table 2 on the val split", "benchmarks.table2",
                     *table_args(rehearsal, f"dataset.root={rehearsal.celebahq}", "dataset.split=val",
                                 "experiment=celebahq-val", "protectors=[clean,nullswap]",
                                 f"protector_options.nullswap.checkpoint={checkpoint}"))
    print_tables(rehearsal, "celebahq-val", ("table2",))


def sanity_gate_in_a_normal_run(rehearsal: Rehearsal) -> None:
    """A normal run (no ``rehearsal=true``): ArcFace from an *unmarked* random file (no published hash, so
    nothing but the gate can tell), Facenet a marked stand-in: both refused, with the gate's numbers."""
    from nullswap import weights

    original = rehearsal.home / "weights" / weights.MANIFEST["deepface_arcface"].filename
    unmarked = rehearsal.workdir / "unmarked" / original.name
    unmarked.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(original, unmarked)
    step = rehearsal.python(
        "a normal run with random recognizers: the sanity gate refuses them", "benchmarks.table2",
        f"output_root={rehearsal.workdir / 'normal'}", "device=cpu", f"dataset.root={rehearsal.celebahq}",
        "protectors=[clean]", "recognizers=[arcface,facenet]", "visual=false", expect=(2,),
        env=rehearsal.env(NULLSWAP_WEIGHT_DEEPFACE_ARCFACE=str(unmarked)), quiet=True)
    print("\n".join(line for line in step.output.splitlines()
                    if "sanity gate" in line or "refused" in line or "tell real people" in line
                    or "not computed" in line or "reads stand-in" in line))
    for needed in ("does not tell real people apart", "reads stand-in weights"):
        if needed not in step.output:
            rehearsal.problems.append(f"the normal run was not refused as expected ({needed!r} missing)")


def dry_runs(rehearsal: Rehearsal) -> None:
    step = rehearsal.python("Table 2 as a Slurm array: the sbatch scripts (dry run)", "benchmarks.table2",
                            "cluster=dry-run", "+slurm=a100", "experiment=celebahq-slurm",
                            *table_args(rehearsal, f"dataset.root={rehearsal.celebahq}", "protectors=[clean,cmua]"),
                            quiet=True)
    print("\n".join(step.output.splitlines()[:40]))
    step = rehearsal.python("paper training as a Slurm job on 8 GPUs: the sbatch script (dry run)",
                            "nullswap.train_job", "--profile", "a100x8", "--dry-run", f"run_dir={rehearsal.run_dir}x8",
                            "experiment=paper", f"data.root={rehearsal.celebahq}", quiet=True)
    print("\n".join(step.output.splitlines()[:40]))


def slurm_answers() -> str | None:
    """Why the local Slurm cannot be used (None when ``sinfo`` answers under ``$SLURM_CONF``)."""
    if not os.environ.get("SLURM_CONF"):
        return "SLURM_CONF is not set (start one with: sudo python slurm/local_cluster.py start --dir /tmp/slurm-demo)"
    if shutil.which("sinfo") is None:
        return "sinfo is not installed"
    try:
        subprocess.run(["sinfo", "-h"], check=True, capture_output=True, timeout=15)
    except (subprocess.SubprocessError, OSError) as exc:
        return f"sinfo does not answer ({exc})"
    return None


def through_slurm(rehearsal: Rehearsal, checkpoint: Path) -> None:
    why = slurm_answers()
    if why is not None:
        print(f"\n=== the same through the local Slurm: skipped — {why}")
        return
    experiment = "celebahq-slurm"
    rehearsal.python(
        "Table 2 through the local Slurm (an array of protector columns, then the tables job)", "benchmarks.table2",
        "cluster=slurm", "+slurm=a100", f"experiment={experiment}",
        *table_args(rehearsal, f"dataset.root={rehearsal.celebahq}", "protectors=[clean,nullswap]",
                    "recognizers=[arcface,facenet]", f"protector_options.nullswap.checkpoint={checkpoint}",
                    "hydra.launcher.mem_gb=4", "hydra.launcher.cpus_per_task=1", "hydra.launcher.timeout_min=30",
                    "hydra.launcher.setup=['export OMP_NUM_THREADS=1']"))
    deadline = time.monotonic() + 900
    tables = rehearsal.results / experiment / "tables" / "table2.md"
    while time.monotonic() < deadline and not tables.is_file():
        time.sleep(5)
    rehearsal.python("its status", "benchmarks", "status", str(rehearsal.results / experiment))
    print_tables(rehearsal, experiment, ("table2",))


def nothing_under_results(before: set[Path]) -> list[str]:
    after = set((REPO_ROOT / "results").rglob("*"))
    return [f"written under the repository's results/: {p}" for p in sorted(after - before)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rehearsal.paper", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=None, help="where to rehearse (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the folder afterwards (default: remove it)")
    parser.add_argument("--no-slurm", action="store_true", help="do not use a local Slurm cluster even if one answers")
    parser.add_argument("--steps", type=int, default=3, help="training steps of the paper run and of each session")
    args = parser.parse_args(argv)
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="nullswap-rehearsal-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    rehearsal = Rehearsal(workdir)
    before = set((REPO_ROOT / "results").rglob("*"))
    started = time.perf_counter()
    print(f"{REHEARSAL_HEADER}: rehearsing the paper's setting on stand-ins in {workdir}")
    try:
        prepare_home(rehearsal, cache_root())
        build_standins(rehearsal)
        checkpoint = train_paper(rehearsal, args.steps)
        if checkpoint.is_file():
            tables_1_2_4(rehearsal, checkpoint)
            table5_interrupted_and_resumed(rehearsal, args.steps)
            val_split_header(rehearsal, checkpoint)
            sanity_gate_in_a_normal_run(rehearsal)
            dry_runs(rehearsal)
            if not args.no_slurm:
                through_slurm(rehearsal, checkpoint)
        else:
            rehearsal.problems.append("the paper training wrote no checkpoint")
        rehearsal.problems += nothing_under_results(before)
    finally:
        total = time.perf_counter() - started
        print(f"\n=== wall time per step (total {total / 60:.1f} min)")
        for step in rehearsal.steps:
            print(f"  {step.seconds:7.1f} s  exit {step.status:3d}  {step.name}")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept: {workdir}")
    if rehearsal.problems:
        print("\nREHEARSAL FAILED:\n" + "\n\n".join(rehearsal.problems), file=sys.stderr)
        return 1
    print(f"\nrehearsal passed: every table headed '{REHEARSAL_HEADER}', nothing written under results/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
