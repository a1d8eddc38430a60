"""Table builders: from one (table, data set) group of cells to the paper's layout, measured beside paper.

Each builder returns a :class:`TableBuild` — the setting header, the display frame (every entry as
``measured (paper value)``), the tidy frame with the paper's numbers attached, and the notes — which the
views (:mod:`benchmarks.report.render`, :mod:`benchmarks.report.figures`) turn into files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.report import paper
from benchmarks.report.formatting import DASH, DIGITS, fmt, with_paper
from benchmarks.report.frames import aggregate, cell_rows, latest
from benchmarks.report.setting import PAPER_RECOGNIZERS, rehearsal_reasons, setting_header
from nullswap.metrics.visual import perceptual_column


@dataclass
class TableBuild:
    """One built table: what its views need, and nothing they would have to recompute."""

    name: str
    dataset: str
    header: str
    display: pd.DataFrame
    tidy: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    #: the stand-ins behind rehearsal cells (empty for real results); views refuse to drop the header
    rehearsal: list[str] = field(default_factory=list)


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


def _cell_notes(cells: list[dict[str, Any]]) -> list[str]:
    """The caveats the cells recorded, each with the cells it belongs to ("session3 (visual): 31 of 36 …"):
    a note every cell shares is shown once as it is; otherwise it names its columns, and the rows of a
    column where only some of them have it."""
    slots: dict[str, set[str]] = {}  # a column's rows (an older cell of the same slot is the same row)
    for cell in cells:
        key = cell["key"]
        slots.setdefault(key["protector"], set()).add(key["evaluator"])
    where: dict[str, dict[str, list[str]]] = {}
    for cell in cells:
        key = cell["key"]
        for note in cell.get("notes") or []:
            where.setdefault(note, {}).setdefault(key["protector"], []).append(key["evaluator"])
    out = []
    for note, columns in where.items():
        if len(cells) > 1 and sum(len(v) for v in columns.values()) == len(cells):
            out.append(note)
            continue
        labels = []
        for protector, evaluators in columns.items():
            every = set(evaluators) == set(slots[protector])
            shown = "visual" if evaluators == ["visual"] else "/".join(dict.fromkeys(evaluators))
            labels.append(protector if every and len(slots[protector]) > 1 else f"{protector} ({shown})")
        out.append(f"{', '.join(labels)}: {note}")
    return out


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
    return TableBuild(table, dataset, header, frame_display, tidy, setting_notes + notes + _cell_notes(cells),
                      rehearsal_reasons(cells))


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
    return TableBuild(table, dataset, header, display, agg, notes + _cell_notes(cells), rehearsal_reasons(cells))


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
    return TableBuild(table, dataset, header, frame_display, agg, notes + _swapper_notes(cells) + _cell_notes(cells),
                      rehearsal_reasons(cells))


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
