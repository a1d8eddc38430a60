"""Hydra glue: the ``python -m benchmarks.table1`` … entry points over ``nullswap/conf/benchmark/*.yaml``.

Everything that knows about Hydra or the command line lives here; planning (:mod:`benchmarks.plan`)
and computing (:mod:`benchmarks.execute`) take plain dicts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from benchmarks.errors import user_errors
from benchmarks.execute import RunReport, run
from benchmarks.specs import ProtectorSpec
from nullswap.provenance import REPO_ROOT

CONFIG_DIR = REPO_ROOT / "nullswap" / "conf" / "benchmark"


def run_or_exit(cfg: Any, runner: Callable[[Any], RunReport] = run) -> RunReport:
    """Run; a missing data set, weight file or a configuration mistake ends with its message, not a traceback.

    ``NULLSWAP_TRACEBACK=1`` shows the traceback too."""
    try:
        report = runner(cfg)
    except user_errors() as exc:
        if os.environ.get("NULLSWAP_TRACEBACK"):
            raise
        done = getattr(exc, "report", None)  # MissingPieces: the other cells were computed
        if done is not None:
            print(f"{done.experiment}: {len(done.computed)} cells computed, {len(done.skipped)} already present")
            for path in done.outputs:
                print(f"  wrote {path}")
        print(
            f"\nerror ({type(exc).__name__}): {exc}\n(set NULLSWAP_TRACEBACK=1 for the traceback)",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    print(
        f"{report.experiment}: {len(report.computed)} cells computed, {len(report.skipped)} already present"
    )
    for path in report.outputs:
        print(f"  wrote {path}")
    return report


def record_command_line(cfg: Any) -> None:
    """Keep the run's command-line overrides in its configuration (``command_line``): every cell records
    the configuration, and the table header names the overrides that change what was measured."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    if HydraConfig.initialized() and "command_line" not in cfg:
        with open_dict(cfg):
            cfg.command_line = list(HydraConfig.get().overrides.task)


def register_resolvers() -> None:
    """``${nullswap_repo:}`` — the checkout's root, so the configs can put ``slurm/`` on Hydra's search path."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("nullswap_repo"):
        OmegaConf.register_new_resolver("nullswap_repo", lambda: str(REPO_ROOT))


def hydra_main(
    config_name: str,
    runner: Callable[[Any], RunReport] = run,
    specs: Callable[[Mapping[str, Any]], list[ProtectorSpec]] | None = None,
    planner: Callable[..., Any] | None = None,
) -> Callable[[], None]:
    """A ``python -m benchmarks.<table>`` entry point over ``nullswap/conf/benchmark/<config_name>.yaml``.

    ``cluster=slurm`` (with a profile, ``+slurm=a100``) submits the missing cells as a Slurm job array
    instead of computing them here (:mod:`benchmarks.submit`); ``specs`` derives the protector columns
    when they are not the configured protectors (Table 5's sessions); ``planner`` lists a table's cells
    for the cluster path when they are not Table 1/2/4/5's (Table 3's swap cells)."""
    import hydra

    register_resolvers()

    @hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name=config_name)
    def main(cfg: Any) -> None:
        record_command_line(cfg)
        if cfg.get("cluster"):
            from benchmarks.submit import submit_or_exit

            submit_or_exit(cfg, runner, specs, planner)
            return
        run_or_exit(cfg, runner)

    return main
