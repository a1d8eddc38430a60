"""From a runner configuration to table cells: plan every cell, compute the missing ones, rebuild the tables.

The table entry points (``python -m benchmarks.table1`` …) are thin Hydra wrappers around :func:`run`,
which also takes a plain dict, so the same code runs from tests and notebooks.  Configuration keys
(``nullswap/conf/benchmark/base.yaml`` documents each):

    table, experiment, output_root, dataset{name, split, root, max_images, ...},
    protectors[list], protector_options{name: {...}}, recognizers[list], recognizer_options{name: {...}},
    identification, visual, perceptual, ssim_gaussian, protocol{ks, singletons_as_distractors},
    seed, device, batch_size, only{protector, recognizer}, build_tables, setting

``only.protector`` / ``only.recognizer`` restrict one invocation to a slice of the table, so a Slurm
sweep (``-m only.protector=clean,cmua,nullswap``) runs one job per column; every job writes into the
same experiment folder and the tables are rebuilt from whatever cells exist.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.cells import (
    BenchmarkError,
    Components,
    ProtectorSpec,
    RecognizerSpec,
    Workspace,
    identification_cell,
    resolve_device,
    visual_cell,
)
from benchmarks.store import CellKey, CellOutput, ResultStore, config_hash, json_safe
from nullswap.provenance import REPO_ROOT

log = logging.getLogger("benchmarks")
TABLES = ("table1", "table2", "table4", "table5")
DATASETS = ("celebahq", "lfw", "sample", "offline", "folder")
PERCEPTUAL = ("lpips-alex", "stlpips-alex")
#: dataset keys that locate files without changing which images are measured (kept out of the hash)
_LOCATION_KEYS = ("root",)


@dataclass
class Job:
    key: CellKey
    config: dict[str, Any]
    compute: Callable[[Workspace], CellOutput]
    description: str
    protector: ProtectorSpec | None = None
    recognizer: RecognizerSpec | None = None
    perceptual: str | None = None


@dataclass
class RunReport:
    experiment: Path
    computed: list[CellKey] = field(default_factory=list)
    skipped: list[CellKey] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)


def to_plain(cfg: Any) -> dict[str, Any]:
    """A resolved plain dict from a DictConfig or a mapping."""
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(cfg, DictConfig):
            cfg = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    except ImportError:  # pragma: no cover - omegaconf comes with hydra
        pass
    return json_safe(dict(cfg))


def experiment_dir(cfg: Mapping[str, Any]) -> Path:
    return (Path(str(cfg.get("output_root", "results"))) / str(cfg["experiment"])).expanduser().resolve()


def _dataset_hash_config(dataset: Mapping[str, Any]) -> dict[str, Any]:
    if dataset.get("name") == "folder":
        return dict(dataset)
    return {k: v for k, v in dataset.items() if k not in _LOCATION_KEYS}


def _names(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise BenchmarkError(f"{what} must be a list of names, got {value!r}")
    return list(value)


def validate(
    cfg: Mapping[str, Any], *, check_registries: bool, protectors: Sequence[ProtectorSpec] | None = None
) -> None:
    """Fail early, with a message that says what to change, before any work starts."""
    for key in ("table", "experiment", "output_root", "dataset", "protectors"):
        if cfg.get(key) in (None, "", "???"):
            raise BenchmarkError(f"configuration key '{key}' must be set")
    if cfg["table"] not in TABLES:
        raise BenchmarkError(f"table must be one of {', '.join(TABLES)}, got {cfg['table']!r}")
    dataset = cfg["dataset"]
    if not isinstance(dataset, Mapping) or dataset.get("name") not in DATASETS:
        raise BenchmarkError(f"dataset.name must be one of {', '.join(DATASETS)}, got {dataset!r}")
    if dataset.get("name") == "folder" and dataset.get("root") in (None, "", "???"):
        raise BenchmarkError("dataset=folder needs dataset.root=PATH (a folder of face photos)")
    if cfg.get("perceptual") not in (None, *PERCEPTUAL):
        raise BenchmarkError(
            f"perceptual must be one of {', '.join(PERCEPTUAL)} or null, got {cfg['perceptual']!r}"
        )
    names = _names(cfg["protectors"], "protectors")
    recognizers = _names(cfg.get("recognizers") or [], "recognizers")
    if cfg.get("identification", True) and not recognizers:
        raise BenchmarkError("identification needs at least one recognizer (recognizers=[...])")
    only = cfg.get("only") or {}
    if only.get("protector") and only["protector"] not in names:
        raise BenchmarkError(f"only.protector={only['protector']} is not among protectors {names}")
    if only.get("recognizer") and only["recognizer"] not in recognizers:
        raise BenchmarkError(f"only.recognizer={only['recognizer']} is not among recognizers {recognizers}")
    if check_registries:
        import baselines
        import nullswap.recognizers

        known = baselines.available()
        registry = [s.registry or s.name for s in protectors] if protectors is not None else names
        unknown = sorted({p for p in registry if p not in known})
        if unknown:
            raise BenchmarkError(f"unknown protector(s) {unknown}; registered: {', '.join(known)}")
        known = nullswap.recognizers.available()
        unknown = [r for r in recognizers if not nullswap.recognizers.is_known(r)]
        if unknown:
            raise BenchmarkError(f"unknown recognizer(s) {unknown}; registered: {', '.join(known)} "
                                 "(any of them + '@redetect' evaluates through re-detection)")


def resolved_protector_options(name: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """The protector's defaults (``nullswap/conf/protector/<name>.yaml``) updated with the run's overrides.

    NullSwap's unset checkpoint becomes the path its protector would use (``$NULLSWAP_CHECKPOINT`` or the
    demo's), so the cell hash names the checkpoint that was measured."""
    try:
        from baselines._config import protector_options
    except ImportError:  # pragma: no cover - checkouts without per-protector configs
        options = dict(overrides or {})
    else:
        options = protector_options(name, overrides)
    if name == "nullswap" and not options.get("checkpoint"):
        from nullswap.protect import default_checkpoint

        options["checkpoint"] = str(default_checkpoint())
    return options


