"""From a runner configuration to the list of cells it asks for, without touching any data or model.

Configuration keys (``nullswap/conf/benchmark/base.yaml`` documents each):

    table, experiment, output_root, dataset{name, split, root, max_images, ...},
    protectors[list], protector_options{name: {...}}, recognizers[list], recognizer_options{name: {...}},
    identification, visual, perceptual, ssim_gaussian, protocol{ks, singletons_as_distractors},
    seed, device, batch_size, only{protector, recognizer}, build_tables, setting

``only.protector`` / ``only.recognizer`` restrict one invocation to a slice of the table, so a Slurm
sweep (``-m only.protector=clean,cmua,nullswap``) runs one job per column; every job writes into the
same experiment folder and the tables are rebuilt from whatever cells exist.  Planning is kept apart
from running (:mod:`benchmarks.execute`) so that a cluster submission can plan without loading anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from benchmarks.cells import identification_cell, visual_cell
from benchmarks.errors import BenchmarkError
from benchmarks.protector_options import resolved_protector_options
from benchmarks.specs import ProtectorSpec, RecognizerSpec
from benchmarks.store import CellKey, CellOutput, ResultStore, config_hash, json_safe
from benchmarks.workspace import Workspace
from nullswap.data.registry import available as available_datasets

TABLES = ("table1", "table2", "table4", "table5")
PERCEPTUAL = ("lpips-alex", "stlpips-alex")
#: dataset keys that locate files without changing which images are measured (kept out of the hash)
_LOCATION_KEYS = ("root",)
Named = TypeVar("Named", ProtectorSpec, RecognizerSpec)


@dataclass
class Job:
    """One planned cell: its key and hashed configuration, and how to compute it from a workspace."""

    key: CellKey
    config: dict[str, Any]
    compute: Callable[[Workspace], CellOutput]
    description: str
    protector: ProtectorSpec | None = None
    recognizer: RecognizerSpec | None = None
    perceptual: str | None = None


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


def dataset_hash_config(dataset: Mapping[str, Any]) -> dict[str, Any]:
    """The data set keys that decide which images are measured (a folder's root does; other roots do not)."""
    if dataset.get("name") == "folder":
        return dict(dataset)
    return {k: v for k, v in dataset.items() if k not in _LOCATION_KEYS}


def names(value: Any, what: str) -> list[str]:
    """A configured list of registry names (a single name counts as a list of one)."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise BenchmarkError(f"{what} must be a list of names, got {value!r}")
    return list(value)


def selected(specs: Iterable[Named], only: str | None) -> list[Named]:
    """``specs`` restricted to the one named by an ``only.*`` key (all of them when it is unset)."""
    return [spec for spec in specs if not only or spec.name == only]


def cell_key(table: str, dataset: Mapping[str, Any], protector: ProtectorSpec, evaluator: str,
             config: Mapping[str, Any]) -> CellKey:
    """Where a cell's file goes: its slot, and the hash of everything that decides its values."""
    return CellKey(table, str(dataset["name"]), protector.name, evaluator, protector.seed, config_hash(config))


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
    datasets = available_datasets()
    if not isinstance(dataset, Mapping) or dataset.get("name") not in datasets:
        raise BenchmarkError(f"dataset.name must be one of {', '.join(datasets)}, got {dataset!r}")
    if dataset.get("name") == "folder" and dataset.get("root") in (None, "", "???"):
        raise BenchmarkError("dataset=folder needs dataset.root=PATH (a folder of face photos)")
    if cfg.get("perceptual") not in (None, *PERCEPTUAL):
        raise BenchmarkError(
            f"perceptual must be one of {', '.join(PERCEPTUAL)} or null, got {cfg['perceptual']!r}"
        )
    protector_names = names(cfg["protectors"], "protectors")
    recognizers = names(cfg.get("recognizers") or [], "recognizers")
    if cfg.get("identification", True) and not recognizers:
        raise BenchmarkError("identification needs at least one recognizer (recognizers=[...])")
    only = cfg.get("only") or {}
    if only.get("protector") and only["protector"] not in protector_names:
        raise BenchmarkError(f"only.protector={only['protector']} is not among protectors {protector_names}")
    if only.get("recognizer") and only["recognizer"] not in recognizers:
        raise BenchmarkError(f"only.recognizer={only['recognizer']} is not among recognizers {recognizers}")
    if check_registries:
        import baselines
        import nullswap.recognizers

        known = baselines.available()
        registry = [s.registry or s.name for s in protectors] if protectors is not None else protector_names
        unknown = sorted({p for p in registry if p not in known})
        if unknown:
            raise BenchmarkError(f"unknown protector(s) {unknown}; registered: {', '.join(known)}")
        known = nullswap.recognizers.available()
        unknown = [r for r in recognizers if not nullswap.recognizers.is_known(r)]
        if unknown:
            raise BenchmarkError(f"unknown recognizer(s) {unknown}; registered: {', '.join(known)} "
                                 "(any of them + '@redetect' evaluates through re-detection)")


def protector_specs(cfg: Mapping[str, Any]) -> list[ProtectorSpec]:
    """One spec per configured column.

    A column may be a second configuration of a registered protector: ``protectors=[…, nullswap_op]``
    with ``protector_options.nullswap_op.registry=nullswap`` (and its own options) builds a NullSwap
    column of its own, e.g. a second checkpoint measured in the same experiment, beside the same clean
    and control cells."""
    options = cfg.get("protector_options") or {}
    seed = int(cfg.get("seed", 0))
    specs = []
    for name in names(cfg["protectors"], "protectors"):
        overrides = dict(options.get(name) or {})
        registry = str(overrides.pop("registry", None) or name)
        specs.append(ProtectorSpec(name, resolved_protector_options(registry, overrides, cfg.get("setting")),
                                   seed, registry=None if registry == name else registry))
    return specs


def recognizer_specs(cfg: Mapping[str, Any]) -> list[RecognizerSpec]:
    options = cfg.get("recognizer_options") or {}
    return [
        RecognizerSpec(name, dict(options.get(name) or {}))
        for name in names(cfg.get("recognizers") or [], "recognizers")
    ]


def plan(cfg: Mapping[str, Any], protectors: Sequence[ProtectorSpec]) -> list[Job]:
    """Every cell this configuration asks for (after ``only``), without touching any data or model."""
    table = str(cfg["table"])
    dataset = dict(cfg["dataset"])
    data_hash = dataset_hash_config(dataset)
    only = cfg.get("only") or {}
    protocol = dict(cfg.get("protocol") or {})
    ks = tuple(int(k) for k in protocol.get("ks", (1, 5)))
    singletons = bool(protocol.get("singletons_as_distractors", True))
    perceptual = cfg.get("perceptual")
    gaussian = bool(cfg.get("ssim_gaussian", False))
    jobs: list[Job] = []
    for spec in selected(protectors, only.get("protector")):
        if cfg.get("visual", False) and not spec.is_clean and not only.get("recognizer"):
            config = {
                "kind": "visual",
                "table": table,
                "dataset": data_hash,
                "protector": spec.config(),
                "perceptual": perceptual,
                "ssim_gaussian": gaussian,
            }
            jobs.append(
                Job(
                    cell_key(table, dataset, spec, "visual", config),
                    config,
                    lambda ws, s=spec: visual_cell(ws, s, perceptual=perceptual, gaussian_ssim=gaussian),
                    f"{spec.name} × visual",
                    protector=spec,
                    perceptual=perceptual,
                )
            )
        if not cfg.get("identification", True):
            continue
        for rec in selected(recognizer_specs(cfg), only.get("recognizer")):
            config = {
                "kind": "identification",
                "table": table,
                "dataset": data_hash,
                "protector": spec.config(),
                "recognizer": rec.config(),
                "protocol": {"ks": list(ks), "singletons_as_distractors": singletons},
            }
            jobs.append(
                Job(
                    cell_key(table, dataset, spec, rec.name, config),
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
    what a cluster submission has to compute.  Validates like :func:`benchmarks.execute.run`; loads no
    data or model."""
    cfg = to_plain(cfg)
    specs = list(protectors) if protectors is not None else protector_specs(cfg)
    validate(cfg, check_registries=True, protectors=specs)
    root = experiment_dir(cfg)
    store = ResultStore(root)
    jobs = plan(cfg, specs)
    return root, jobs, [job for job in jobs if not store.exists(job.key)]
