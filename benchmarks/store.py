"""The results store: one JSON file per table cell, written atomically, with its provenance.

A *cell* is one measured unit of a table — (table, dataset, protector, recognizer-or-swapper, seed,
config hash) — and lives at::

    <experiment>/cells/<table>/<dataset>/<protector>/<evaluator>/seed<seed>-<config_hash>.json

``evaluator`` is a recognizer name for identification cells, ``visual`` for PSNR/SSIM/perceptual
cells, a swapper name for swap cells.  The config hash covers everything that changes the measured
numbers (dataset selection, protector and its options, recognizer and its options, protocol and metric
settings) and nothing that does not (device, batch size, output folder).

:meth:`ResultStore.ensure` computes a cell only when its file is absent, so a sweep that crashed or was
pre-empted resumes where it stopped, and deleting one file recomputes exactly that cell.  Files are
written to a temporary name in the same folder, flushed, fsynced and renamed, so a reader (or a crash)
never sees half a cell.

Cell file schema (``schema: 1``)::

    key         {table, dataset, protector, evaluator, seed, config_hash}
    kind        "identification" | "visual" | "swap"
    config      the hashed cell configuration
    values      measured numbers (e.g. top1, top5, verified_rate | psnr, ssim, perceptual)
    counts      images, probes, identities, ...
    failures    embedding / detection / swap failures
    per_image   per-image keys and values (ranks, PSNR, ...) for re-analysis without recomputation
    notes       plain-language caveats that tables repeat
    rehearsal   only in a rehearsal folder: {"reasons": [...]}, the stand-ins the cell was computed with
    provenance  git commit + dirty flag, resolved run config, component descriptions with weight sha256s,
                recognizer thresholds, dataset fingerprint and notes, package versions, python, platform,
                hostname, device, start/finish timestamps, wall time, which inputs came from the cache
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import math
import os
import platform
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from nullswap import standin
from nullswap.atomic import write_text
from nullswap.provenance import REPO_ROOT, git_state

SCHEMA_VERSION = 1
#: the file that marks an experiment folder as a rehearsal (cells made with stand-in weights)
REHEARSAL_MARKER = "REHEARSAL.json"
#: distributions whose versions change numbers; recorded in every cell (absent ones as null)
PACKAGES = (
    "torch",
    "torchvision",
    "numpy",
    "scikit-image",
    "lpips",
    "stlpips-pytorch",
    "facenet-pytorch",
    "deepface",
    "tensorflow",
    "tf-keras",
    "insightface",
    "onnxruntime",
    "onnxruntime-gpu",
    "onnx",
    "dlib-bin",
    "dlib",
    "opencv-python-headless",
    "opencv-python",
    "ai-edge-litert",
    "hydra-core",
    "submitit",
    "pandas",
    "nullswap",
)


@dataclass(frozen=True)
class CellKey:
    table: str
    dataset: str
    protector: str
    evaluator: str
    seed: int
    config_hash: str

    def relpath(self) -> Path:
        parts = [self.table, self.dataset, self.protector, self.evaluator]
        for part in parts:
            if not part or "/" in part or part.startswith(".") or "\\" in part:
                raise ValueError(f"cell key part {part!r} cannot be a folder name")
        return Path("cells", *parts, f"seed{self.seed}-{self.config_hash}.json")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class CellOutput:
    """What a cell computation returns; the store adds key, config and provenance."""

    kind: str
    values: dict[str, Any]
    counts: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, Any] = field(default_factory=dict)
    per_image: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    #: provenance contributed by the computation: component descriptions, dataset, cache use
    provenance: dict[str, Any] = field(default_factory=dict)


def json_safe(obj: Any) -> Any:
    """Plain JSON: numpy scalars/arrays to Python, non-finite floats to ``None``, paths to strings."""
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    return str(obj)


def config_hash(config: Mapping[str, Any]) -> str:
    """12 hex digits of the sha256 of the canonical JSON of ``config`` (key order does not matter)."""
    text = json.dumps(json_safe(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :mod:`nullswap.atomic`)."""
    write_text(path, text)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(json_safe(obj), indent=1, sort_keys=False) + "\n")


