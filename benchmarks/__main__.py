"""``python -m benchmarks COMMAND``: commands over experiment folders, and where every other command is.

    status RESULTS_DIR   cells done / pending / running / failed of a cluster run (benchmarks.status)
    tables RESULTS_DIR   rebuild tables and figures from the cell files (benchmarks.report)

The tables themselves are computed by ``python -m benchmarks.table1|table2|table3|table4|table5``;
the studies by ``python -m benchmarks.robustness|tradeoff|recipe_ablation``; the demo and one-off
tools by ``python -m benchmarks.tools.demo|protector_sweep|recognizer_report|model_cost|swap_grid``;
upstream systems are prepared by ``python -m benchmarks.setup NAME``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "status":
        from benchmarks.status import main as status

        return status(rest)
    if command == "tables":
        from benchmarks.report.cli import main as tables

        return tables(rest)
    print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
