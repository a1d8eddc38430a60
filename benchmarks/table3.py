"""Table 3: does a face swapper fed the *protected* source still produce the source's identity?

Usage: ``python -m benchmarks.table3 [hydra overrides]`` (``make reproduce-table3``); configuration in
``nullswap/conf/benchmark/table3.yaml`` (shared keys in ``base.yaml``).  Offline:
``python -m benchmarks.table3 setting=offline``.

For seeded source–target pairs of the test split (:func:`benchmarks.pairs.sample_pairs`, different
identities), every (protector × swapper) cell swaps once with the clean source and once with the
protected source onto the same target, and reports under each evaluation recognizer

* ``similarity`` — the mean cosine between the identity embeddings of the two results (the paper's
  number; lower = the protection kept the source's identity out of the swap);
* ``identified_as_source`` — how often the protected-source result's nearest identity in a gallery of
  the test identities (mean clean embedding per identity) is the source's, beside the same rate for the
  clean-source result (what the swap achieves unprotected).

A pair whose swap fails (``no_face`` or ``failed``, for either source) or whose result a recognizer
cannot embed is counted in the cell and shown in the table, never dropped silently.  Swaps are cached
per (swapper, source images, pairs) under the experiment's ``cache/``, so the clean-source swaps are made
once for all protectors; cells go through the results store (resume, provenance).  The data set's
transformed views (offline sample) are not loaded: only original photographs are swapped.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.cli import CONFIG_DIR, hydra_main, register_resolvers
from benchmarks.errors import BenchmarkError
from benchmarks.execute import RunReport, run_missing
from benchmarks.pairs import sample_pairs
from benchmarks.plan import (
    cell_key,
    dataset_hash_config,
    experiment_dir,
    names,
    protector_specs,
    recognizer_specs,
    selected,
    to_plain,
)
from benchmarks.report.formatting import made_with
from benchmarks.specs import ProtectorSpec
from benchmarks.store import (
    CellKey,
    CellOutput,
    ResultStore,
    atomic_write_text,
)
from benchmarks.swap_cells import (
    SwapperSpec,
    SwapWorkspace,
    default_build_swapper,
    swap_cell,
)
from benchmarks.workspace import Components, Workspace, resolve_device

log = logging.getLogger("benchmarks")
TABLE = "table3"


def dataset_config(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The data set to swap: original photographs only (the offline sample's views are not loaded)."""
    dataset = dict(cfg["dataset"])
    if dataset.get("name") == "sample":
        dataset["views"] = False
    return dataset


def swapper_specs(cfg: Mapping[str, Any]) -> list[SwapperSpec]:
    options = cfg.get("swapper_options") or {}
    return [SwapperSpec(n, dict(options.get(n) or {})) for n in names(cfg.get("swappers") or [], "swappers")]


def validate(cfg: Mapping[str, Any], check_registries: bool) -> None:
    for key in ("experiment", "output_root", "dataset", "protectors", "swappers", "recognizers"):
        if cfg.get(key) in (None, "", "???", []):
            raise BenchmarkError(f"configuration key '{key}' must be set")
    only = cfg.get("only") or {}
    if only.get("protector") and only["protector"] not in names(cfg["protectors"], "protectors"):
        raise BenchmarkError(f"only.protector={only['protector']} is not among protectors {cfg['protectors']}")
    if only.get("swapper") and only["swapper"] not in names(cfg["swappers"], "swappers"):
        raise BenchmarkError(f"only.swapper={only['swapper']} is not among swappers {cfg['swappers']}")
    if check_registries:
        import baselines
        import nullswap.recognizers
        import swappers

        registered = [spec.registry or spec.name for spec in protector_specs(cfg)]  # a column may alias one
        for kind, configured, known in (
            ("protector", registered, baselines.available()),
            ("swapper", names(cfg["swappers"], "swappers"), swappers.available()),
            ("recognizer", names(cfg["recognizers"], "recognizers"), nullswap.recognizers.available()),
        ):
            unknown = [n for n in configured if n not in known]
            if unknown:
                raise BenchmarkError(f"unknown {kind}(s) {unknown}; registered: {', '.join(known)}")