def protector_specs(cfg: Mapping[str, Any]) -> list[ProtectorSpec]:
    options = cfg.get("protector_options") or {}
    seed = int(cfg.get("seed", 0))
    return [
        ProtectorSpec(name, resolved_protector_options(name, options.get(name)), seed)
        for name in _names(cfg["protectors"], "protectors")
    ]


def recognizer_specs(cfg: Mapping[str, Any]) -> list[RecognizerSpec]:
    options = cfg.get("recognizer_options") or {}
    return [
        RecognizerSpec(name, dict(options.get(name) or {}))
        for name in _names(cfg.get("recognizers") or [], "recognizers")
    ]


def plan(cfg: Mapping[str, Any], protectors: Sequence[ProtectorSpec]) -> list[Job]:
    """Every cell this configuration asks for (after ``only``), without touching any data or model."""
    table = str(cfg["table"])
    dataset = dict(cfg["dataset"])
    data_hash = _dataset_hash_config(dataset)
    only = cfg.get("only") or {}
    protocol = dict(cfg.get("protocol") or {})
    ks = tuple(int(k) for k in protocol.get("ks", (1, 5)))
    singletons = bool(protocol.get("singletons_as_distractors", True))
    perceptual = cfg.get("perceptual")
    gaussian = bool(cfg.get("ssim_gaussian", False))
    jobs: list[Job] = []
    for spec in protectors:
        if only.get("protector") and spec.name != only["protector"]:
            continue
        if cfg.get("visual", False) and not spec.is_clean and not only.get("recognizer"):
            config = {
                "kind": "visual",
                "table": table,
                "dataset": data_hash,
                "protector": spec.config(),
                "perceptual": perceptual,
                "ssim_gaussian": gaussian,
            }
            key = CellKey(table, str(dataset["name"]), spec.name, "visual", spec.seed, config_hash(config))
            jobs.append(
                Job(
                    key,
                    config,
                    lambda ws, s=spec: visual_cell(ws, s, perceptual=perceptual, gaussian_ssim=gaussian),
                    f"{spec.name} × visual",
                    protector=spec,
                    perceptual=perceptual,
                )
            )
        if not cfg.get("identification", True):
            continue
        for rec in recognizer_specs(cfg):
            if only.get("recognizer") and rec.name != only["recognizer"]:
                continue
            config = {
                "kind": "identification",
                "table": table,
                "dataset": data_hash,
                "protector": spec.config(),
                "recognizer": rec.config(),
                "protocol": {"ks": list(ks), "singletons_as_distractors": singletons},
            }
            key = CellKey(table, str(dataset["name"]), spec.name, rec.name, spec.seed, config_hash(config))
            jobs.append(
                Job(
                    key,
                    config,
                    lambda ws, s=spec, r=rec: identification_cell(
                        ws, s, r, ks=ks, singletons_as_distractors=singletons
                    ),
                    f"{spec.name} × {rec.name}",
                    protector=spec,
                    recognizer=rec,
                )
            )
    if only.get("cells"):  # a Slurm array task's share: cells named by their config hash
        jobs = [job for job in jobs if job.key.config_hash in set(only["cells"])]
    return jobs


def plan_missing(
    cfg: Mapping[str, Any] | Any, protectors: Sequence[ProtectorSpec] | None = None
) -> tuple[Path, list[Job], list[Job]]:
    """(experiment folder, every cell the configuration asks for, those whose files are still missing):
    what a cluster submission has to compute.  Validates like :func:`run`; loads no data or model."""
    cfg = to_plain(cfg)
    specs = list(protectors) if protectors is not None else protector_specs(cfg)
    validate(cfg, check_registries=True, protectors=specs)
    root = experiment_dir(cfg)
    store = ResultStore(root)
    jobs = plan(cfg, specs)
    return root, jobs, [job for job in jobs if not store.exists(job.key)]


