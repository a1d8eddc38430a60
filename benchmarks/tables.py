"""Tables from cell files only — CSV, Markdown and LaTeX, each measured value beside the paper's.

``python -m benchmarks.tables EXPERIMENT_DIR`` rebuilds every table and figure of an experiment folder
from its ``cells/`` (it never runs a model).  For each (table, data set) found it writes, under
``EXPERIMENT_DIR/tables/``:

* ``<table>.csv`` — tidy: one row per (protector, evaluator, metric) with the measured mean over seeds,
  its standard deviation, the number of seeds, the paper's value and the counts behind it;
* ``<table>.md`` / ``<table>.tex`` — the paper's layout, every entry as ``measured (paper value)``,
  under a header that states the setting (data set, number of faces, recognizers, perceptual metric,
  and "not the paper's setting" with the reasons where that applies), followed by the caveats the
  cells recorded;
* figures (see :mod:`benchmarks.figures`).

When several cells fill the same slot (table, data set, protector, evaluator, seed) with different
configurations, the most recently finished one is used and the header says how many were set aside.
A data-set suffix (``table2_lfw.md``) is added only when one experiment holds a table on two data sets.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import paper
from benchmarks.store import ResultStore, atomic_write_text
from nullswap.metrics.visual import perceptual_column

log = logging.getLogger("benchmarks")
DASH = "–"
TITLES = {
    "table1": "Table 1 — visual quality of the protected faces (PSNR ↑, SSIM ↑, perceptual distance ↓)",
    "table2": "Table 2 — identification accuracy on protected faces, Acc@5 / Acc@1 (lower = better cloaking)",
    "table3": "Table 3 — identity similarity between swaps of the clean and the protected source (lower is better)",
    "table4": "Table 4 — cross-data-set identification, Acc@5 / Acc@1 (lower = better cloaking)",
    "table5": "Table 5 — DLW ablation, Acc@1 per training session (lower = better cloaking)",
}
DATASET_LABELS = {"celebahq": "CelebA-HQ", "lfw": "LFW", "sample": "offline sample", "offline": "offline set",
                  "folder": "image folder"}
PAPER_DATA = {"celebahq": "CelebA-HQ test split", "lfw": "LFW, all 5,749 identities"}
PAPER_RECOGNIZERS = set(paper.RECOGNIZERS.values())
IDENTIFICATION_METRICS = (
    "top1",
    "top5",
    "top1_detected",
    "top5_detected",
    "same_image_cosine",
    "verified_rate",
)
VISUAL_METRICS = ("psnr", "ssim", "perceptual")
DIGITS = {"psnr": 2, "ssim": 4, "perceptual": 4}


# --------------------------------------------------------------------------------------------------
# Cells → tidy frame
# --------------------------------------------------------------------------------------------------
def cell_rows(cells: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per (cell, metric) with the cell's key, counts and the facts tables need."""
    rows = []
    for cell in cells:
        key, values, counts = cell["key"], cell.get("values") or {}, cell.get("counts") or {}
        prov = cell.get("provenance") or {}
        base = {
            **{k: key[k] for k in ("table", "dataset", "protector", "evaluator", "seed", "config_hash")},
            "kind": cell.get("kind"),
            "finished": prov.get("finished") or "",
            "path": cell.get("_path"),
            "n_images": counts.get("images"),
            "n_probes": counts.get("probes"),
            "n_identities": counts.get("identities"),
            "perceptual_name": values.get("perceptual_name"),
        }
        if cell.get("kind") == "identification":
            metrics = {m: values.get(m) for m in IDENTIFICATION_METRICS}
        elif cell.get("kind") == "visual":
            metrics = {m: values.get(m) for m in VISUAL_METRICS}
        elif cell.get("kind") == "swap":
            metrics = {f"similarity_{rec}": v for rec, v in (values.get("similarity") or {}).items()}
            metrics |= {f"identified_{rec}": v for rec, v in (values.get("identified_as_source") or {}).items()}
            metrics |= {
                f"identified_clean_{rec}": v for rec, v in (values.get("identified_as_source_clean") or {}).items()
            }
            failures = cell.get("failures") or {}
            if "pairs_without_swap" in failures:
                metrics["pairs_without_swap"] = failures["pairs_without_swap"]
                metrics["pairs"] = counts.get("pairs")
        else:
            continue
        rows += [base | {"metric": m, "value": np.nan if v is None else float(v)} for m, v in metrics.items()]
    return pd.DataFrame(rows)