@dataclass
class SwapJob:
    """One planned Table 3 cell: a protector column under a swapper row."""

    key: CellKey
    config: dict[str, Any]
    protector: ProtectorSpec
    swapper: SwapperSpec

    @property
    def description(self) -> str:
        return f"{self.protector.name} × {self.swapper.name}"


def plan(cfg: Mapping[str, Any], protectors: Sequence[ProtectorSpec]) -> list[SwapJob]:
    dataset = dataset_config(cfg)
    only = cfg.get("only") or {}
    pairs = dict(cfg.get("pairs") or {})
    recognizers = [r.config() for r in recognizer_specs(cfg)]
    jobs = []
    for protector in selected(protectors, only.get("protector")):
        for swapper in swapper_specs(cfg):
            if only.get("swapper") and swapper.name != only["swapper"]:
                continue
            config = {
                "kind": "swap",
                "table": TABLE,
                "dataset": dataset_hash_config(dataset),
                "protector": protector.config(),
                "swapper": swapper.config(),
                "recognizers": recognizers,
                "pairs": {"n": pairs.get("n"), "seed": int(pairs.get("seed", 0))},
            }
            jobs.append(SwapJob(cell_key(TABLE, dataset, protector, swapper.name, config), config, protector, swapper))
    if only.get("cells") is not None:  # a cluster array task: the cells it was given
        wanted = set(only["cells"])
        jobs = [job for job in jobs if job.key.config_hash in wanted]
    return jobs


def prepared(cfg: Mapping[str, Any] | Any) -> dict[str, Any]:
    """The configuration as Table 3 plans it: plain, and without the setting's re-detection rows
    (``<name>@redetect``, a Table 2 view of the attacker's alignment, not a Table 3 evaluator: swap
    results are compared as the swapper returns them)."""
    cfg = to_plain(cfg)
    cfg["recognizers"] = [r for r in names(cfg.get("recognizers") or [], "recognizers") if "@" not in r]
    return cfg


def plan_missing(
    cfg: Mapping[str, Any] | Any, protectors: Sequence[ProtectorSpec] | None = None
) -> tuple[Path, list[SwapJob], list[SwapJob]]:
    """(experiment folder, every Table 3 cell, those still missing): what a cluster submission computes.
    Validates like :func:`run`; loads no data or model."""
    cfg = prepared(cfg)
    validate(cfg, check_registries=True)
    root = experiment_dir(cfg)
    store = ResultStore(root)
    jobs = plan(cfg, list(protectors) if protectors is not None else protector_specs(cfg))
    return root, jobs, [job for job in jobs if not store.exists(job.key)]


def run(
    cfg: Mapping[str, Any] | Any,
    *,
    components: Components | None = None,
    build_swapper: Callable[[SwapperSpec], Any] | None = None,
    check_registries: bool | None = None,
) -> RunReport:
    """Compute every missing Table 3 cell of ``cfg``, then rebuild the experiment's tables.

    ``components`` and ``build_swapper`` replace how data, protectors, recognizers and swappers are built
    (registry names are then not checked unless ``check_registries``)."""
    cfg = prepared(cfg)
    custom = components is not None or build_swapper is not None
    validate(cfg, check_registries=not custom if check_registries is None else check_registries)

    def start(pending: list[SwapJob]) -> Callable[[SwapJob], CellOutput]:
        ws = Workspace(
            experiment_dir(cfg),
            dataset_config(cfg),
            device=resolve_device(str(cfg.get("device", "auto"))),
            batch_size=int(cfg.get("batch_size", 16)),
            components=components,
        )
        pairs_cfg = dict(cfg.get("pairs") or {})
        pairs = sample_pairs(ws.faceset.identities, pairs_cfg.get("n"), int(pairs_cfg.get("seed", 0)))
        sws = SwapWorkspace(ws, pairs, build_swapper or default_build_swapper)
        recognizers = recognizer_specs(cfg)
        for job in pending:  # build every swapper and recognizer first: a missing piece stops the run now
            sws.swapper(job.swapper)
        for rec in recognizers:
            ws.recognizer(rec)
        return lambda job: swap_cell(sws, job.protector, job.swapper, recognizers)

    return run_missing(cfg, TABLE, plan(cfg, protector_specs(cfg)), start)


