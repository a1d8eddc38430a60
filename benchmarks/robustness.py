"""Robustness table: how much of each cloak survives what happens to a photo before it reaches an attacker.

Usage::

    python -m benchmarks.robustness [--checkpoint PATH] [--max-images N] [--transforms jpeg75 blur ...]

For every protector (clean, noise, pgd, nullswap by default) the protected test faces of the offline
sample set go through each photo transform of :mod:`nullswap.degrade` (JPEG 95/85/75/50, downscale-
upscale 0.75/0.5, Gaussian blur, a screenshot-like resample, the median and JPEG-then-denoise
purifiers, and ``none``), then through **re-detection**: an independent detector (dlib HOG) finds the
face again and re-aligns it (:func:`nullswap.faces.redetect.redetect_crop`), as an attacker's pipeline
would.  Each re-aligned probe is identified against the *clean* gallery with the leave-one-out
protocol of Table 2 (:mod:`nullswap.metrics.identification`); a face the detector no longer finds
counts as not identified (and is reported as a re-detection failure).

When a face swapper is registered (:mod:`swappers`), a swap-similarity column is added per swapper:
each face swapped onto the next one, once from the clean source and once from the degraded, re-detected
protected source, compared under one recognizer (:mod:`nullswap.metrics.swap`).  With no swapper
registered the column is left out and the table says so.

Writes ``results/robustness/``: ``robustness.json`` (every number, with provenance), ``robustness.csv``,
``robustness.md`` and ``robustness.png``.  Protected images are cached under ``cache/`` (git-ignored), so
a re-run with a new checkpoint recomputes only NullSwap.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from benchmarks.errors import user_errors
from benchmarks.execute import write_gitignore
from benchmarks.protector_options import check_checkpoints, resolved_protector_options
from benchmarks.specs import ProtectorSpec, RecognizerSpec
from benchmarks.store import atomic_write_json, environment, now_iso, weights_record
from benchmarks.workspace import Components, Workspace, default_load_dataset, resolve_device
from nullswap import degrade
from nullswap.atomic import atomic_path, write_text
from nullswap.faces.redetect import redetect_crop
from nullswap.metrics.embedding import embed_images
from nullswap.metrics.identification import PROTOCOL, identify
from nullswap.provenance import REPO_ROOT

log = logging.getLogger("benchmarks")
DEFAULT_OUT = REPO_ROOT / "results" / "robustness"
PROTECTORS = ("clean", "noise", "pgd", "nullswap")
RECOGNIZERS = ("dlib", "sface", "mobilefacenet")
DATASET = {"name": "sample", "split": "test", "views": True}


@dataclass
class RobustnessConfig:
    protectors: Sequence[str] = PROTECTORS
    recognizers: Sequence[str] = RECOGNIZERS
    transforms: Sequence[str] = tuple(degrade.TRANSFORMS)
    checkpoint: str | None = None
    max_images: int | None = None
    per_identity: int | None = None
    seed: int = 0
    device: str = "auto"
    batch_size: int = 16
    out: Path = DEFAULT_OUT
    swap_recognizer: str = "sface"
    #: None: every registered swapper that runs in-process (upstream adapters need their own checkout)
    swappers: Sequence[str] | None = None
    dataset: dict[str, Any] = field(default_factory=lambda: dict(DATASET))
    #: more NullSwap columns: column suffix -> checkpoint (e.g. {"no-robust": ".../last.pt"} -> "nullswap-no-robust")
    variants: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------------
def probes(images: np.ndarray, transform: str) -> tuple[np.ndarray, np.ndarray]:
    """Degrade each uint8 crop, re-detect and re-align it: (crops, found mask); missing faces are black."""
    degraded = degrade.apply(transform, images)
    crops = np.zeros_like(images)
    found = np.zeros(len(images), dtype=bool)
    for index, image in enumerate(degraded):
        again = redetect_crop(image)
        if again is not None:
            crops[index], found[index] = again, True
    return crops, found


def _embed(recognizer: Any, crops: np.ndarray, found: np.ndarray, device: str) -> np.ndarray:
    embeddings = embed_images(recognizer, crops, device=device).astype(np.float64)
    embeddings[~found] = np.nan
    return embeddings


def _swap_rows(workspace: Workspace, spec: ProtectorSpec, transform: str, crops: np.ndarray, found: np.ndarray,
               swapper_names: Sequence[str], recognizer_name: str, clean_swaps: dict[str, Any]) -> list[dict]:
    import torch

    import swappers
    from nullswap.images import to_uint8
    from nullswap.metrics.swap import swap_similarity

    faces = workspace.faceset
    targets = faces.tensor(list(np.roll(np.arange(len(faces)), -1)))
    recognizer = workspace.recognizer(RecognizerSpec(recognizer_name))
    rows = []
    for name in swapper_names:
        if name not in clean_swaps:
            clean_swaps[name] = swappers.load(name).swap(faces.tensor(), targets)
        clean = clean_swaps[name]
        sources = torch.from_numpy(np.where(found[:, None, None, None], crops, faces.images)).permute(0, 3, 1, 2)
        result = swappers.load(name).swap(sources.float() / 255.0, targets)
        ok_protected = [s == "ok" and bool(f) for s, f in zip(result.status, found)]
        similarity = swap_similarity(recognizer, to_uint8(clean.images), to_uint8(result.images),
                                     ok_clean=[s == "ok" for s in clean.status], ok_protected=ok_protected,
                                     device=workspace.device)
        rows.append({"protector": spec.name, "transform": transform, "swapper": name,
                     "recognizer": recognizer_name, **similarity.summary()})
    return rows


def load_faces(dataset: dict[str, Any]) -> Any:
    """The data set, keeping at most ``per_identity`` images of each identity (all identities stay, so a
    short run still identifies against the whole gallery)."""
    per_identity = dataset.get("per_identity")
    faces = default_load_dataset({k: v for k, v in dataset.items() if k != "per_identity"})
    if not per_identity:
        return faces
    kept: dict[str, int] = {}
    chosen = []
    for index, identity in enumerate(faces.identities):
        if kept.get(identity, 0) < int(per_identity):
            kept[identity] = kept.get(identity, 0) + 1
            chosen.append(index)
    return faces.subset(chosen)


def measure(cfg: RobustnessConfig) -> dict[str, Any]:
    """Every (protector, transform, recognizer) cell, plus swap cells when a swapper is registered."""
    import swappers

    started, t0, load_start = now_iso(), time.perf_counter(), os.getloadavg()
    device = resolve_device(cfg.device)
    dataset = (dict(cfg.dataset) | ({"max_images": cfg.max_images} if cfg.max_images else {})
               | ({"per_identity": cfg.per_identity} if cfg.per_identity else {}))
    overrides = {"nullswap": {"checkpoint": cfg.checkpoint}} if cfg.checkpoint else {}
    specs = [ProtectorSpec(name, resolved_protector_options(name, overrides.get(name)), cfg.seed)
             for name in cfg.protectors]
    specs += [ProtectorSpec(f"nullswap-{suffix}", resolved_protector_options("nullswap", {"checkpoint": path}),
                            cfg.seed, "nullswap") for suffix, path in cfg.variants.items()]
    check_checkpoints(specs)
    for name in cfg.transforms:
        degrade.get(name)
    swapper_names = list(cfg.swappers) if cfg.swappers is not None else [
        name for name in swappers.available() if getattr(swappers.REGISTRY.get(name), "spec", None) is None]
    write_gitignore(cfg.out)
    workspace = Workspace(cfg.out, dataset, device=device, batch_size=cfg.batch_size,
                          components=Components(load_dataset=load_faces))
    faces = workspace.faceset
    recognizers = {name: workspace.recognizer(RecognizerSpec(name)) for name in cfg.recognizers}
    clean = {name: embed_images(model, faces.images, device=device) for name, model in recognizers.items()}
    rows: list[dict] = []
    swap_rows: list[dict] = []
    protectors: dict[str, Any] = {}
    clean_swaps: dict[str, Any] = {}
    for spec in specs:
        protected, meta = workspace.protected(spec)
        protectors[spec.name] = {"spec": spec.config(), "describe": meta.get("protector"),
                                 "seconds": meta.get("seconds"), "cached": meta.get("cached")}
        for transform in cfg.transforms:
            log.info("%s × %s", spec.name, transform)
            crops, found = probes(protected, transform)
            for name, model in recognizers.items():
                result = identify(clean[name], _embed(model, crops, found, device), faces.identities,
                                  ks=(1, 5), threshold=getattr(model, "threshold", None),
                                  exclude=workspace.protection_failed(spec))
                rows.append({"protector": spec.name, "transform": transform, "recognizer": name,
                             "top1": result.top1, "top5": result.top5, "redetected": float(found.mean()),
                             "top1_detected": result.accuracy_detected[1], "excluded": result.n_excluded,
                             "same_image_cosine": result.same_image_cosine_mean,
                             "verified_rate": result.verified_rate, "probes": result.n_probes,
                             "images": result.n_images})
            if swapper_names:
                swap_rows += _swap_rows(workspace, spec, transform, crops, found, swapper_names,
                                        cfg.swap_recognizer, clean_swaps)
    provenance = {
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks.robustness", *sys.argv[1:]]),
        "started": started, "finished": now_iso(), "wall_seconds": round(time.perf_counter() - t0, 1),
        "load_average_start": [round(v, 2) for v in load_start],
        "load_average_end": [round(v, 2) for v in os.getloadavg()],
        "cpu_count": os.cpu_count(), "device": device, "environment": environment(),
        "dataset": workspace.dataset_record(), "protectors": protectors,
        "recognizers": {name: weights_record(model.describe()) for name, model in recognizers.items()},
        "transforms": {name: (degrade.get(name).__doc__ or "").strip().split("\n")[0] for name in cfg.transforms},
        "redetection": "dlib HOG (no upsampling) + 68-point landmarks on the crop padded by 25 % (edge "
                       "replicated); the face nearest the crop centre within 0.4 × its size, re-aligned to "
                       "the canonical 256 crop",
        "protocol": PROTOCOL + "; gallery = clean crops (not degraded, not re-detected); probe = degraded, "
                    "re-detected protected crop; not re-detected = not identified",
        "swappers": swapper_names or "none registered: swap column left out",
    }
    return {"rows": rows, "swap_rows": swap_rows, "provenance": provenance}


# --------------------------------------------------------------------------------------------------
# Tables and figure
# --------------------------------------------------------------------------------------------------
def _label(provenance: dict[str, Any]) -> str:
    data = provenance["dataset"]
    shas = [f"{name} {((entry.get('spec') or {}).get('file_sha256') or {}).get('checkpoint', '')[:12] or 'n/a'}"
            for name, entry in provenance["protectors"].items()
            if (entry.get("spec") or {}).get("registry", name) == "nullswap"]
    subset = data["config"].get("per_identity")
    subset = f", at most {subset} per identity" if subset else ""
    name = {"sample": "offline sample", "offline": "offline"}.get(data["config"].get("name"), data["config"].get("name"))
    views = " with views" if data["config"].get("views") else ""
    return (f"{name} {data['config'].get('split', 'test')} split{views} ({data['n_images']} faces{subset}, "
            f"{data['n_identities']} identities), "
            f"re-detected with dlib; NullSwap checkpoint sha256: {', '.join(shas) or 'n/a'}; "
            f"{provenance['finished']}; not the paper's setting")


def markdown(result: dict[str, Any]) -> str:
    rows = pd.DataFrame(result["rows"])
    transforms = list(dict.fromkeys(rows["transform"]))
    protectors = list(dict.fromkeys(rows["protector"]))
    parts = ["# Robustness of the cloaks: Acc@1 after photo transforms and re-detection", "",
             f"Setting: {_label(result['provenance'])}.", "",
             "Acc@1: leave-one-out identification of the degraded, re-detected protected face against the "
             "clean gallery (lower = better protection; `clean` is the unprotected baseline). A face the "
             "detector no longer finds counts as not identified.", ""]
    for recognizer in dict.fromkeys(rows["recognizer"]):
        table = rows[rows["recognizer"] == recognizer].pivot(index="transform", columns="protector", values="top1")
        parts += [f"## {recognizer}", "", table.loc[transforms, protectors].to_markdown(floatfmt=".3f"), ""]
    for recognizer in dict.fromkeys(rows["recognizer"]):
        table = rows[rows["recognizer"] == recognizer].pivot(index="transform", columns="protector",
                                                             values="same_image_cosine")
        parts += [f"## {recognizer}: identity cosine, clean vs degraded re-detected protected (same photo)", "",
                  table.loc[transforms, protectors].to_markdown(floatfmt=".3f"), ""]
    detected = rows.drop_duplicates(["protector", "transform"]).pivot(index="transform", columns="protector",
                                                                     values="redetected")
    parts += ["## Re-detection rate (faces found again by dlib)", "",
              detected.loc[transforms, protectors].to_markdown(floatfmt=".3f"), ""]
    if result["swap_rows"]:
        swaps = pd.DataFrame(result["swap_rows"])
        for swapper in dict.fromkeys(swaps["swapper"]):
            table = swaps[swaps["swapper"] == swapper].pivot(index="transform", columns="protector",
                                                             values="similarity")
            parts += [f"## Swap similarity: {swapper} (clean-source vs protected-source swap, "
                      f"{swaps['recognizer'].iloc[0]} cosine; lower = better)", "",
                      table.loc[transforms, protectors].to_markdown(floatfmt=".3f"), ""]
    else:
        parts += ["Swap similarity: no face swapper is registered, so the column is left out.", ""]
    if "nullswap" not in protectors:
        parts += ["NullSwap was not measured in this run (no `nullswap` protector column); see the README.", ""]
    parts += [f"Produced by `{result['provenance']['command']}` in {result['provenance']['wall_seconds']} s; "
              "provenance in robustness.json.", ""]
    return "\n".join(parts)


def figure(result: dict[str, Any], path: Path) -> Path:
    """Acc@1 (top row) and the same-photo identity cosine (bottom row, finer: it moves before a probe
    crosses to another identity) per recognizer, one line per protector across the transforms."""
    rows = pd.DataFrame(result["rows"])
    transforms = list(dict.fromkeys(rows["transform"]))
    recognizers = list(dict.fromkeys(rows["recognizer"]))
    metrics = [("top1", "Acc@1 after transform + re-detection", (-0.02, 1.02)),
               ("same_image_cosine", "cosine, clean vs protected (same photo)", None)]
    fig, axes = plt.subplots(len(metrics), len(recognizers), figsize=(4.2 * len(recognizers), 3.4 * len(metrics)),
                             sharey="row", squeeze=False)
    for row, (row_axes, (metric, label, limits)) in enumerate(zip(axes, metrics)):
        for ax, recognizer in zip(row_axes, recognizers):
            for protector in dict.fromkeys(rows["protector"]):
                part = rows[(rows["recognizer"] == recognizer) & (rows["protector"] == protector)]
                part = part.set_index("transform")
                ax.plot(range(len(transforms)), part.loc[transforms, metric], marker="o", label=protector)
            if row == 0:
                ax.set_title(recognizer)
            last = row == len(metrics) - 1
            ax.set_xticks(range(len(transforms)), transforms if last else [], rotation=60, ha="right", fontsize=8)
            if limits:
                ax.set_ylim(*limits)
            ax.grid(alpha=0.3)
        row_axes[0].set_ylabel(label)
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(_label(result["provenance"]), fontsize=7)
    try:
        with atomic_path(path) as temporary:
            fig.savefig(temporary, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def write_outputs(result: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "robustness.json", result)
    with atomic_path(out / "robustness.csv") as temporary:
        pd.DataFrame(result["rows"] + result["swap_rows"]).to_csv(temporary, index=False)
    write_text(out / "robustness.md", markdown(result))
    return [out / "robustness.json", out / "robustness.csv", out / "robustness.md",
            figure(result, out / "robustness.png")]


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.robustness", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=None,
                        help="NullSwap checkpoint (default: $NULLSWAP_CHECKPOINT, else the shipped results/offline/generator.pt)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=CHECKPOINT",
                        help="one more NullSwap column, nullswap-NAME, from CHECKPOINT (repeatable; e.g. a model "
                             "trained without train.robust)")
    parser.add_argument("--dataset", default=DATASET["name"], help="data set (sample | offline | ...)")
    parser.add_argument("--views", action=argparse.BooleanOptionalAction, default=None,
                        help="add the data set's transformed gallery views (default: on for sample only)")
    parser.add_argument("--protectors", nargs="+", default=list(PROTECTORS))
    parser.add_argument("--recognizers", nargs="+", default=list(RECOGNIZERS))
    parser.add_argument("--transforms", nargs="+", default=list(degrade.TRANSFORMS), choices=list(degrade.TRANSFORMS))
    parser.add_argument("--max-images", type=int, default=None, help="first N test faces only (a quick run)")
    parser.add_argument("--per-identity", type=int, default=None,
                        help="at most K faces per identity (a quick run over every identity)")
    parser.add_argument("--swap-recognizer", default="sface")
    parser.add_argument("--swappers", nargs="*", default=None,
                        help="swappers for the swap column (default: every in-process one; none: leave it out)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--rebuild", action="store_true",
                        help="only rebuild the csv, markdown and figure from <out>/robustness.json")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = build_parser().parse_args(argv)
    variants = {}
    for item in args.variant:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            print(f"error: --variant takes NAME=CHECKPOINT, got {item!r}", file=sys.stderr)
            return 2
        variants[name] = path
    views = args.views if args.views is not None else args.dataset == "sample"
    dataset = {"name": args.dataset, "split": "test"} | ({"views": True} if views else {})
    cfg = RobustnessConfig(args.protectors, args.recognizers, args.transforms, args.checkpoint, args.max_images,
                           args.per_identity, args.seed, args.device, out=args.out,
                           swap_recognizer=args.swap_recognizer, swappers=args.swappers, dataset=dataset,
                           variants=variants)
    if args.rebuild:
        import json

        result = json.loads((cfg.out / "robustness.json").read_text())
        for path in write_outputs(result, cfg.out):
            print(f"wrote {path}")
        return 0
    try:
        result = measure(cfg)
    except (*user_errors(), KeyError) as exc:
        print(f"error ({type(exc).__name__}): {exc}", file=sys.stderr)
        return 2
    for path in write_outputs(result, cfg.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
