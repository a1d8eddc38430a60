"""Tables from cell files only — CSV, Markdown and LaTeX, each measured value beside the paper's.

``python -m benchmarks.report EXPERIMENT_DIR`` rebuilds every table and figure of an experiment folder
from its ``cells/`` (it never runs a model).  For each (table, data set) found it writes, under
``EXPERIMENT_DIR/tables/``:

* ``<table>.csv`` — tidy: one row per (protector, evaluator, metric) with the measured mean over seeds,
  its standard deviation, the number of seeds, the paper's value and the counts behind it;
* ``<table>.md`` / ``<table>.tex`` — the paper's layout, every entry as ``measured (paper value)``,
  under a header that states the setting (data set, number of faces, recognizers, perceptual metric,
  and "not the paper's setting" with the reasons where that applies), followed by the caveats the
  cells recorded;
* figures (see :mod:`benchmarks.report.figures`).

When several cells fill the same slot (table, data set, protector, evaluator, seed) with different
configurations, the most recently finished one is used and the header says how many were set aside.
A data-set suffix (``table2_lfw.md``) is added only when one experiment holds a table on two data sets.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.report.write import build_tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report",
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
