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

import json
import logging
import os
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

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
from benchmarks.specs import ProtectorSpec, RecognizerSpec
from benchmarks.store import (
    CellKey,
    CellOutput,
    ResultStore,
    atomic_write_json,
    atomic_write_text,
    config_hash,
    now_iso,
    weights_record,
)
from benchmarks.workspace import Components, Workspace, resolve_device
from nullswap.atomic import atomic_path
from nullswap.images import to_uint8
from nullswap.metrics.embedding import embed_images, normalize_rows, valid_rows
from nullswap.metrics.swap import swap_similarity_from_embeddings

log = logging.getLogger("benchmarks")
TABLE = "table3"
OUTCOMES = ("no_face", "failed")


@dataclass(frozen=True)
class SwapperSpec:
    """One swapper row: registry name and options (``nullswap/conf/benchmark/table3.yaml`` ``swapper_options``)."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "options": dict(self.options)}

    @property
    def tag(self) -> str:
        return f"{self.name}-{config_hash(self.config())}"


def default_build_swapper(spec: SwapperSpec) -> Any:
    import swappers

    return swappers.load(spec.name, **dict(spec.options))


@dataclass
class Swapped:
    """The swap results of one set of sources onto the pairs' targets."""

    images: np.ndarray  # (P, H, W, 3) uint8; zeros where status != ok
    status: list[str]
    messages: list[str]
    meta: dict[str, Any]


class SwapWorkspace:
    """A :class:`Workspace` plus the swapper models and a cache of swap results."""

    def __init__(
        self,
        ws: Workspace,
        pairs: Sequence[tuple[int, int]],
        build_swapper: Callable[[SwapperSpec], Any] = default_build_swapper,
    ) -> None:
        self.ws = ws
        self.pairs = [tuple(p) for p in pairs]
        self.build_swapper = build_swapper
        self._swappers: dict[str, Any] = {}
        self._swapped: dict[tuple[str, str], Swapped] = {}

    @property
    def pairs_hash(self) -> str:
        faces = self.ws.faceset
        return config_hash({"pairs": [[faces.keys[s], faces.keys[t]] for s, t in self.pairs]})

    def swapper(self, spec: SwapperSpec) -> Any:
        if spec.tag not in self._swappers:
            log.info("loading swapper %s", spec.name)
            self._swappers[spec.tag] = self.build_swapper(spec)
        return self._swappers[spec.tag]

    def swapped(self, swapper: SwapperSpec, protector: ProtectorSpec) -> Swapped:
        """Swaps of ``protector``'s images of the pairs' sources onto their clean targets (cached)."""
        images_tag = "clean" if protector.is_clean else protector.tag
        memo = (swapper.tag, images_tag)
        if memo in self._swapped:
            return self._swapped[memo]
        path = self.ws.cache_dir / "swaps" / swapper.tag / f"{images_tag}-{self.pairs_hash}.npz"
        meta_path = path.with_suffix(".json")
        if path.is_file() and meta_path.is_file():
            meta = json.loads(meta_path.read_text())
            with np.load(path) as data:
                result = Swapped(data["images"], list(meta["status"]), list(meta["messages"]), meta | {"cached": True})
            self._swapped[memo] = result
            return result
        faces = self.ws.faceset
        protected, _ = self.ws.protected(protector)
        sources = torch.from_numpy(np.ascontiguousarray(protected[[s for s, _ in self.pairs]]))
        targets = torch.from_numpy(np.ascontiguousarray(faces.images[[t for _, t in self.pairs]]))
        model = self.swapper(swapper)
        start = time.perf_counter()
        images, status, messages = [], [], []
        batch = max(1, self.ws.batch_size)
        for i in range(0, len(self.pairs), batch):
            src = sources[i : i + batch].permute(0, 3, 1, 2).float().div(255.0)
            tgt = targets[i : i + batch].permute(0, 3, 1, 2).float().div(255.0)
            out = model.swap(src, tgt)
            if len(out.status) != len(src):
                raise BenchmarkError(f"swapper {swapper.name} returned {len(out.status)} statuses for {len(src)} pairs")
            images.append(to_uint8(out.images))
            status += list(out.status)
            messages += list(out.messages)
            log.info("swap %s × %s: %d/%d", swapper.name, images_tag, min(i + batch, len(self.pairs)), len(self.pairs))
        array = np.concatenate(images)
        array[[s != "ok" for s in status]] = 0
        wall = time.perf_counter() - start
        describe = model.describe() if hasattr(model, "describe") else {"name": swapper.name}
        meta = {
            "swapper": weights_record(describe),
            "spec": swapper.config(),
            "sources": images_tag,
            "pairs": [[faces.keys[s], faces.keys[t]] for s, t in self.pairs],
            "status": status,
            "messages": messages,
            "wall_time_s": round(wall, 3),
            "created": now_iso(),
        }
        with atomic_path(path) as temporary, open(temporary, "wb") as handle:
            np.savez_compressed(handle, images=array)
        atomic_write_json(meta_path, meta)
        result = Swapped(array, status, messages, meta | {"cached": False})
        self._swapped[memo] = result
        return result


def _outcomes(status: Sequence[str]) -> dict[str, int]:
    return {outcome: int(sum(s == outcome for s in status)) for outcome in OUTCOMES}


