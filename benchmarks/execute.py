"""Computing planned cells: the missing ones only, each through the results store, then the tables.

Every table runner goes through :func:`run_missing` — Tables 1, 2, 4 and 5 with :func:`run`, Table 3
with its swap cells — so resume, provenance, logging and the final table rebuild behave the same.
:func:`run` takes a plain dict, so the same code runs from tests and notebooks; the Hydra entry points
are in :mod:`benchmarks.cli`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from benchmarks.plan import Job, experiment_dir, plan, protector_specs, to_plain, validate
from benchmarks.protector_options import check_checkpoints
from benchmarks.specs import ProtectorSpec
from benchmarks.store import CellKey, CellOutput, ResultStore
from benchmarks.workspace import Components, Workspace, resolve_device

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


def preflight(workspace: Workspace, pending: Sequence[Job]) -> None:
    """Load the data set and every model the pending cells will need before the first long step, so a
    missing weight file stops the run at once instead of after hours of protection.  Models whose
    outputs are already cached are not loaded."""
    workspace.faceset  # noqa: B018 - loading is the point
    for job in pending:
        if job.perceptual:
            workspace.perceptual(job.perceptual)
        needs_model = job.recognizer is not None and not (
            workspace.has_embeddings(job.recognizer, None)
            and workspace.has_embeddings(job.recognizer, job.protector)
        )
        if needs_model:
            workspace.recognizer(job.recognizer)


def compute_cells(store: ResultStore, cells: Sequence[tuple[CellKey, dict, Callable[[], Any], str]],
                  cfg: Mapping[str, Any], report: RunReport) -> None:
    """Compute and store each (key, config, compute, description) cell in turn, recording it in ``report``."""
    for key, config, compute, description in cells:
        log.info("cell %s", description)
        store.ensure(key, config, compute, run_config=cfg, per_image=bool(cfg.get("store_per_image", True)))
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
    compute one cell."""
    root = experiment_dir(cfg)
    write_gitignore(root)
    store = ResultStore(root, rehearsal=bool(cfg.get("rehearsal", False)))
    store.check_writable()
    report = RunReport(root)
    pending = [job for job in jobs if not store.exists(job.key)]
    report.skipped = [job.key for job in jobs if store.exists(job.key)]
    log.info("%s: %d cells, %d already done, %d to compute -> %s",
             table, len(jobs), len(report.skipped), len(pending), root)
    if pending:
        check_checkpoints(job.protector for job in pending if job.protector is not None)
        compute = start(pending)
        compute_cells(store, [(job.key, job.config, lambda job=job: compute(job), job.description)
                              for job in pending], cfg, report)
    return finish(root, cfg, report)


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

    def start(pending: list[Job]) -> Callable[[Job], CellOutput]:
        workspace = Workspace(
            experiment_dir(cfg),
            cfg["dataset"],
            device=resolve_device(str(cfg.get("device", "auto"))),
            batch_size=int(cfg.get("batch_size", 16)),
            components=components,
        )
        preflight(workspace, pending)
        return lambda job: job.compute(workspace)

    return run_missing(cfg, str(cfg["table"]), plan(cfg, specs), start)