def offline_config(
    output_root: Path,
    *,
    protectors: Sequence[str] = ("clean", "noise", "pgd", "nullswap"),
    protector_options: Mapping[str, Any] | None = None,
    experiment: str = "table3-offline",
    device: str = "auto",
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The resolved configuration of the offline Table 3 (``table3.yaml`` with ``setting=offline``)."""
    from hydra import compose, initialize_config_dir

    register_resolvers()
    args = [
        "setting=offline",
        f"output_root={output_root}",
        f"experiment={experiment}",
        f"device={device}",
        f"protectors=[{','.join(protectors)}]",
    ]
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        cfg = to_plain(compose("table3", overrides=args))
    for name, options in (protector_options or {}).items():
        cfg.setdefault("protector_options", {}).setdefault(name, {}).update(dict(options))
    cfg.update(dict(overrides or {}))
    return cfg


def run_offline(output_root: Path, **kwargs: Any) -> RunReport:
    """The offline Table 3 — the classical landmark swapper on the sample's test faces, evaluated by dlib,
    SFace and the unseen MobileFaceNet — for the demo and notebooks (arguments: :func:`offline_config`)."""
    return run(offline_config(output_root, **kwargs))


def write_readme(root: Path, command: str, invocation_s: float, load: tuple[float, float]) -> Path:
    """``<experiment>/README.md``: the command, the wall time (this invocation and per cell, from the
    cells' provenance), the machine's load, and the Table 3 the cells give."""
    cells = [c for c in ResultStore(root).cells("table3")]
    lines = [
        "# Table 3 (face swapping)",
        "",
        *made_with(command),
        f"This invocation took {invocation_s:.0f} s (1-minute load average {load[0]:.1f} at the start, "
        f"{load[1]:.1f} at the end, on {os.cpu_count()} CPU cores). Wall time of each cell when it was "
        "computed (protecting the test faces, both swaps and the embeddings; from each cell's provenance):",
        "",
        "| protector | swapper | wall time (s) | finished |",
        "|---|---|---|---|",
    ]
    total = 0.0
    for cell in sorted(cells, key=lambda c: (c.get("provenance") or {}).get("finished") or ""):
        prov = cell.get("provenance") or {}
        total += float(prov.get("wall_time_s") or 0)
        lines.append(f"| {cell['key']['protector']} | {cell['key']['evaluator']} | {prov.get('wall_time_s')} | {prov.get('finished')} |")
    lines += [f"| all | | {total:.0f} | |", ""]
    table = root / "tables" / "table3.md"
    if table.is_file():
        lines += [table.read_text().strip(), ""]
    lines += [
        "Each number comes from one cell file under `cells/` (git commit, resolved config, weight sha256s,",
        "package versions, per-pair outcomes and similarities); `python -m benchmarks.report "
        f"{root.name}` rebuilds the tables from them.",
        "",
    ]
    path = root / "README.md"
    atomic_write_text(path, "\n".join(lines))
    return path


def run_and_describe(cfg: Mapping[str, Any] | Any) -> RunReport:
    """:func:`run`, then the experiment's README (the command line entry point)."""
    start, load = time.perf_counter(), os.getloadavg()[0]
    report = run(cfg)
    command = "python -m benchmarks.table3 " + shlex.join(sys.argv[1:])
    report.outputs.append(write_readme(report.experiment, command, time.perf_counter() - start, (load, os.getloadavg()[0])))
    return report


main = hydra_main("table3", runner=run_and_describe, planner=plan_missing)

if __name__ == "__main__":
    main()
