"""The line above every table that says what was measured, and whether it is the paper's setting (and why not)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.report import paper
from nullswap import standin
from nullswap.metrics.visual import perceptual_column

DATASET_LABELS = {"celebahq": "CelebA-HQ", "lfw": "LFW", "sample": "offline sample", "offline": "offline set",
                  "folder": "image folder"}
PAPER_DATA = {"celebahq": "CelebA-HQ test split", "lfw": "LFW, all 5,749 identities"}
PAPER_RECOGNIZERS = set(paper.RECOGNIZERS.values())


def _dataset_facts(cells: list[dict[str, Any]]) -> dict[str, Any]:
    for cell in cells:
        dataset = (cell.get("provenance") or {}).get("dataset")
        if dataset:
            return dataset
    return {}


def rehearsal_reasons(cells: list[dict[str, Any]]) -> list[str]:
    """The stand-ins behind any rehearsal cell of ``cells`` (empty when none is a rehearsal)."""
    found: set[str] = set()
    for cell in cells:
        if cell.get("rehearsal"):
            found.update((cell["rehearsal"] or {}).get("reasons") or ["rehearsal"])
            found.update(standin.reasons(cell.get("provenance") or {}))
    return sorted(found)


def rehearsal_line(found: Sequence[str]) -> str:
    """The header's opening for rehearsal cells: :data:`~nullswap.standin.REHEARSAL_HEADER` and what stood in."""
    detail = standin.summary([f for f in found if ": " in f]) or "computed in a rehearsal folder"
    return f"{standin.REHEARSAL_HEADER} ({detail})"


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
    found = rehearsal_reasons(cells)
    if found:
        reasons.append("stand-in (random) weights")
    if reasons:
        parts.append(
            "not the paper's setting: "
            + "; ".join(reasons)
            + f" (paper: {PAPER_DATA.get(paper_dataset, paper_dataset)})"
        )
    else:
        parts.append("the paper's setting")
    if found:
        parts.insert(0, rehearsal_line(found))
    notes = []
    if dataset == "sample":
        notes.append(
            f"offline sample, {n_images} faces; not the paper's setting: numbers show that the harness "
            "runs end to end on real faces, not how the defences compare on CelebA-HQ"
        )
    return "; ".join(parts), notes