def identity_templates(embeddings: np.ndarray, identities: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """One normalised mean embedding per identity (images that failed to embed are left out)."""
    good = valid_rows(embeddings)
    names = sorted({who for who, ok in zip(identities, good) if ok})
    rows = normalize_rows(embeddings)
    templates = np.stack([rows[[ok and who == n for who, ok in zip(identities, good)]].mean(0) for n in names])
    return names, normalize_rows(templates)


def identified_as(embeddings: np.ndarray, names: list[str], templates: np.ndarray) -> list[str | None]:
    """The nearest gallery identity of each row (``None`` for a row that failed to embed)."""
    rows = normalize_rows(embeddings)
    good = valid_rows(rows)
    scores = np.where(good[:, None], np.nan_to_num(rows) @ templates.T, -np.inf)
    return [names[int(i)] if ok else None for i, ok in zip(scores.argmax(1), good)]


def swap_cell(sws: SwapWorkspace, protector: ProtectorSpec, swapper: SwapperSpec, recognizers: Sequence[RecognizerSpec]) -> CellOutput:
    ws = sws.ws
    faces = ws.faceset
    clean = sws.swapped(swapper, ProtectorSpec("clean"))
    protected = sws.swapped(swapper, protector)
    ok_clean = [s == "ok" for s in clean.status]
    ok_protected = [s == "ok" for s in protected.status]
    sources = [faces.identities[s] for s, _ in sws.pairs]
    similarity, identified, identified_clean, valid, embedding_failures, per_pair = {}, {}, {}, {}, {}, {}
    recognizer_records = {}
    for rec in recognizers:
        model = ws.recognizer(rec)
        a = embed_images(model, clean.images, batch_size=ws.batch_size, device=ws.device)
        b = embed_images(model, protected.images, batch_size=ws.batch_size, device=ws.device)
        result = swap_similarity_from_embeddings(a, b, ok_clean=ok_clean, ok_protected=ok_protected)
        gallery, _ = ws.embeddings(rec, None)
        names, templates = identity_templates(gallery, faces.identities)
        who_protected = identified_as(b, names, templates)
        who_clean = identified_as(a, names, templates)
        counted = [ok and w is not None for ok, w in zip(ok_protected, who_protected)]
        counted_clean = [ok and w is not None for ok, w in zip(ok_clean, who_clean)]
        hits = [c and w == s for c, w, s in zip(counted, who_protected, sources)]
        hits_clean = [c and w == s for c, w, s in zip(counted_clean, who_clean, sources)]
        similarity[rec.name] = result.mean
        identified[rec.name] = sum(hits) / sum(counted) if sum(counted) else None
        identified_clean[rec.name] = sum(hits_clean) / sum(counted_clean) if sum(counted_clean) else None
        valid[rec.name] = result.n_valid
        embedding_failures[rec.name] = result.n_embedding_failures
        per_pair[f"similarity_{rec.name}"] = np.round(result.similarity, 6)
        per_pair[f"identified_{rec.name}"] = who_protected
        described = model.describe() if hasattr(model, "describe") else {"name": rec.name}
        recognizer_records[rec.name] = weights_record(described)
    swap_failed = sum(not (a and b) for a, b in zip(ok_clean, ok_protected))
    notes = []
    if swap_failed:
        notes.append(
            f"{swapper.name} × {protector.name}: {swap_failed} of {len(sws.pairs)} pairs without a swap "
            f"(clean source {_outcomes(clean.status)}, protected source {_outcomes(protected.status)}), "
            "counted and left out of the means"
        )
    protection = ws.protection_meta(protector)
    return CellOutput(
        kind="swap",
        values={
            "similarity": similarity,
            "identified_as_source": identified,
            "identified_as_source_clean": identified_clean,
        },
        counts={
            "pairs": len(sws.pairs),
            "images": len(faces),
            "identities": len(set(faces.identities)),
            "valid_pairs": valid,
        },
        failures={
            "pairs_without_swap": swap_failed,
            "clean_swap": _outcomes(clean.status),
            "protected_swap": _outcomes(protected.status),
            "embedding": embedding_failures,
        },
        per_image={
            "source": [faces.keys[s] for s, _ in sws.pairs],
            "target": [faces.keys[t] for _, t in sws.pairs],
            "source_identity": sources,
            "clean_swap_status": clean.status,
            "protected_swap_status": protected.status,
            **per_pair,
        },
        notes=notes,
        provenance={
            "dataset": ws.dataset_record(),
            "device": ws.device,
            "swapper": protected.meta.get("swapper"),
            "recognizers": recognizer_records,
            "protector": protection.get("protector"),
            "protection": {k: protection.get(k) for k in ("wall_time_s", "seconds_per_image", "device", "created")},
            "swaps": {
                "clean": {k: clean.meta.get(k) for k in ("wall_time_s", "created", "cached")},
                "protected": {k: protected.meta.get(k) for k in ("wall_time_s", "created", "cached")},
            },
            "gallery": "one mean clean embedding per test identity (original photographs)",
        },
    )


# --------------------------------------------------------------------------------------------------
# Configuration → cells
# --------------------------------------------------------------------------------------------------
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

        for kind, configured, known in (
            ("protector", names(cfg["protectors"], "protectors"), baselines.available()),
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
    return jobs


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
    cfg = to_plain(cfg)
    # Swap results are compared as the swapper returns them: the setting's re-detection rows
    # (``<name>@redetect``, a Table 2 view of the attacker's alignment) are not Table 3 evaluators.
    cfg["recognizers"] = [r for r in names(cfg.get("recognizers") or [], "recognizers") if "@" not in r]
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


main = hydra_main("table3", runner=run_and_describe)

if __name__ == "__main__":
    main()
