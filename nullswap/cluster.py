"""Slurm profiles (``slurm/<name>.yaml``) as submitit executors, the sbatch script they generate, and job
states read back from ``sacct``.

A profile is a Hydra launcher config (``hydra.launcher`` of ``hydra-submitit-launcher``'s
``submitit_slurm``), so the same file serves ``python -m benchmarks.table2 +slurm=a100`` and the
programmatic submissions here (training jobs, table job arrays).  Keys keep the launcher's names
(``timeout_min``, ``mem_gb``, ``tasks_per_node``, ``partition``, ``setup`` …) and are translated to
:class:`submitit.SlurmExecutor`'s here, in one place.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import submitit

from nullswap.provenance import REPO_ROOT

PROFILE_DIR = REPO_ROOT / "slurm"

#: launcher key → SlurmExecutor parameter (keys absent here and in PASS_THROUGH are rejected)
RENAMED = {"timeout_min": "time", "tasks_per_node": "ntasks_per_node", "name": "job_name"}
PASS_THROUGH = frozenset({
    "nodes", "cpus_per_task", "gpus_per_node", "partition", "qos", "comment", "constraint", "exclude",
    "gres", "cpus_per_gpu", "gpus_per_task", "mem_per_gpu", "mem_per_cpu", "account", "signal_delay_s",
    "additional_parameters", "array_parallelism", "setup", "srun_args", "stderr_to_stdout", "dependency",
    "exclusive", "nodelist", "mail_type", "mail_user",
})
#: launcher keys that do not become sbatch options
IGNORED = frozenset({"_target_", "submitit_folder"})
#: sacct states, grouped as the status report shows them
PENDING_STATES = frozenset({"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING", "RESIZING"})
RUNNING_STATES = frozenset({"RUNNING", "COMPLETING", "SUSPENDED", "STAGE_OUT", "SIGNALING"})


class ClusterConfigError(ValueError):
    """A profile or an override that cannot become an sbatch script; the message names the key or file."""


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def load_profile(name: str, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The ``hydra.launcher`` mapping of ``slurm/<name>.yaml`` with ``key=value`` overrides applied and
    ``${oc.env:...}`` site values resolved."""
    from omegaconf import OmegaConf

    path = PROFILE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ClusterConfigError(f"no Slurm profile {path}; profiles: {', '.join(available_profiles())}")
    profile = OmegaConf.load(path)
    launcher = OmegaConf.select(profile, "hydra.launcher")
    defaults = [str(d) for d in profile.get("defaults", [])]
    if launcher is None or not any("submitit_slurm" in d for d in defaults):
        raise ClusterConfigError(f"{path} is not a submitit_slurm profile (no hydra.launcher for Slurm)")
    bad = [o for o in overrides if "=" not in o]
    if bad:
        raise ClusterConfigError(f"profile overrides must be key=value, got {bad}")
    merged = OmegaConf.merge(launcher, OmegaConf.from_dotlist(list(overrides)))
    return dict(OmegaConf.to_container(merged, resolve=True))


