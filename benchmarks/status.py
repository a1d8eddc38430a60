"""Where a cluster run stands: ``python -m benchmarks status RESULTS_DIR``.

Every cell the submissions planned (``<experiment>/slurm/submissions.jsonl``) and every cell file
present is one of:

* **done** — its file exists (whatever computed it);
* **running** — the array task that holds it is running;
* **pending** — its task waits in the queue (or is re-queued), or the cell was planned and never
  submitted;
* **failed** — its task ended (failed, cancelled, timed out, out of memory, or completed without
  writing it): the report names the task's log files and shows their last lines.

Job states come from ``sacct`` (the latest submission that holds a cell decides); without ``sacct``
a missing cell of an ended submission cannot be told apart from a queued one and shows as pending
with state UNKNOWN.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.store import ResultStore
from nullswap import cluster

STATES = ("done", "pending", "running", "failed")


@dataclass
class CellStatus:
    cell: str
    state: str
    job_id: str | None = None
    slurm_state: str | None = None
    logs: tuple[str, ...] = ()
    tail: str = ""


def submissions_path(root: Path | str) -> Path:
    """Where :mod:`benchmarks.submit` records what it sent to Slurm (one JSON object per line)."""
    return Path(root) / "slurm" / "submissions.jsonl"


def read_submissions(root: Path | str) -> list[dict]:
    path = submissions_path(root)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def log_paths(folder: str, job_id: str) -> tuple[Path, Path]:
    """submitit's stdout / stderr files of ``job_id`` (``<array>_<index>`` for array tasks)."""
    from submitit.core.utils import JobPaths

    paths = JobPaths(folder, job_id=job_id, task_id=0)
    return paths.stdout, paths.stderr


def last_lines(paths: Sequence[Path], lines: int) -> str:
    """The last ``lines`` lines of the first file that holds any text (stderr first: tracebacks), after
    Slurm's own verdict on the task (``*** JOB … CANCELLED AT …`` / ``DUE TO TIME LIMIT``) wherever in the
    file it stands: the lines a job prints while it is being killed can push it out of the tail."""
    for path in paths:
        if path.is_file():
            text = path.read_text(errors="replace").rstrip()
            if text:
                all_lines = text.splitlines()
                tail = all_lines[-lines:]
                verdicts = [line for line in all_lines[:-lines] if "slurmstepd" in line and "***" in line]
                return "\n".join([*verdicts, *tail])
    return ""


def _category(slurm_state: str | None) -> str:
    if slurm_state is None or slurm_state in cluster.PENDING_STATES:
        return "pending"
    if slurm_state in cluster.RUNNING_STATES:
        return "running"
    return "failed"


def collect(root: Path | str, lines: int = 5) -> list[CellStatus]:
    """The status of every planned or present cell of the experiment folder ``root``."""
    root = Path(root)
    present = {str(Path(c["_path"]).relative_to(root)) for c in ResultStore(root).cells()}
    submissions = read_submissions(root)
    latest: dict[str, tuple[str, str]] = {}  # cell → (job id, submitit folder) of its latest task
    planned: set[str] = set()
    for submission in submissions:
        planned.update(submission.get("planned", []))
        for task in submission.get("tasks", []):
            for cell in task["cells"]:
                latest[cell] = (str(task["job_id"]), submission["folder"])
    missing = sorted((planned | set(latest)) - present)
    states = cluster.job_states({latest[c][0] for c in missing if c in latest})
    report = [CellStatus(cell, "done") for cell in sorted(present)]
    for cell in missing:
        if cell not in latest:
            report.append(CellStatus(cell, "pending", slurm_state="NOT SUBMITTED"))
            continue
        job_id, folder = latest[cell]
        slurm_state = states.get(job_id)
        status = CellStatus(cell, _category(slurm_state), job_id, slurm_state or "UNKNOWN")
        if status.state == "failed":
            paths = log_paths(folder, job_id)
            status.logs = tuple(str(p) for p in paths)
            status.tail = last_lines([paths[1], paths[0]], lines)
        report.append(status)
    return report


def counts(report: Sequence[CellStatus]) -> dict[str, int]:
    found = Counter(s.state for s in report)
    return {state: found.get(state, 0) for state in STATES}


def format_report(root: Path | str, report: Sequence[CellStatus]) -> str:
    total = counts(report)
    out = [f"{root}: {len(report)} cells — " + ", ".join(f"{n} {state}" for state, n in total.items())]
    for state in ("running", "pending", "failed"):
        chosen = [s for s in report if s.state == state]
        if not chosen:
            continue
        out.append(f"{state}:")
        for s in chosen:
            out.append(f"  {s.cell}  [job {s.job_id or '-'}: {s.slurm_state}]")
            for path in s.logs:
                out.append(f"    log: {path}")
            out.extend(f"    | {line}" for line in s.tail.splitlines())
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks status", description=__doc__.split("\n\n")[0])
    parser.add_argument("results_dir", type=Path, help="an experiment folder (results/<experiment>)")
    parser.add_argument("--lines", type=int, default=5, help="log lines shown per failed cell")
    args = parser.parse_args(argv)
    if not args.results_dir.is_dir():
        print(f"error: {args.results_dir} is not a folder", file=sys.stderr)
        return 2
    report = collect(args.results_dir, args.lines)
    print(format_report(args.results_dir, report))
    return 1 if any(s.state == "failed" for s in report) else 0