def latest(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keep, per slot and seed, the most recently finished cell; return how many cells were set aside."""
    if frame.empty:
        return frame, 0
    slot = ["table", "dataset", "protector", "evaluator", "seed"]
    cells = frame.drop_duplicates("path").sort_values(["finished", "path"])
    keep = cells.groupby(slot, sort=False).tail(1)["path"]
    return frame[frame["path"].isin(set(keep))], int(len(cells) - len(keep))


def aggregate(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and number of seeds per (protector, evaluator, metric)."""
    group = ["table", "dataset", "protector", "evaluator", "metric"]
    agg = frame.groupby(group, sort=False).agg(
        measured=("value", "mean"),
        measured_std=("value", "std"),
        n_seeds=("seed", "nunique"),
        n_images=("n_images", "max"),
        n_probes=("n_probes", "max"),
        n_identities=("n_identities", "max"),
        perceptual_name=("perceptual_name", "first"),
    )
    return agg.reset_index()


# --------------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------------
def fmt(value: float | None, digits: int = 3) -> str:
    return (
        DASH
        if value is None or (isinstance(value, float) and not np.isfinite(value))
        else f"{value:.{digits}f}"
    )


def with_paper(measured: str, reference: str, label: str = "paper") -> str:
    """``measured (paper reference)``; the parenthesis is left out where the paper has no such number."""
    if not reference.replace(DASH, "").replace("/", "").strip():
        return measured
    return f"{measured} ({label} {reference})"


@dataclass
class TableBuild:
    name: str
    dataset: str
    header: str
    display: pd.DataFrame
    tidy: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _order(values: Iterable[str], preferred: Sequence[str]) -> list[str]:
    """The distinct ``values`` in ``preferred`` order, the rest sorted after them."""
    present = list(dict.fromkeys(values))
    preferred = list(dict.fromkeys(preferred))
    return [v for v in preferred if v in present] + sorted(v for v in present if v not in preferred)


def _run_config(cells: list[dict[str, Any]]) -> dict[str, Any]:
    if not cells:
        return {}
    newest = max(cells, key=lambda c: (c.get("provenance") or {}).get("finished") or "")
    return (newest.get("provenance") or {}).get("run_config") or {}


def _dataset_facts(cells: list[dict[str, Any]]) -> dict[str, Any]:
    for cell in cells:
        dataset = (cell.get("provenance") or {}).get("dataset")
        if dataset:
            return dataset
    return {}


def setting_header(
    table: str,
    dataset: str,
    cells: list[dict[str, Any]],
    recognizers: Sequence[str],
    perceptual: str | None,
    extra_reasons: Sequence[str] = (),
) -> tuple[str, list[str]]:
    """The line that says what was measured, and whether it is the paper's setting (with reasons)."""
    facts = _dataset_facts(cells)
    config = facts.get("config") or {}
    n_images, n_ids = facts.get("n_images"), facts.get("n_identities")
    label = DATASET_LABELS.get(dataset, dataset)
    split = config.get("split")
    parts = [
        f"data set: {label}"
        + (f" ({split} split)" if split else "")
        + (f", {n_images} faces, {n_ids} identities" if n_images else "")
    ]
    if recognizers:
        parts.append("recognizers: " + ", ".join(recognizers))
    if perceptual:
        parts.append(f"perceptual metric: {perceptual_column(perceptual)} ({perceptual})")
    reasons = []
    paper_dataset = paper.DATASETS.get(table)
    if dataset != paper_dataset:
        reasons.append(f"{label}, {n_images} faces" if dataset == "sample" else f"data set {label}")
    elif config.get("max_images") is not None:
        reasons.append(f"first {config['max_images']} images only")
    if recognizers and not PAPER_RECOGNIZERS.issubset(recognizers):
        reasons.append("not the paper's four deepface recognizers")
    if perceptual and perceptual != "lpips-alex":
        reasons.append(f"{perceptual_column(perceptual)} instead of LPIPS (not comparable)")
    reasons += list(extra_reasons)
    if reasons:
        parts.append(
            "not the paper's setting: "
            + "; ".join(reasons)
            + f" (paper: {PAPER_DATA.get(paper_dataset, paper_dataset)})"
        )
    else:
        parts.append("the paper's setting")
    notes = []
    if dataset == "sample":
        notes.append(
            f"offline sample, {n_images} faces; not the paper's setting: numbers show that the harness "
            "runs end to end on real faces, not how the defences compare on CelebA-HQ"
        )
    return "; ".join(parts), notes


def _cell_notes(cells: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(note for cell in cells for note in (cell.get("notes") or [])))


def _visual_rows(
    table: str, agg: pd.DataFrame, protectors: list[str], perceptual: str | None
) -> dict[str, dict[str, str]]:
    visual = agg[agg["evaluator"] == "visual"]
    rows: dict[str, dict[str, str]] = {}
    if visual.empty:
        return rows
    names = {
        "psnr": "PSNR",
        "ssim": "SSIM",
        "perceptual": perceptual_column(perceptual) if perceptual else "perceptual",
    }
    for metric, row_name in names.items():
        rows[row_name] = {}
        for prot in protectors:
            hit = visual[(visual["protector"] == prot) & (visual["metric"] == metric)]
            measured = fmt(hit["measured"].iloc[0], DIGITS[metric]) if len(hit) else DASH
            reference = paper.paper_visual(table, prot, metric)
            label = "paper" if metric != "perceptual" or perceptual == "lpips-alex" else "paper LPIPS"
            ref_text = fmt(reference, DIGITS[metric]) if reference is not None else DASH
            rows[row_name][prot] = (
                with_paper(measured, ref_text, label) if measured != DASH or reference else DASH
            )
    return rows


def _attach_paper(agg: pd.DataFrame, table: str) -> pd.DataFrame:
    def reference(row: pd.Series) -> float | None:
        if row["evaluator"] == "visual":
            return paper.paper_visual(table, row["protector"], row["metric"])
        if row["metric"] in ("top1", "top5"):
            return paper.paper_identification(table, row["protector"], row["evaluator"], row["metric"])
        if str(row["metric"]).startswith("similarity_"):
            return paper.paper_swap(
                row["protector"], row["evaluator"], str(row["metric"])[len("similarity_") :]
            )
        return None

    out = agg.copy()
    out["paper"] = [reference(r) for _, r in out.iterrows()] if len(out) else []
    out["paper_row"] = [paper.paper_recognizer(e)[0] if e != "visual" else None for e in out["evaluator"]]
    return out


def build_identification(table: str, dataset: str, cells: list[dict[str, Any]], stale: int) -> TableBuild:
    frame, _ = latest(cell_rows(cells))
    agg = _attach_paper(aggregate(frame), table)
    run_config = _run_config(cells)
    ident = agg[agg["evaluator"] != "visual"]
    protectors = _order(
        agg["protector"],
        list(run_config.get("protectors") or [])
        + list(paper.METHODS.values())
        + list(paper.SESSIONS.values()),
    )
    recognizers = _order(
        ident["evaluator"], list(run_config.get("recognizers") or []) + list(paper.RECOGNIZERS.values())
    )
    perceptual = next((p for p in agg["perceptual_name"].dropna()), None)
    both = table in ("table2", "table4")
    display: dict[str, dict[str, str]] = {}
    averages: list[dict[str, Any]] = []
    notes: list[str] = []

    def value(prot: str, rec: str, metric: str) -> float | None:
        hit = ident[(ident["protector"] == prot) & (ident["evaluator"] == rec) & (ident["metric"] == metric)]
        return float(hit["measured"].iloc[0]) if len(hit) and np.isfinite(hit["measured"].iloc[0]) else None

    for rec in recognizers:
        row_name = rec
        alias = paper.RECOGNIZER_ALIASES.get(rec)
        if alias:
            row_name = f"{rec}†"
            notes.append(f"† {rec}: paper value of {alias[0]} shown ({alias[1]})")
        display[row_name] = {}
        for prot in protectors:
            m1, m5 = value(prot, rec, "top1"), value(prot, rec, "top5")
            p1, p5 = (paper.paper_identification(table, prot, rec, m) for m in ("top1", "top5"))
            if both:
                display[row_name][prot] = with_paper(f"{fmt(m5)} / {fmt(m1)}", f"{fmt(p5)} / {fmt(p1)}")
            else:
                display[row_name][prot] = with_paper(fmt(m1), fmt(p1))
    # Average row: over the recognizers measured for that protector; the paper's average only when the
    # measured rows are exactly the paper's four recognizers.
    paper_rows = {paper.paper_recognizer(r)[0] for r in recognizers if r in PAPER_RECOGNIZERS}
    show_paper_average = paper_rows == PAPER_RECOGNIZERS and len(recognizers) == len(PAPER_RECOGNIZERS)
    display["Average"] = {}
    for prot in protectors:
        parts = {}
        for metric in ("top1", "top5"):
            # Re-detected rows measure the same recognizer again: they stay out of the average.
            vals = [v for v in (value(prot, r, metric) for r in recognizers if "@" not in r) if v is not None]
            parts[metric] = float(np.mean(vals)) if vals else None
            if vals:
                averages.append(
                    {
                        "table": table,
                        "dataset": dataset,
                        "protector": prot,
                        "evaluator": "average",
                        "metric": metric,
                        "measured": parts[metric],
                        "n_seeds": None,
                        "paper": paper.paper_identification(table, prot, "average", metric)
                        if show_paper_average
                        else None,
                    }
                )
        p1, p5 = (
            (paper.paper_identification(table, prot, "average", m) if show_paper_average else None)
            for m in ("top1", "top5")
        )
        if both:
            display["Average"][prot] = with_paper(
                f"{fmt(parts['top5'])} / {fmt(parts['top1'])}", f"{fmt(p5)} / {fmt(p1)}"
            )
        else:
            display["Average"][prot] = with_paper(fmt(parts["top1"]), fmt(p1))
    if not show_paper_average:
        notes.append("the paper's Average row is shown only when the four paper recognizers are measured")
    if any("@redetect" in r for r in recognizers):
        notes.append("rows marked @redetect embed each face after dlib re-detects and re-aligns it (what an "
                     "attacker's tool does); the other rows see the fixed canonical crop; the Average row "
                     "covers the fixed-crop rows only")
    display.update(_visual_rows(table, agg, protectors, perceptual))
    if table == "table5":
        notes += [
            f"{s}: {paper.SESSION_DESCRIPTIONS[s]}" for s in protectors if s in paper.SESSION_DESCRIPTIONS
        ]
    if table == "table2" and not agg[agg["evaluator"] == "visual"].empty:
        notes.append(
            "visual-quality rows of Table 2 show the paper's Table 1 values (same methods, same data set)"
        )

    frame_display = pd.DataFrame(display).T.reindex(columns=protectors).fillna(DASH)
    frame_display.index.name = "recognizer"
    header, setting_notes = setting_header(table, dataset, cells, recognizers, perceptual)
    n_probes = ident["n_probes"].max() if len(ident) else None
    if n_probes is not None and np.isfinite(n_probes):
        header += f"; {int(n_probes)} probes"
    if stale:
        notes.append(
            f"{stale} older cells with other configurations were set aside (the newest cell per slot is used)"
        )
    tidy = pd.concat([agg, pd.DataFrame(averages)], ignore_index=True) if averages else agg
    return TableBuild(table, dataset, header, frame_display, tidy, setting_notes + notes + _cell_notes(cells))


def build_visual(table: str, dataset: str, cells: list[dict[str, Any]], stale: int) -> TableBuild:
    frame, _ = latest(cell_rows(cells))
    agg = _attach_paper(aggregate(frame), table)
    run_config = _run_config(cells)
    protectors = _order(
        agg["protector"], list(run_config.get("protectors") or []) + list(paper.METHODS.values())
    )
    perceptual = next((p for p in agg["perceptual_name"].dropna()), None)
    rows = _visual_rows(table, agg, protectors, perceptual)
    display = pd.DataFrame(rows).reindex(index=protectors).fillna(DASH)
    display.index.name = "protector"
    header, notes = setting_header(table, dataset, cells, [], perceptual)
    if stale:
        notes.append(
            f"{stale} older cells with other configurations were set aside (the newest cell per slot is used)"
        )
    if perceptual and perceptual != "lpips-alex":
        notes.append(
            f"{perceptual_column(perceptual)} is not LPIPS: the paper's LPIPS values are shown for orientation only"
        )
    return TableBuild(table, dataset, header, display, agg, notes + _cell_notes(cells))


def build_swap(table: str, dataset: str, cells: list[dict[str, Any]], stale: int) -> TableBuild:
    """Table 3 from swap cells (evaluator = swapper, ``values.similarity`` = {recognizer: mean cosine})."""
    frame, _ = latest(cell_rows(cells))
    agg = _attach_paper(aggregate(frame), table)
    protectors = _order(agg["protector"], list(paper.METHODS.values()))
    swappers = _order(agg["evaluator"], list(paper.SWAPPERS.values()))
    recs = sorted({m[len("similarity_") :] for m in agg["metric"] if str(m).startswith("similarity_")})
    display: dict[str, dict[str, str]] = {}
    for swapper in [*swappers, "average"]:
        display[swapper] = {}
        for prot in protectors:
            measured, refs = [], []
            for rec in recs:
                metric = f"similarity_{rec}"
                if swapper == "average":
                    hit = agg[(agg["protector"] == prot) & (agg["metric"] == metric)]
                    measured.append(fmt(hit["measured"].mean()) if len(hit) == len(swappers) else DASH)
                else:
                    hit = agg[
                        (agg["protector"] == prot) & (agg["evaluator"] == swapper) & (agg["metric"] == metric)
                    ]
                    measured.append(fmt(hit["measured"].iloc[0]) if len(hit) else DASH)
                all_swappers = set(swappers) == set(paper.SWAPPERS.values())
                shown = swapper != "average" or all_swappers  # the paper averages all five swappers
                refs.append(fmt(paper.paper_swap(prot, swapper, rec)) if shown else DASH)
            display[swapper][prot] = with_paper(" / ".join(measured), " / ".join(refs))
    display.update(_swap_extra_rows(agg, swappers, protectors, recs))
    frame_display = pd.DataFrame(display).T.reindex(columns=protectors).fillna(DASH)
    frame_display.index.name = "swapper"
    missing = [s for s in paper.SWAPPERS.values() if s not in swappers]
    reasons = [f"swappers missing: {', '.join(missing)}"] if missing else []
    unpublished = [s for s in swappers if s not in paper.SWAPPERS.values()]
    if unpublished:
        reasons.append(f"swapper(s) not in the paper: {', '.join(unpublished)}")
    header, notes = setting_header(table, dataset, cells, [], None, reasons)
    header += "; similarity under " + " / ".join(recs)
    return TableBuild(table, dataset, header, frame_display, agg, notes + _swapper_notes(cells) + _cell_notes(cells))


def _swap_extra_rows(
    agg: pd.DataFrame, swappers: Sequence[str], protectors: Sequence[str], recs: Sequence[str]
) -> dict[str, dict[str, str]]:
    """Per swapper, where the cells have them: how often the protected-source swap is identified as the
    source (clean-source swap in brackets) and how many pairs produced no swap."""

    def value(prot: str, swapper: str, metric: str) -> float | None:
        hit = agg[(agg["protector"] == prot) & (agg["evaluator"] == swapper) & (agg["metric"] == metric)]
        return float(hit["measured"].iloc[0]) if len(hit) and np.isfinite(hit["measured"].iloc[0]) else None

    rows: dict[str, dict[str, str]] = {}
    for swapper in swappers:
        if any(value(p, swapper, f"identified_{r}") is not None for p in protectors for r in recs):
            label = f"{swapper}: identified as source, top-1 (clean source)"
            rows[label] = {
                p: " / ".join(
                    f"{fmt(value(p, swapper, f'identified_{r}'))} ({fmt(value(p, swapper, f'identified_clean_{r}'))})"
                    for r in recs
                )
                for p in protectors
            }
        if any(value(p, swapper, "pairs") is not None for p in protectors):
            label = f"{swapper}: pairs without a swap"
            rows[label] = {}
            for p in protectors:
                failed, pairs = value(p, swapper, "pairs_without_swap"), value(p, swapper, "pairs")
                rows[label][p] = DASH if pairs is None else f"{failed:.0f} of {pairs:.0f}"
    return rows


def _swapper_notes(cells: list[dict[str, Any]]) -> list[str]:
    """What each swapper is (e.g. a classical landmark-based swap), as its cells describe it."""
    kinds = {}
    for cell in cells:
        described = (cell.get("provenance") or {}).get("swapper") or {}
        if described.get("name") and described.get("kind"):
            kinds[described["name"]] = described["kind"]
    return [f"{name}: {kind}" for name, kind in sorted(kinds.items())]


BUILDERS = {
    "table1": build_visual,
    "table2": build_identification,
    "table3": build_swap,
    "table4": build_identification,
    "table5": build_identification,
}


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------
#: characters of the Markdown tables that plain (pdf)LaTeX does not take as they are
LATEX_SYMBOLS = {
    "†": r"\textsuperscript{\dag}",
    "–": "--",
    "—": "---",
    "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
    "×": r"$\times$",
    "σ": r"$\sigma$",
}


def latex_symbols(text: str) -> str:
    for symbol, command in LATEX_SYMBOLS.items():
        text = text.replace(symbol, command)
    return text


def write_table(build: TableBuild, directory: Path, stem: str) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    title = TITLES.get(build.name, build.name)
    csv_path, md_path, tex_path = (directory / f"{stem}.{ext}" for ext in ("csv", "md", "tex"))
    atomic_write_text(csv_path, build.tidy.to_csv(index=False))
    notes = "".join(f"- {n}\n" for n in build.notes)
    markdown = f"## {title}\n\n{build.header}\n\n{build.display.to_markdown()}\n"
    if notes:
        markdown += f"\nNotes:\n\n{notes}"
    atomic_write_text(md_path, markdown)
    caption = f"{title}. {build.header}."
    latex = build.display.to_latex(caption=caption, label=f"tab:{stem}", escape=True, column_format=None)
    atomic_write_text(tex_path, latex_symbols(latex))
    return [csv_path, md_path, tex_path]


def build_tables(root: Path | str) -> list[Path]:
    """Rebuild every table and figure of experiment folder ``root`` from its cell files."""
    from benchmarks import figures

    root = Path(root)
    cells = list(ResultStore(root).cells())
    if not cells:
        log.warning("no cells under %s", root / "cells")
        return []
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for cell in cells:
        groups.setdefault((cell["key"]["table"], cell["key"]["dataset"]), []).append(cell)
    datasets_per_table: dict[str, int] = {}
    for table, _ in groups:
        datasets_per_table[table] = datasets_per_table.get(table, 0) + 1
    out_dir = root / "tables"
    written: list[Path] = []
    for (table, dataset), group in sorted(groups.items()):
        builder = BUILDERS.get(table)
        if builder is None:
            continue
        _, stale = latest(cell_rows(group))
        build = builder(table, dataset, group, stale)
        stem = table if datasets_per_table[table] == 1 else f"{table}_{dataset}"
        written += write_table(build, out_dir, stem)
        written += figures.table_figures(build, out_dir, stem)
    written += figures.qualitative_grids(root, out_dir)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tables",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("experiments", nargs="+", type=Path, help="experiment folders (results/<experiment>)")
    args = parser.parse_args(argv)
    status = 0
    for root in args.experiments:
        if not (root / "cells").is_dir():
            print(f"{root}: no cells/ folder (is this an experiment folder?)")
            status = 1
            continue
        for path in build_tables(root):
            print(f"wrote {path}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