def executor_parameters(launcher: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """(SlurmExecutor parameters, max_num_timeout) from a launcher mapping; unknown keys are an error."""
    params: dict[str, Any] = {}
    max_num_timeout = 0
    unknown = []
    for key, value in launcher.items():
        if key in IGNORED or value is None:
            continue
        if key == "max_num_timeout":
            max_num_timeout = int(value)
        elif key == "mem_gb":
            params["mem"] = f"{value}GB"
        elif key in RENAMED:
            params[RENAMED[key]] = value
        elif key in PASS_THROUGH:
            params[key] = dict(value) if isinstance(value, Mapping) else value
        else:
            unknown.append(key)
    if unknown:
        raise ClusterConfigError(
            f"unknown Slurm profile key(s) {sorted(unknown)}; known: "
            f"{', '.join(sorted({*RENAMED, *PASS_THROUGH, 'mem_gb', 'max_num_timeout'}))}"
        )
    if not params.get("additional_parameters"):
        params.pop("additional_parameters", None)
    return params, max_num_timeout


class ScriptOnlyExecutor(submitit.SlurmExecutor):
    """A :class:`submitit.SlurmExecutor` for dry runs: the same parameters, checks and sbatch text, but no
    Slurm needed on this machine and no way to submit.

    submitit refuses to build a ``SlurmExecutor`` where ``srun`` is not on ``PATH`` (its cluster
    detection), yet the person checking a dry run's script is typically on a laptop or a login node
    without it.  Only the detection is replaced; parameter validation (``update_parameters``) and the
    script text (``_make_sbatch_string``) stay submitit's own, so the printed script is the one a real
    submission writes.
    """

    @classmethod
    def affinity(cls) -> int:
        return 1  # builds scripts anywhere; never chosen by submitit.AutoExecutor (not a registered plugin)

    def _internal_process_submissions(self, delayed_submissions):
        raise RuntimeError("a dry-run executor prints sbatch scripts and never submits a job")


def make_executor(folder: Path | str, launcher: Mapping[str, Any], *, dry_run: bool = False, **extra: Any):
    """A :class:`submitit.SlurmExecutor` writing its job files under ``folder`` (use ``%j`` in it).

    ``dry_run=True`` gives a :class:`ScriptOnlyExecutor`: the same sbatch script, on a machine without Slurm.
    """
    params, max_num_timeout = executor_parameters(launcher)
    kind = ScriptOnlyExecutor if dry_run else submitit.SlurmExecutor
    executor = kind(folder=Path(folder), max_num_timeout=max_num_timeout)
    executor.update_parameters(**{**params, **extra})
    return executor


def sbatch_script(executor, array_size: int | None = None) -> str:
    """The sbatch script ``executor`` submits (an array of ``array_size`` tasks when given) — what a
    dry run prints so a user can check partition, account, resources and setup lines first."""
    from submitit.slurm.slurm import _make_sbatch_string

    parameters = dict(executor.parameters)
    if array_size and array_size > 1:
        parameters["map_count"] = int(array_size)
    return _make_sbatch_string(command=executor._submitit_command_str, folder=executor.folder, **parameters)


# --------------------------------------------------------------------------------------------------
# Job states
# --------------------------------------------------------------------------------------------------
def _expand(job_id: str) -> list[str]:
    """``12_[0-2,5%2]`` → ``12_0 12_1 12_2 12_5``; other ids unchanged."""
    if "_[" not in job_id:
        return [job_id]
    head, spec = job_id.split("_[", 1)
    spec = spec.rstrip("]").split("%", 1)[0]
    ids = []
    for part in spec.split(","):
        if "-" in part:
            low, high = part.split("-", 1)
            ids += [f"{head}_{i}" for i in range(int(low), int(high) + 1)]
        elif part:
            ids.append(f"{head}_{part}")
    return ids


def parse_sacct(text: str) -> dict[str, str]:
    """Job id → state from ``sacct -X -P -n -o JobID,State`` (job steps ignored, array ranges expanded,
    ``CANCELLED by 0`` → ``CANCELLED``)."""
    states: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) < 2 or "." in parts[0]:
            continue
        state = parts[1].split()[0] if parts[1] else "UNKNOWN"
        for job_id in _expand(parts[0]):
            states[job_id] = state
    return states


def job_states(job_ids: Iterable[str]) -> dict[str, str]:
    """Current Slurm state of each job id (array tasks as ``<array>_<index>``), read from ``sacct``.

    Ids sacct does not know (or every id, when there is no ``sacct`` here) are absent from the result."""
    ids = sorted({str(j) for j in job_ids})
    if not ids or shutil.which("sacct") is None:
        return {}
    arrays = sorted({j.split("_")[0] for j in ids})
    try:
        out = subprocess.run(
            ["sacct", "-X", "-P", "-n", "-o", "JobID,State", "-j", ",".join(arrays)],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    states = parse_sacct(out)
    return {j: states[j] for j in ids if j in states}
