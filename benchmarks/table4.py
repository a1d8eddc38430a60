"""Table 4: cross-data-set identification on LFW, with visual quality rows.

Usage: ``python -m benchmarks.table4 [hydra overrides]``; configuration in
``nullswap/conf/benchmark/table4.yaml`` (shared keys in ``base.yaml``).  See :mod:`benchmarks.plan`.
"""

from __future__ import annotations

from benchmarks.cli import hydra_main

main = hydra_main("table4")

if __name__ == "__main__":
    main()
