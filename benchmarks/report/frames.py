"""Cell files into tidy frames: one row per (cell, metric), the newest cell per slot, means over seeds.

A column shows one configuration of its protector: the newest. When a column's protector changed (a
retrained checkpoint, another noise target) and only some of its cells were measured again, its older
cells are set aside rather than shown beside the new ones.

The first step of the report: nothing here knows about the paper or about any layout.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.store import ResultStore, config_hash

IDENTIFICATION_METRICS = (
    "top1",
    "top5",
    "top1_detected",
    "top5_detected",
    "same_image_cosine",
    "verified_rate",
)
VISUAL_METRICS = ("psnr", "ssim", "perceptual")


def cell_groups(root: Path) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The cell files of experiment folder ``root``, grouped by (table, data set)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for cell in ResultStore(root).cells():
        groups.setdefault((cell["key"]["table"], cell["key"]["dataset"]), []).append(cell)
    return groups


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
            "protector_config": config_hash({"protector": (cell.get("config") or {}).get("protector")}),
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
    column = ["table", "dataset", "protector", "seed"]
    cells = frame.drop_duplicates("path").sort_values(["finished", "path"])
    newest = cells.groupby(column, sort=False)["protector_config"].transform("last")
    current = cells[cells["protector_config"] == newest]
    keep = current.groupby(slot, sort=False).tail(1)["path"]
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
