"""Replay a training run's Dynamic Loss Weighting from its log: ``python -m benchmarks.tools.dlw_replay RUN_DIR…``.

Every run logs, per step, the identity losses DLW saw (``id_cos/<recognizer>``), the epoch that set β, and
the weights DLW returned (``dlw_weight/<recognizer>``) in ``train_log.csv``, beside the ``config.yaml``
it was trained with.  DLW looks only at those detached values, so feeding the logged losses to a fresh
:class:`~nullswap.dlw.LossWeighting` reproduces the run's weights exactly (checked: the first line per run),
and feeding them to the same weighting under another DLW setting shows what that setting would have
changed *at the run's losses* (after the first changed step the generator would have moved differently,
so only the count up to then, and whether there is one at all, are exact statements about the run).

The default comparison is the opt-in ``denominator_floor`` against none (the paper's Eq. 4): a run trained
with the floor is replayed without it, a run trained without it is replayed with the opt-in value
(``OPT_IN_FLOOR``); either way the line gives the steps at which the floor binds (a denominator below it)
and those at which any weight differs.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from omegaconf import OmegaConf

from nullswap.dlw import DLWConfig, LossWeighting

#: the opt-in floor a run trained with Eq. 4 as written is compared against (the value docs/method.md names)
OPT_IN_FLOOR = 0.1


@dataclass
class Replay:
    """One run's logged DLW, replayed as logged and under ``variant``."""

    run: str
    steps: int
    recognizers: list[str]
    logged_config: dict
    variant: dict
    reproduced_max_abs_error: float  # logged config vs logged weights
    floor_binding_steps: int  # steps where a denominator fell below the floor (the logged one, else the variant's)
    differing_steps: int  # steps where any weight under ``variant`` differs from the logged run's
    first_differing_step: int | None
    max_abs_weight_change: float
    smallest_denominator: float
    smallest_weight_logged: float
    smallest_weight_variant: float


def read_log(run_dir: Path) -> tuple[list[str], list[dict[str, float]]]:
    with (run_dir / "train_log.csv").open() as handle:
        rows = [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]
    names = [c.split("/", 1)[1] for c in rows[0] if c.startswith("dlw_weight/")]
    return names, rows


def weights_along(config: DLWConfig, names: Sequence[str], rows: Sequence[dict[str, float]]):
    """The weights and Eq. 4 denominators a fresh weighting gives at every logged step."""
    dlw = LossWeighting(len(names), config)
    weights, denominators = [], []
    for row in rows:
        dlw.set_epoch(int(row["epoch"]))
        weights.append(dlw.step([row[f"id_cos/{n}"] for n in names]))
        denominators.append(list(dlw.last_denominator))
    return weights, denominators


def replay(run_dir: Path, **variant) -> Replay:
    """Replay ``run_dir``'s log under its own DLW config and under that config with ``variant`` applied
    (default: the floor toggled: ``denominator_floor=None`` for a run trained with one, ``OPT_IN_FLOOR`` for
    a run trained without)."""
    logged = DLWConfig.from_dict(OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml").dlw))
    variant = variant or {"denominator_floor": None if logged.denominator_floor else OPT_IN_FLOOR}
    if logged.strategy != "dlw":
        raise ValueError(f"{run_dir} was trained with dlw.strategy={logged.strategy}: nothing to replay")
    names, rows = read_log(run_dir)
    logged_weights = [[row[f"dlw_weight/{n}"] for n in names] for row in rows]
    as_logged, denominators = weights_along(logged, names, rows)
    other, _ = weights_along(replace(logged, **variant), names, rows)
    floor = logged.denominator_floor or variant.get("denominator_floor") or 0.0
    differing = [i for i, (a, b) in enumerate(zip(as_logged, other)) if a != b]
    return Replay(
        run=str(run_dir),
        steps=len(rows),
        recognizers=names,
        logged_config=asdict(logged),
        variant=variant,
        reproduced_max_abs_error=max(abs(a - b) for w, v in zip(as_logged, logged_weights) for a, b in zip(w, v)),
        floor_binding_steps=sum(any(d < floor for d in ds) for ds in denominators),
        differing_steps=len(differing),
        first_differing_step=int(rows[differing[0]]["step"]) if differing else None,
        max_abs_weight_change=max(abs(a - b) for w, v in zip(as_logged, other) for a, b in zip(w, v)),
        smallest_denominator=min(d for ds in denominators[1:] for d in ds) if len(rows) > 1 else float("nan"),
        smallest_weight_logged=min(min(w) for w in logged_weights),
        smallest_weight_variant=min(min(w) for w in other),
    )


def format_line(r: Replay) -> str:
    change = ", ".join(f"{k}={v}" for k, v in r.variant.items())
    return (
        f"{r.run}: {r.steps} steps of {'+'.join(r.recognizers)}, logged denominator_floor="
        f"{r.logged_config['denominator_floor']}; replay reproduces the logged weights to "
        f"{r.reproduced_max_abs_error:.1e}; the floor binds at {r.floor_binding_steps} steps; with {change} "
        f"{r.differing_steps} steps differ (max |Δw| {r.max_abs_weight_change:.1e}); smallest Eq. 4 denominator "
        f"{r.smallest_denominator:.4f}; smallest weight {r.smallest_weight_logged:.4f} logged, "
        f"{r.smallest_weight_variant:.4f} replayed"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tools.dlw_replay", description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders holding config.yaml and train_log.csv")
    parser.add_argument("--json", action="store_true", help="print one JSON object per run")
    args = parser.parse_args(argv)
    for run_dir in args.runs:
        result = replay(run_dir)
        print(json.dumps(asdict(result)) if args.json else format_line(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
