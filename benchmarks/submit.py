"""Submit a table's missing cells to Slurm: one job array, then one job that builds the tables.

``python -m benchmarks.table2 cluster=slurm +slurm=a100 [hydra.launcher.partition=gpu ...]`` (or
``make reproduce-table2 CLUSTER=slurm``) plans every cell of the table, keeps those whose files are
missing, and submits them through submitit as **one array**: one task per protector column by default
(``cluster_group=protector``: a column's protected images are computed once and shared by its cells)
or one task per cell (``cluster_group=cell``).  A second job, submitted with
``--dependency=afterany:<array>``, rebuilds the tables and figures from whatever cells exist once the
array has ended.  ``cluster=dry-run`` prints both sbatch scripts and submits nothing.

Every task is a :class:`CellsTask` (submitit ``Checkpointable``): at the time limit or on pre-emption it
is re-queued and, like any re-run, computes only the cells still missing.  Submitting the same table
again submits only what is still missing, so a killed task costs its unfinished cells and nothing else.

Each submission is recorded in ``<experiment>/slurm/submissions.jsonl`` (job ids, the cells of each
task, the submitit folder with its logs); ``python -m benchmarks status <experiment>`` reads it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import submitit

from benchmarks.errors import BenchmarkError, user_errors
from benchmarks.execute import RunReport, write_gitignore
from benchmarks.plan import Job, plan_missing, to_plain
from benchmarks.protector_options import check_checkpoints
from benchmarks.specs import ProtectorSpec
from benchmarks.status import submissions_path
from benchmarks.store import now_iso
from nullswap import cluster
from nullswap.atomic import write_text

GROUPS = ("protector", "cell")
#: resources of the tables job, replacing the profile's (it reads cell files and draws figures)
TABLES_JOB = {"cpus_per_task": 1, "mem": "4GB", "time": 60, "nodes": 1, "ntasks_per_node": 1}
#: profile keys the tables job drops (it needs no GPU and is not an array)
TABLES_JOB_DROPS = ("gpus_per_node", "gpus_per_task", "gres", "cpus_per_gpu", "mem_per_gpu", "mem_per_cpu",
                    "constraint", "array_parallelism")


class CellsTask(submitit.helpers.Checkpointable):
    """One array task: compute the given cells of a table, skipping those already written.

    Re-queued after a time limit or pre-emption with the same arguments, it resumes with the cells that
    are still missing (finished cells are files, written atomically)."""

    def __call__(self, runner: Callable[[Any], RunReport], cfg: Mapping[str, Any], hashes: Sequence[str]) -> list[str]:
        only = dict(cfg.get("only") or {})
        task_cfg = {**cfg, "only": {**only, "cells": list(hashes)}, "build_tables": False, "cluster": None}
        report = runner(task_cfg)
        return [str(key.relpath()) for key in report.computed]


def build_tables_task(root: str) -> list[str]:
    """The dependent job: tables and figures from the cells present (:func:`benchmarks.report.write.build_tables`)."""
    from benchmarks.report.write import build_tables

    return [str(p) for p in build_tables(Path(root))]


def group_cells(pending: Sequence[Job], by: str) -> list[list[Job]]:
    """Array tasks: the pending cells of each protector column together, or one cell per task."""
    if by not in GROUPS:
        raise BenchmarkError(f"cluster_group must be one of {', '.join(GROUPS)}, got {by!r}")
    if by == "cell":
        return [[job] for job in pending]
    columns: dict[str, list[Job]] = {}
    for job in pending:
        columns.setdefault(job.key.protector, []).append(job)
    return list(columns.values())


@dataclass
class Submission:
    """What one submission sent to Slurm (one line of ``slurm/submissions.jsonl``)."""

    table: str
    submitted: str
    folder: str
    planned: list[str]
    tasks: list[dict[str, Any]] = field(default_factory=list)
    array_job_id: str | None = None
    tables_job_id: str | None = None


def record(root: Path, submission: Submission) -> None:
    """Append ``submission`` (rewriting the file atomically: a reader never sees half a line)."""
    path = submissions_path(root)
    previous = path.read_text() if path.is_file() else ""
    write_text(path, previous + json.dumps(asdict(submission)) + "\n")


def _tables_executor(folder: Path, launcher: Mapping[str, Any], array_job_id: str | None, table: str,
                     dry_run: bool = False):
    kept = {k: v for k, v in launcher.items() if k not in TABLES_JOB_DROPS}
    executor = cluster.make_executor(folder, kept, dry_run=dry_run)
    for key in TABLES_JOB_DROPS:
        executor.parameters.pop(key, None)
    executor.update_parameters(**TABLES_JOB, job_name=f"{table}-tables")
    if array_job_id:
        executor.update_parameters(dependency=f"afterany:{array_job_id}")
    return executor


def submit(
    cfg: Mapping[str, Any] | Any,
    launcher: Mapping[str, Any],
    *,
    runner: Callable[[Any], RunReport],
    specs: Callable[[Mapping[str, Any]], list[ProtectorSpec]] | None = None,
    planner: Callable[..., tuple[Path, list[Any], list[Any]]] | None = None,
    dry_run: bool = False,
    out=sys.stdout,
) -> Submission | None:
    """Submit the missing cells of ``cfg``'s table as one array plus the dependent tables job.

    ``launcher`` is a Slurm profile's launcher mapping (:func:`nullswap.cluster.load_profile` or Hydra's
    ``hydra.launcher``); ``planner`` lists the cells when they are not Table 1/2/4/5's
    (:func:`benchmarks.table3.plan_missing`).  Returns the recorded submission, or None when nothing is
    missing (or dry run)."""
    cfg = {**to_plain(cfg), "cluster": None}
    protectors = specs(cfg) if specs is not None else None
    root, jobs, pending = (planner or plan_missing)(cfg, protectors)
    table = str(cfg["table"])
    if not pending:
        print(f"{root}: all {len(jobs)} cells of {table} are present; nothing to submit "
              f"(tables: python -m benchmarks.report {root})", file=out)
        return None
    check_checkpoints([job.protector for job in pending if job.protector is not None])
    groups = group_cells(pending, str(cfg.get("cluster_group") or "protector"))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = root / "slurm" / stamp / "%j"
    executor = cluster.make_executor(folder, launcher, dry_run=dry_run)  # a dry run needs no Slurm here
    tasks = int(executor.parameters.get("nodes", 1)) * int(executor.parameters.get("ntasks_per_node", 1))
    if tasks > 1:
        raise BenchmarkError(
            f"a table's array task is one process, the profile asks for {tasks} tasks per job: use "
            "+slurm=a100 (or hydra.launcher.nodes=1 hydra.launcher.tasks_per_node=1)"
        )
    if "job_name" not in executor.parameters:
        executor.update_parameters(job_name=f"{table}-cells")
    if dry_run:
        print(f"# {len(pending)} of {len(jobs)} cells missing -> an array of {len(groups)} task(s):", file=out)
        for index, group in enumerate(groups):
            print(f"#   task {index}: " + ", ".join(job.description for job in group), file=out)
        print(cluster.sbatch_script(executor, len(groups)), file=out)
        print("# then, after the array (--dependency=afterany:ARRAY_JOB_ID):", file=out)
        print(cluster.sbatch_script(_tables_executor(folder, launcher, "ARRAY_JOB_ID", table, dry_run=True)), file=out)
        return None
    write_gitignore(root)
    with executor.batch():
        handles = [executor.submit(CellsTask(), runner, cfg, [job.key.config_hash for job in group])
                   for group in groups]
    array_id = handles[0].job_id.split("_")[0]
    tables = _tables_executor(folder, launcher, array_id, table).submit(build_tables_task, str(root))
    submission = Submission(
        table=table,
        submitted=now_iso(),
        folder=str(folder),
        planned=[str(job.key.relpath()) for job in jobs],
        tasks=[
            {"job_id": handle.job_id, "cells": [str(job.key.relpath()) for job in group],
             "describe": [job.description for job in group]}
            for handle, group in zip(handles, groups)
        ],
        array_job_id=array_id,
        tables_job_id=tables.job_id,
    )
    record(root, submission)
    print(
        f"{root}: {len(pending)} of {len(jobs)} cells missing; submitted array {array_id} "
        f"({len(groups)} task(s)) and tables job {tables.job_id} (after the array)\n"
        f"  progress: python -m benchmarks status {root}",
        file=out,
    )
    return submission


def hydra_launcher() -> dict[str, Any]:
    """The ``hydra.launcher`` of the running Hydra app, when it is a Slurm profile."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    launcher = HydraConfig.get().launcher
    target = str(launcher.get("_target_", ""))
    if "SlurmLauncher" not in target:
        raise BenchmarkError(
            "cluster=slurm needs a Slurm profile: add +slurm=NAME (profiles: "
            f"{', '.join(p for p in cluster.available_profiles() if p != 'local')}); "
            "override its keys with hydra.launcher.KEY=VALUE"
        )
    plain: dict[str, Any] = {}
    for key in launcher:
        if key in ("submitit_folder", "name"):  # the submit path names the jobs and makes one folder each
            continue
        value = launcher[key]  # resolved against Hydra's config (e.g. name: ${hydra.job.name})
        plain[str(key)] = OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
    return plain


def submit_or_exit(
    cfg: Any,
    runner: Callable[[Any], RunReport],
    specs: Callable[[Mapping[str, Any]], list[ProtectorSpec]] | None = None,
    planner: Callable[..., tuple[Path, list[Any], list[Any]]] | None = None,
) -> Submission | None:
    """The ``cluster=slurm|dry-run`` branch of the table entry points: errors end with their message."""
    mode = str(cfg.get("cluster"))
    try:
        if mode not in ("slurm", "dry-run"):
            raise BenchmarkError(f"cluster must be slurm, dry-run or null, got {mode!r}")
        launcher = hydra_launcher()
        return submit(cfg, launcher, runner=runner, specs=specs, planner=planner, dry_run=mode == "dry-run")
    except (*user_errors(), cluster.ClusterConfigError, submitit.core.utils.FailedJobError) as exc:
        if os.environ.get("NULLSWAP_TRACEBACK"):
            raise
        print(f"\nerror ({type(exc).__name__}): {exc}", file=sys.stderr)
        raise SystemExit(2) from None
