"""Computing planned cells: the missing ones only, each through the results store, then the tables.

Every table runner goes through :func:`run_missing` — Tables 1, 2, 4 and 5 with :func:`run`, Table 3
with its swap cells — so resume, provenance, logging and the final table rebuild behave the same.
:func:`run` takes a plain dict, so the same code runs from tests and notebooks; the Hydra entry points
are in :mod:`benchmarks.cli`.

A missing piece never costs its neighbours: before the first cell, :func:`preflight` loads the data set
and tries every protector, recognizer and perceptual metric the pending cells need, and puts each
recognizer through the sanity gate (:mod:`nullswap.sanity`).  The pieces that fail are listed at once,
the cells that do not need them are computed, the tables are rebuilt, and the run ends with
:class:`~benchmarks.errors.MissingPieces` naming every missing piece with its own instructions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from benchmarks.errors import MissingPieces, user_errors
from benchmarks.plan import Job, experiment_dir, plan, protector_specs, to_plain, validate
from benchmarks.protector_options import checkpoint_problem
from benchmarks.specs import ProtectorSpec, RecognizerSpec
from benchmarks.store import CellKey, CellOutput, ResultStore, atomic_write_json, config_hash
from benchmarks.workspace import Components, Workspace, resolve_device
from nullswap import standin

log = logging.getLogger("benchmarks")


@dataclass
class RunReport:
    """What one invocation did: the cells it computed, those already present, the files it wrote."""

    experiment: Path
    computed: list[CellKey] = field(default_factory=list)
    skipped: list[CellKey] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)


class PlannedCell(Protocol):
    """A planned cell of any table (a :class:`benchmarks.plan.Job`, a Table 3 swap cell)."""

    @property
    def key(self) -> CellKey: ...

    @property
    def config(self) -> dict[str, Any]: ...

    @property
    def description(self) -> str: ...

    @property
    def protector(self) -> ProtectorSpec | None: ...


Planned = TypeVar("Planned", bound=PlannedCell)


def write_gitignore(root: Path) -> None:
    """Caches and Hydra logs stay out of git; cells, tables and figures are the results."""
    path = root / ".gitignore"
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "# large, recomputable: protected images, embeddings, logs\ncache/\nhydra/\nsessions/\n"
        )


@dataclass
class Readiness:
    """What a run found missing before (or while) computing: each piece with its message, and the cells
    that need it (those are set aside; every other cell is computed)."""

    problems: dict[str, str] = field(default_factory=dict)
    blocked: dict[CellKey, list[str]] = field(default_factory=dict)

    def block(self, key: CellKey, piece: str, message: str | None = None) -> None:
        if message is not None:
            self.problems.setdefault(piece, message)
        self.blocked.setdefault(key, []).append(piece)

    def merge(self, other: Readiness) -> None:
        for piece, message in other.problems.items():
            self.problems.setdefault(piece, message)
        for key, pieces in other.blocked.items():
            self.blocked.setdefault(key, []).extend(pieces)


@dataclass
class Started:
    """What a table's ``start`` returns when it checked the pending cells' pieces itself."""

    compute: Callable[[Any], CellOutput]
    readiness: Readiness = field(default_factory=Readiness)


def _message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def sanity_check(workspace: Workspace, spec: RecognizerSpec, *, rehearsal: bool) -> dict[str, Any]:
    """Recognizer ``spec`` through the sanity gate (:func:`nullswap.sanity.gate`): it must separate the
    bundled real faces' genuine from impostor pairs, and may be a stand-in only in a rehearsal.

    The measurement is kept in ``$NULLSWAP_HOME/sanity/``, keyed by the recognizer, its weight files'
    sha256s and the faces, so a table on the same weights does not embed the faces again."""
    from nullswap import sanity
    from nullswap.assets import cache_root

    model = workspace.recognizer(spec)
    checked = getattr(model, "base", model)  # a re-detecting wrapper: its recognizer, same weights
    described = checked.describe() if hasattr(checked, "describe") else {}
    files = {name: (entry or {}).get("sha256") for name, entry in (described.get("weight_files") or {}).items()}
    faces = sanity.gate_faces()
    key = config_hash({"recognizer": spec.config(), "weights": files, "faces": list(faces.keys),
                       "min_auc": sanity.MIN_AUC})
    path = cache_root() / "sanity" / f"{spec.name}-{key}.json"
    if path.is_file():
        stored = json.loads(path.read_text())
        stored.pop("separates", None)
        result = sanity.SanityResult(**stored)
    else:
        result = sanity.check(checked, faces, name=spec.name)
        atomic_write_json(path, result.as_dict())
    # the same bytes may be a marked stand-in in one place and an unmarked file in another: what the
    # files are is read now, never from the stored measurement
    result.standins = standin.reasons(described)
    log.info("sanity gate: %s", result.numbers())
    return sanity.verdict(result, rehearsal=rehearsal).as_dict()


def protector_check(workspace: Workspace, spec: ProtectorSpec, *, rehearsal: bool) -> None:
    """Build protector ``spec``; one that reads stand-in weights (an upstream checkout prepared by a
    rehearsal, a random CMUA pattern) is refused here, before any cell, unless this run is a rehearsal."""
    protector = workspace.protector(spec)
    described = protector.describe() if hasattr(protector, "describe") else {}
    standin.refuse_unless_rehearsal(standin.reasons(described), f"protector {spec.name}", rehearsal)


def preflight(workspace: Workspace, pending: Sequence[Job], *, rehearsal: bool = False,
              gate: bool = True) -> Readiness:
    """Load the data set and try every model the pending cells will need before the first long step, so a
    missing piece is known at once instead of after hours of protection — all of them, not the first.

    A missing data set stops the run (every cell needs it); a protector, recognizer or perceptual metric
    that cannot be built, or a recognizer refused by the sanity gate (``gate``), sets aside only the cells
    that need it.  Models whose outputs are already cached are not loaded."""
    workspace.faceset  # noqa: B018 - loading is the point
    readiness = Readiness()
    tried: dict[str, str | None] = {}

    def attempt(piece: str, load: Callable[[], Any]) -> str | None:
        if piece not in tried:
            try:
                load()
                tried[piece] = None
            except user_errors() as exc:
                tried[piece] = _message(exc)
                log.error("missing piece: %s: %s", piece, exc)
        return tried[piece]

    for job in pending:
        needs: list[tuple[str, Callable[[], Any]]] = []
        if job.perceptual:
            needs.append((f"perceptual metric {job.perceptual}", lambda n=job.perceptual: workspace.perceptual(n)))
        rec = job.recognizer
        if rec is not None and not (workspace.has_embeddings(rec, None)
                                    and workspace.has_embeddings(rec, job.protector)):
            check = (lambda r=rec: sanity_check(workspace, r, rehearsal=rehearsal)) if gate else \
                (lambda r=rec: workspace.recognizer(r))
            needs.append((f"recognizer {rec.name}", check))
        spec = job.protector
        if spec is not None and not spec.is_clean and not workspace.protection_meta(spec):
            needs.append((f"protector {spec.name}", lambda s=spec: protector_check(workspace, s, rehearsal=rehearsal)))
        for piece, load in needs:
            problem = attempt(piece, load)
            if problem is not None:
                readiness.block(job.key, piece, problem)
    if readiness.problems:
        log.error("%d missing piece(s) set aside %d of %d cells; the others are computed first",
                  len(readiness.problems), len(readiness.blocked), len(pending))
    return readiness


def checkpoint_readiness(pending: Sequence[PlannedCell]) -> Readiness:
    """Cells whose protector names a checkpoint that is not there (or none, in the paper's setting)."""
    readiness = Readiness()
    for job in pending:
        problem = checkpoint_problem(job.protector) if job.protector is not None else None
        if problem:
            readiness.block(job.key, f"protector {job.protector.name}: checkpoint", problem)
    return readiness


def compute_cells(store: ResultStore, cells: Sequence[tuple[CellKey, dict, Callable[[], Any], str]],
                  cfg: Mapping[str, Any], report: RunReport, readiness: Readiness | None = None) -> None:
    """Compute and store each (key, config, compute, description) cell in turn, recording it in ``report``.

    With ``readiness``, a cell that fails with a user-facing error (an upstream driver that gives up, a
    file that vanished) is recorded there and the next cell goes on; without it, the error propagates."""
    for key, config, compute, description in cells:
        log.info("cell %s", description)
        try:
            store.ensure(key, config, compute, run_config=cfg, per_image=bool(cfg.get("store_per_image", True)))
        except user_errors() as exc:
            if readiness is None:
                raise
            log.error("cell %s failed: %s", description, exc)
            readiness.block(key, f"cell {description}", _message(exc))
            continue
        report.computed.append(key)


def finish(root: Path, cfg: Mapping[str, Any], report: RunReport) -> RunReport:
    """Rebuild the experiment's tables and figures from its cells (unless ``build_tables: false``)."""
    if cfg.get("build_tables", True):
        from benchmarks.report.write import build_tables

        report.outputs = build_tables(root)
    return report


def run_missing(
    cfg: Mapping[str, Any],
    table: str,
    jobs: Sequence[Planned],
    start: Callable[[list[Planned]], Callable[[Planned], CellOutput]],
) -> RunReport:
    """Compute the planned cells whose files are missing, then rebuild the experiment's tables.

    ``start(pending)`` is called only when something is missing: it loads what the pending cells need
    (data set, models), so a missing piece stops the run before the first cell, and returns how to
    compute one cell.  ``start`` may return a :class:`Started` carrying what its own checks found missing:
    those cells are set aside, the others computed, and the run ends with
    :class:`~benchmarks.errors.MissingPieces` naming every missing piece."""
    root = experiment_dir(cfg)
    write_gitignore(root)
    store = ResultStore(root, rehearsal=bool(cfg.get("rehearsal", False)))
    store.check_writable()
    report = RunReport(root)
    pending = [job for job in jobs if not store.exists(job.key)]
    report.skipped = [job.key for job in jobs if store.exists(job.key)]
    log.info("%s: %d cells, %d already done, %d to compute -> %s",
             table, len(jobs), len(report.skipped), len(pending), root)
    readiness = checkpoint_readiness(pending)
    ready = [job for job in pending if job.key not in readiness.blocked]
    if ready:
        started = start(ready)
        if isinstance(started, Started):
            readiness.merge(started.readiness)
            started = started.compute
        compute = started
        compute_cells(store, [(job.key, job.config, lambda job=job: compute(job), job.description)
                              for job in ready if job.key not in readiness.blocked], cfg, report, readiness)
    finish(root, cfg, report)
    if readiness.problems:
        raise MissingPieces(readiness.problems, len(readiness.blocked), report)
    return report


def run(
    cfg: Mapping[str, Any] | Any,
    *,
    components: Components | None = None,
    protectors: Sequence[ProtectorSpec] | None = None,
    check_registries: bool | None = None,
) -> RunReport:
    """Compute every missing cell of the configured table, then rebuild its tables and figures.

    ``components`` replaces how data sets, protectors, recognizers and perceptual metrics are built
    (registry names are then not checked unless ``check_registries``); ``protectors`` replaces the
    protector columns derived from ``cfg`` (Table 5's sessions)."""
    cfg = to_plain(cfg)
    specs = list(protectors) if protectors is not None else protector_specs(cfg)
    validate(
        cfg,
        check_registries=components is None if check_registries is None else check_registries,
        protectors=specs,
    )

    def start(pending: list[Job]) -> Started:
        workspace = Workspace(
            experiment_dir(cfg),
            cfg["dataset"],
            device=resolve_device(str(cfg.get("device", "auto"))),
            batch_size=int(cfg.get("batch_size", 16)),
            components=components,
        )
        readiness = preflight(workspace, pending, rehearsal=bool(cfg.get("rehearsal", False)),
                              gate=bool(cfg.get("sanity_gate", True)))
        failed: dict[str, str] = {}

        def compute(job: Job) -> CellOutput:
            spec = job.protector
            if spec is not None and spec.tag in failed:  # its protection failed: do not run it again per cell
                raise MissingPieces({f"protector {spec.name}": failed[spec.tag]}, 1)
            try:
                return job.compute(workspace)
            except user_errors() as exc:
                if spec is not None and not spec.is_clean and not workspace.protection_meta(spec):
                    failed[spec.tag] = _message(exc)
                raise

        return Started(compute, readiness)

    return run_missing(cfg, str(cfg["table"]), plan(cfg, specs), start)
