"""Rebuild an experiment's tables and figures from its cell files, and write them under ``tables/``.

The last step of the report: cells in (:mod:`benchmarks.report.frames`), builds
(:mod:`benchmarks.report.builders`), views out (:mod:`benchmarks.report.render`,
:mod:`benchmarks.report.figures`).  It never runs a model.
"""

from __future__ import annotations

import logging
from pathlib import Path

from benchmarks.report import figures, render
from benchmarks.report.builders import BUILDERS, TableBuild
from benchmarks.report.frames import cell_groups, cell_rows, latest
from benchmarks.store import atomic_write_text

log = logging.getLogger("benchmarks")


def write_table(build: TableBuild, directory: Path, stem: str) -> list[Path]:
    """``<stem>.csv`` (tidy, with the paper's values), ``<stem>.md`` and ``<stem>.tex`` (the paper's layout)."""
    directory.mkdir(parents=True, exist_ok=True)
    csv_path, md_path, tex_path = (directory / f"{stem}.{ext}" for ext in ("csv", "md", "tex"))
    atomic_write_text(csv_path, build.tidy.to_csv(index=False))
    atomic_write_text(md_path, render.markdown(build))
    atomic_write_text(tex_path, render.latex(build, stem))
    return [csv_path, md_path, tex_path]


def build_tables(root: Path | str) -> list[Path]:
    """Rebuild every table and figure of experiment folder ``root`` from its cell files."""
    root = Path(root)
    groups = cell_groups(root)
    if not groups:
        log.warning("no cells under %s", root / "cells")
        return []
    datasets_per_table: dict[str, int] = {}
    for table, _ in groups:
        datasets_per_table[table] = datasets_per_table.get(table, 0) + 1
    out_dir = root / "tables"
    written: list[Path] = []
    builds: list[TableBuild] = []
    for (table, dataset), group in sorted(groups.items()):
        builder = BUILDERS.get(table)
        if builder is None:
            continue
        _, stale = latest(cell_rows(group))
        build = builder(table, dataset, group, stale)
        stem = table if datasets_per_table[table] == 1 else f"{table}_{dataset}"
        builds.append(build)
        written += write_table(build, out_dir, stem)
        written += figures.table_figures(build, out_dir, stem)
    written += figures.qualitative_grids(root, out_dir, builds)
    return written
