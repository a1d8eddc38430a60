"""Table 2: identification accuracy (Acc@5 / Acc@1) under four recognizers, CelebA-HQ.

Usage: ``python -m benchmarks.table2 [hydra overrides]``; configuration in
``nullswap/conf/benchmark/table2.yaml`` (shared keys in ``base.yaml``).  See :mod:`benchmarks.plan`.
"""

from __future__ import annotations

from benchmarks.cli import hydra_main

main = hydra_main("table2")

if __name__ == "__main__":
    main()
