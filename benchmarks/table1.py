"""Table 1: visual quality (PSNR, SSIM, LPIPS) of each defence.

Usage: ``python -m benchmarks.table1 [hydra overrides]``; configuration in
``nullswap/conf/benchmark/table1.yaml`` (shared keys in ``base.yaml``).  See :mod:`benchmarks.plan`.
"""

from __future__ import annotations

from benchmarks.cli import hydra_main

main = hydra_main("table1")

if __name__ == "__main__":
    main()