def dumps_cell(record: Mapping[str, Any]) -> str:
    """Readable JSON for a cell: indented, except that each per-image list stays on one line."""
    parts = []
    for name, value in json_safe(record).items():
        if name == "per_image" and isinstance(value, dict) and value:
            lines = [f"  {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in value.items()]
            text = "{\n" + ",\n".join(lines) + "\n }"
        else:
            text = json.dumps(value, indent=1).replace("\n", "\n ")
        parts.append(f" {json.dumps(name)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


# --------------------------------------------------------------------------------------------------
# Provenance
# --------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def environment() -> dict[str, object]:
    """Where a cell was computed: git state, packages, interpreter, machine."""
    return {
        "git": git_state(),
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        # an array task's own job id differs from its array's: both, so a cell leads back to its submission
        "slurm_array_job_id": os.environ.get("SLURM_ARRAY_JOB_ID"),
        "slurm_array_task_id": os.environ.get("SLURM_ARRAY_TASK_ID"),
    }


def weights_record(describe: Mapping[str, Any]) -> dict[str, Any]:
    """A component's ``describe()`` with its weight names resolved to sha256s through the manifest."""
    record = dict(describe)
    names = record.get("weights")
    if isinstance(names, (list, tuple)):
        from nullswap import weights

        record["weights"] = {
            n: (weights.MANIFEST[n].sha256 or weights.MANIFEST[n].extra.get("sha256_prefix"))
            if n in weights.MANIFEST
            else None
            for n in names
        }
    return record


# --------------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------------
class RehearsalError(RuntimeError):
    """A result computed with stand-in weights was about to land where real results live, or the reverse."""


def inside_repository_results(root: Path) -> bool:
    """Whether ``root`` lies under this checkout's ``results/`` (what the repository commits)."""
    try:
        Path(root).resolve().relative_to((REPO_ROOT / "results").resolve())
    except ValueError:
        return False
    return True


class ResultStore:
    """Cells of one experiment folder.

    ``rehearsal=True`` marks the folder as a rehearsal (``REHEARSAL.json``): its cells may be computed
    with stand-in weights (:mod:`nullswap.standin`) and each carries the stand-ins it used.  A rehearsal
    folder is refused under the repository's ``results/``; a folder that is not a rehearsal refuses to
    store a cell whose provenance names a stand-in, and a rehearsal folder refuses to be filled by a run
    that does not call itself one, so rehearsal cells and real cells never share a folder.
    """

    def __init__(self, root: Path | str, *, rehearsal: bool = False) -> None:
        self.root = Path(root)
        self.requested_rehearsal = bool(rehearsal)
        if rehearsal:
            if inside_repository_results(self.root):
                raise RehearsalError(
                    f"{self.root} is inside the repository's results/: a rehearsal (stand-in weights) writes "
                    "its cells elsewhere (e.g. output_root=/tmp/rehearsal)"
                )
            marker = self.root / REHEARSAL_MARKER
            if not marker.is_file():
                self.root.mkdir(parents=True, exist_ok=True)
                write_text(marker, json.dumps({"rehearsal": True, "created": now_iso(),
                                               "note": standin.REHEARSAL_HEADER}, indent=1) + "\n")

    @property
    def rehearsal(self) -> bool:
        """Whether this folder holds rehearsal cells (marked on disk, whoever opened it)."""
        return (self.root / REHEARSAL_MARKER).is_file()

    def path(self, key: CellKey) -> Path:
        return self.root / key.relpath()

    def exists(self, key: CellKey) -> bool:
        return self.path(key).is_file()

    def read(self, key: CellKey) -> dict[str, Any]:
        return json.loads(self.path(key).read_text())

    def write(self, key: CellKey, record: Mapping[str, Any]) -> Path:
        if record.get("rehearsal") and inside_repository_results(self.root):
            raise RehearsalError(f"refusing to write a rehearsal cell under the repository's results/: {key}")
        path = self.path(key)
        atomic_write_text(path, dumps_cell(record))
        return path

    def cells(self, table: str | None = None) -> Iterator[dict[str, Any]]:
        """Every readable cell (optionally of one table), each with ``_path`` set to its file."""
        base = self.root / "cells" / (table or "")
        for path in sorted(base.rglob("*.json")) if base.is_dir() else []:
            try:
                record = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            if record.get("schema") == SCHEMA_VERSION and "key" in record:
                record["_path"] = str(path)
                yield record

    def check_writable(self) -> None:
        """Refuse to fill a rehearsal folder from a run that is not a rehearsal (before anything runs)."""
        if self.rehearsal and not self.requested_rehearsal:
            raise RehearsalError(
                f"{self.root} holds rehearsal cells (stand-in weights, {REHEARSAL_MARKER}); a real run "
                "writes into another folder, a rehearsal passes rehearsal=true"
            )

    def ensure(
        self,
        key: CellKey,
        config: Mapping[str, Any],
        compute: Callable[[], CellOutput],
        *,
        run_config: Mapping[str, Any] | None = None,
        per_image: bool = True,
    ) -> tuple[dict[str, Any], bool]:
        """The cell's record, computing and writing it only if its file does not exist.

        Returns ``(record, computed)``.  ``config`` must be the configuration ``key.config_hash`` was
        made from; a mismatch is a programming error and raises.  ``per_image=False`` keeps only the
        summary values (small files for large data sets).  A cell whose provenance names a stand-in is
        stored only in a rehearsal folder (:class:`RehearsalError` otherwise), with the stand-ins listed.
        """
        if config_hash(config) != key.config_hash:
            raise ValueError(f"cell {key} was keyed with another configuration than the one given")
        if self.exists(key):
            return self.read(key), False
        self.check_writable()
        started, t0 = now_iso(), time.perf_counter()
        output = compute()
        wall = time.perf_counter() - t0
        provenance = {
            **environment(),
            **output.provenance,
            "run_config": dict(run_config or {}),
            "started": started,
            "finished": now_iso(),
            "wall_time_s": round(wall, 3),
        }
        found = standin.reasons(output.provenance)
        if found and not self.rehearsal:
            raise RehearsalError(
                f"cell {key.table}/{key.protector}/{key.evaluator} was computed with stand-in weights "
                f"({'; '.join(found[:3])}); such results go only to a rehearsal folder (rehearsal=true, "
                "outside the repository's results/), never beside real ones"
            )
        record = {
            "schema": SCHEMA_VERSION,
            "key": key.as_dict(),
            "kind": output.kind,
            "config": dict(config),
            "values": output.values,
            "counts": output.counts,
            "failures": output.failures,
            "per_image": output.per_image if per_image else None,
            "notes": output.notes,
        }
        if self.rehearsal:
            record["rehearsal"] = {"reasons": found or ["computed in a rehearsal folder"]}
        record["provenance"] = provenance
        self.write(key, record)
        return json.loads(json.dumps(json_safe(record))), True
