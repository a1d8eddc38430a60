"""Figures beside the tables (matplotlib, Agg): measured vs paper, fidelity vs cloaking, and what the faces look like.

* ``<table>_acc1.png`` — Acc@1 per recognizer (and the average), one panel per protector; solid bars
  are measured, hatched bars the paper's values.
* ``<table>_fidelity.png`` — PSNR (fidelity) against mean Acc@1 (cloaking) per protector: the ideal
  defence sits bottom right.  Filled markers are measured, hollow ones the paper's.
* ``<table>_visual.png`` — Table 1's PSNR / SSIM / perceptual distance, measured vs paper.
* ``qualitative_<data set>.png`` — a few faces: clean, protected, and the difference amplified ×10
  around mid-grey (128), from the uint8 previews the runner caches.

Every table figure carries its table's setting line (what was measured and whether it is the paper's
setting, :mod:`benchmarks.report.setting`) under the plot and in the PNG's ``Description``; a figure made
from rehearsal cells is headed, in red, by :data:`~nullswap.standin.REHEARSAL_HEADER` (also in the PNG's
``Warning``), and is refused without it, as its table is.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from nullswap.atomic import atomic_path
from nullswap.metrics.visual import perceptual_column
from nullswap.standin import REHEARSAL_HEADER

if TYPE_CHECKING:
    from benchmarks.report.builders import TableBuild

DPI = 130
QUALITATIVE_DPI = 100
MEASURED, PAPER = "#2b6cb0", "#bbbbbb"
AMPLIFY = 10.0
QUALITATIVE_FACES = 3
QUALITATIVE_PROTECTORS = 5


#: characters per line of the setting line under a figure (per inch of figure width)
CAPTION_CHARS_PER_INCH = 19


def caption(fig: plt.Figure, header: str, rehearsal: bool) -> dict[str, str]:
    """Put the setting line under the plot (and the REHEARSAL header above it, in red, when the figure
    is made from rehearsal cells); returns the PNG metadata that carries the same text."""
    if rehearsal and not header.startswith(REHEARSAL_HEADER):
        raise ValueError(f"a figure of rehearsal cells must be headed '{REHEARSAL_HEADER}'; refusing to draw it")
    width = max(40, int(fig.get_figwidth() * CAPTION_CHARS_PER_INCH))
    body = header.split("; ", 1)[1] if rehearsal and "; " in header else header
    fig.text(0.0, 0.0, textwrap.fill(body, width), fontsize=6, ha="left", va="top", color="#333333")
    metadata = {"Description": header}
    if rehearsal:
        fig.text(0.5, 1.0, REHEARSAL_HEADER, fontsize=13, ha="center", va="bottom", color="#c00000",
                 fontweight="bold")
        metadata["Warning"] = REHEARSAL_HEADER
    return metadata


def _save(fig: plt.Figure, path: Path, dpi: int = DPI, build: TableBuild | None = None) -> Path:
    """Write atomically under a unique temporary name (parallel jobs may rebuild the same figure); with
    ``build``, under its setting line (:func:`caption`)."""
    try:
        metadata = caption(fig, build.header, bool(build.rehearsal)) if build is not None else None
        with atomic_path(path) as temporary:
            fig.savefig(temporary, format="png", dpi=dpi, bbox_inches="tight", metadata=metadata)
    finally:
        plt.close(fig)
    return path


def _ordered(values: pd.Series, order: list[str]) -> list[str]:
    present = list(dict.fromkeys(values))
    order = list(dict.fromkeys(order))
    return [v for v in order if v in present] + [v for v in present if v not in order]


def accuracy_bars(build: TableBuild, path: Path, metric: str = "top1") -> Path | None:
    tidy = build.tidy
    data = tidy[(tidy["metric"] == metric) & (tidy["evaluator"] != "visual")]
    if data.empty:
        return None
    protectors = _ordered(data["protector"], list(build.display.columns))
    row_order = [str(e).rstrip("†").lower() for e in build.display.index]
    evaluators = _ordered(data["evaluator"], list(dict.fromkeys(row_order)))
    cols = min(3, len(protectors))
    rows = int(np.ceil(len(protectors) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), sharey=True, squeeze=False)
    x = np.arange(len(evaluators))
    for ax, prot in zip(axes.flat, protectors):
        part = data[data["protector"] == prot].set_index("evaluator")
        measured = [part["measured"].get(e, np.nan) for e in evaluators]
        reference = [part["paper"].get(e, np.nan) if "paper" in part else np.nan for e in evaluators]
        reference = [np.nan if r is None else r for r in reference]
        ax.bar(x - 0.2, measured, 0.4, color=MEASURED, label="measured")
        ax.bar(x + 0.2, reference, 0.4, color="white", edgecolor=PAPER, hatch="///", label="paper")
        ax.set_title(prot, fontsize=10)
        ax.set_xticks(x, evaluators, rotation=35, ha="right", fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(protectors) :]:
        ax.axis("off")
    axes[0, 0].set_ylabel(f"Acc@{metric[-1]}")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.04)
    )
    fig.suptitle(f"{build.name}: Acc@{metric[-1]} measured vs paper ({build.dataset})", fontsize=11)
    fig.tight_layout()
    return _save(fig, path, build=build)


def fidelity_scatter(build: TableBuild, path: Path) -> Path | None:
    tidy = build.tidy
    psnr = tidy[(tidy["evaluator"] == "visual") & (tidy["metric"] == "psnr")].set_index("protector")
    acc = tidy[(tidy["evaluator"] == "average") & (tidy["metric"] == "top1")].set_index("protector")
    shared = [p for p in acc.index if p in psnr.index]
    if not shared:
        return None
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    colors = plt.get_cmap("tab10")
    for i, prot in enumerate(shared):
        color = colors(i % 10)
        mx, my = psnr.loc[prot, "measured"], acc.loc[prot, "measured"]
        ax.scatter([mx], [my], color=color, s=50, zorder=3)
        ax.annotate(prot, (mx, my), textcoords="offset points", xytext=(5, 4), fontsize=8)
        px, py = psnr.loc[prot].get("paper"), acc.loc[prot].get("paper")
        if px is not None and py is not None and np.isfinite(px) and np.isfinite(py):
            ax.scatter([px], [py], facecolors="none", edgecolors=[color], s=50, zorder=3)
            ax.plot([mx, px], [my, py], ":", color=color, linewidth=0.8)
    if "clean" in acc.index:
        ax.axhline(acc.loc["clean", "measured"], color="grey", linestyle="--", linewidth=0.8)
        ax.text(
            ax.get_xlim()[0],
            acc.loc["clean", "measured"],
            " clean (measured)",
            fontsize=7,
            va="bottom",
            color="grey",
        )
    ax.set_xlabel("PSNR (dB) — fidelity →")
    ax.set_ylabel("mean Acc@1 over recognizers — ↓ better cloaking")
    ax.set_title(f"{build.name}: fidelity vs cloaking ({build.dataset}); hollow = paper", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path, build=build)


def visual_bars(build: TableBuild, path: Path) -> Path | None:
    tidy = build.tidy[build.tidy["evaluator"] == "visual"]
    if tidy.empty:
        return None
    protectors = _ordered(tidy["protector"], list(build.display.index))
    perceptual = next((p for p in tidy["perceptual_name"].dropna()), None)
    metrics = [
        ("psnr", "PSNR (dB) ↑"),
        ("ssim", "SSIM ↑"),
        ("perceptual", f"{perceptual_column(perceptual) if perceptual else 'perceptual'} ↓"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    x = np.arange(len(protectors))
    for ax, (metric, label) in zip(axes, metrics):
        part = tidy[tidy["metric"] == metric].set_index("protector")
        measured = [part["measured"].get(p, np.nan) for p in protectors]
        reference = [part["paper"].get(p, np.nan) for p in protectors]
        reference = [np.nan if r is None else r for r in reference]
        ax.bar(x - 0.2, measured, 0.4, color=MEASURED, label="measured")
        paper_label = "paper" if metric != "perceptual" or perceptual == "lpips-alex" else "paper LPIPS"
        ax.bar(x + 0.2, reference, 0.4, color="white", edgecolor=PAPER, hatch="///", label=paper_label)
        ax.set_xticks(x, protectors, rotation=30, ha="right", fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        values = [v for v in (*measured, *reference) if np.isfinite(v)]
        if values and metric != "perceptual":  # zoom in: the differences live near the top
            margin = 3.0 if metric == "psnr" else 0.03
            ax.set_ylim(max(0.0, min(values) - margin), max(values) + margin / 3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, frameon=False)
    fig.suptitle(f"{build.name}: visual quality measured vs paper ({build.dataset})", fontsize=11)
    fig.tight_layout()
    return _save(fig, path, build=build)


def table_figures(build: TableBuild, directory: Path, stem: str) -> list[Path]:
    if build.name == "table1":
        made = [visual_bars(build, directory / f"{stem}_visual.png")]
    elif build.name in ("table2", "table4", "table5"):
        made = [
            accuracy_bars(build, directory / f"{stem}_acc1.png"),
            fidelity_scatter(build, directory / f"{stem}_fidelity.png"),
        ]
    else:
        made = []
    return [p for p in made if p is not None]


def amplified_difference(clean: np.ndarray, protected: np.ndarray, factor: float = AMPLIFY) -> np.ndarray:
    """uint8 image of ``(protected - clean) * factor`` centred on grey 128 (clipped)."""
    diff = (protected.astype(np.float32) - clean.astype(np.float32)) * factor + 128.0
    return np.clip(np.round(diff), 0, 255).astype(np.uint8)


def _previews(cache_dir: Path) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]] | None:
    clean_path = cache_dir / "clean.preview.npz"
    if not clean_path.is_file():
        return None
    with np.load(clean_path) as data:
        clean, keys = data["images"], data["keys"].tolist()
    protected: list[tuple[str, np.ndarray]] = []
    for preview in sorted((cache_dir / "protected").glob("*.preview.npz"), key=lambda p: p.stat().st_mtime):
        meta_path = preview.with_name(preview.name.replace(".preview.npz", ".json"))
        meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        name = (meta.get("spec") or {}).get("name") or preview.name.split("-")[0]
        with np.load(preview) as data:
            if data["keys"].tolist() == keys:  # previews of the same faces only
                protected.append((name, data["images"]))
    return clean, protected[-QUALITATIVE_PROTECTORS:]


def qualitative_grid(
    clean: np.ndarray,
    protected: list[tuple[str, np.ndarray]],
    path: Path,
    title: str = "",
    faces: int = QUALITATIVE_FACES,
    build: TableBuild | None = None,
) -> Path:
    faces = min(faces, len(clean))
    cols = 1 + 2 * len(protected)
    fig, axes = plt.subplots(faces, cols, figsize=(1.9 * cols, 1.95 * faces + 0.4), squeeze=False)
    for r in range(faces):
        panels = [("clean", clean[r])]
        for name, images in protected:
            panels += [
                (name, images[r]),
                (f"{name} diff ×{AMPLIFY:g}", amplified_difference(clean[r], images[r])),
            ]
        for c, (label, image) in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(image)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    # amplified noise does not compress: a lower resolution keeps the grid (and the repository) small
    return _save(fig, path, dpi=QUALITATIVE_DPI, build=build)


def qualitative_grids(root: Path, directory: Path, builds: list[TableBuild] | None = None) -> list[Path]:
    """One grid per data set cached in the experiment (the most recently used cache of each name), under
    the setting line of a table built on that data set (a rehearsal's first, so its header is never lost)."""
    by_dataset: dict[str, TableBuild] = {}
    for build in builds or []:
        if build.dataset not in by_dataset or (build.rehearsal and not by_dataset[build.dataset].rehearsal):
            by_dataset[build.dataset] = build
    caches: dict[str, Path] = {}
    for cache_dir in sorted((root / "cache").glob("*/"), key=lambda p: p.stat().st_mtime):
        caches[cache_dir.name.rsplit("-", 1)[0]] = cache_dir
    written = []
    for dataset, cache_dir in caches.items():
        found = _previews(cache_dir)
        if found is None or not found[1]:
            continue
        clean, protected = found
        written.append(
            qualitative_grid(
                clean,
                protected,
                directory / f"qualitative_{dataset}.png",
                f"{dataset}: clean, protected, difference ×{AMPLIFY:g} around grey",
                build=by_dataset.get(dataset),
            )
        )
    return written


def swap_grid(
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray | None, str]],
    path: Path,
    title: str = "",
    columns: tuple[str, str, str] = ("source (identity)", "target (kept)", "swap result"),
) -> Path:
    """Face swaps as rows of source | target | result; a failed pair shows its outcome instead of a face.

    ``rows`` holds (source, target, result or None, outcome label) per pair, uint8 H×W×3."""
    fig, axes = plt.subplots(len(rows), 3, figsize=(5.7, 1.95 * len(rows) + 0.5), squeeze=False)
    for r, (source, target, result, outcome) in enumerate(rows):
        for c, image in enumerate((source, target, result)):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if image is None:
                ax.imshow(np.full_like(target, 235))
                ax.text(0.5, 0.5, outcome, ha="center", va="center", fontsize=9, transform=ax.transAxes)
            else:
                ax.imshow(image)
            if r == 0:
                ax.set_title(columns[c], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path, dpi=QUALITATIVE_DPI)
