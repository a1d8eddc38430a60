"""``python -m benchmarks.report EXPERIMENT_DIR [...]``: rebuild tables and figures from cell files."""

from benchmarks.report.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