def check_checkpoints(specs: Sequence[ProtectorSpec]) -> None:
    """A protector option named ``checkpoint`` must name an existing file before any work starts."""
    for spec in specs:
        if "checkpoint" not in spec.options:
            continue
        path = spec.options["checkpoint"]
        if not path or not Path(str(path)).expanduser().is_file():
            raise BenchmarkError(
                f"protector '{spec.name}': checkpoint {path or '(none)'} does not exist; pass "
                f"protector_options.{spec.name}.checkpoint=PATH (or set NULLSWAP_CHECKPOINT), "
                "or train one with `make demo` / python -m nullswap.train"
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


def write_gitignore(root: Path) -> None:
    """Caches and Hydra logs stay out of git; cells, tables and figures are the results."""
    path = root / ".gitignore"
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "# large, recomputable: protected images, embeddings, logs\ncache/\nhydra/\nsessions/\n"
        )


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
    root = experiment_dir(cfg)
    write_gitignore(root)
    store = ResultStore(root)
    jobs = plan(cfg, specs)
    report = RunReport(root)
    pending = [job for job in jobs if not store.exists(job.key)]
    report.skipped = [job.key for job in jobs if store.exists(job.key)]
    log.info(
        "%s: %d cells, %d already done, %d to compute -> %s",
        cfg["table"],
        len(jobs),
        len(report.skipped),
        len(pending),
        root,
    )
    if pending:
        check_checkpoints([spec for spec in specs if any(job.key.protector == spec.name for job in pending)])
        workspace = Workspace(
            root,
            cfg["dataset"],
            device=resolve_device(str(cfg.get("device", "auto"))),
            batch_size=int(cfg.get("batch_size", 16)),
            components=components,
        )
        preflight(workspace, pending)
        compute_cells(store, [(job.key, job.config, lambda job=job: job.compute(workspace), job.description)
                              for job in pending], cfg, report)
    return finish(root, cfg, report)


def compute_cells(store: ResultStore, cells: Sequence[tuple[CellKey, dict, Callable[[], Any], str]],
                  cfg: Mapping[str, Any], report: RunReport) -> None:
    """Compute and store each (key, config, compute, description) cell in turn, recording it in ``report``;
    every table runner goes through here, so resume, provenance and logging behave the same."""
    for key, config, compute, description in cells:
        log.info("cell %s", description)
        store.ensure(key, config, compute, run_config=cfg, per_image=bool(cfg.get("store_per_image", True)))
        report.computed.append(key)


def finish(root: Path, cfg: Mapping[str, Any], report: RunReport) -> RunReport:
    """Rebuild the experiment's tables and figures from its cells (unless ``build_tables: false``)."""
    if cfg.get("build_tables", True):
        from benchmarks.tables import build_tables

        report.outputs = build_tables(root)
    return report


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------
def _user_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [BenchmarkError, FileNotFoundError, ImportError]
    try:
        from nullswap.assets import AssetError
        from nullswap.weights import MissingWeightsError

        errors += [MissingWeightsError, AssetError]
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


def run_or_exit(cfg: Any, runner: Callable[[Any], RunReport] = run) -> RunReport:
    """Run; a missing data set, weight file or a configuration mistake ends with its message, not a traceback.

    ``NULLSWAP_TRACEBACK=1`` shows the traceback too."""
    try:
        report = runner(cfg)
    except _user_errors() as exc:
        if os.environ.get("NULLSWAP_TRACEBACK"):
            raise
        print(
            f"\nerror ({type(exc).__name__}): {exc}\n(set NULLSWAP_TRACEBACK=1 for the traceback)",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    print(
        f"{report.experiment}: {len(report.computed)} cells computed, {len(report.skipped)} already present"
    )
    for path in report.outputs:
        print(f"  wrote {path}")
    return report


CONFIG_DIR = REPO_ROOT / "nullswap" / "conf" / "benchmark"


def register_resolvers() -> None:
    """``${nullswap_repo:}`` — the checkout's root, so the configs can put ``slurm/`` on Hydra's search path."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("nullswap_repo"):
        OmegaConf.register_new_resolver("nullswap_repo", lambda: str(REPO_ROOT))


def hydra_main(
    config_name: str,
    runner: Callable[[Any], RunReport] = run,
    specs: Callable[[Mapping[str, Any]], list[ProtectorSpec]] | None = None,
) -> Callable[[], None]:
    """A ``python -m benchmarks.<table>`` entry point over ``nullswap/conf/benchmark/<config_name>.yaml``.

    ``cluster=slurm`` (with a profile, ``+slurm=a100``) submits the missing cells as a Slurm job array
    instead of computing them here (:mod:`benchmarks.submit`); ``specs`` derives the protector columns
    when they are not the configured protectors (Table 5's sessions)."""
    import hydra

    register_resolvers()

    @hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name=config_name)
    def main(cfg: Any) -> None:
        if cfg.get("cluster"):
            from benchmarks.submit import submit_or_exit

            submit_or_exit(cfg, runner, specs)
            return
        run_or_exit(cfg, runner)

    return main
