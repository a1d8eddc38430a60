"""Table 5: the dynamic-loss-weighting ablation — four NullSwap training sessions, each evaluated like Table 2.

Sessions (the paper's, with its two training recognizers A and B; offline A = dlib, B = SFace):

    session1  recognizers=[A]   dlw.strategy=single
    session2  recognizers=[B]   dlw.strategy=single
    session3  recognizers=[A,B] dlw.strategy=mean
    dlw       recognizers=[A,B] dlw.strategy=dlw

Each session trains through :func:`nullswap.train.train_from_overrides` into
``<experiment>/sessions/<session>/`` and records the checkpoint it produced in ``session.json``; a session
whose recorded (or configured, ``train.checkpoints.<session>=PATH``) checkpoint exists is not trained
again.  Training only happens when a cell of that session still has to be computed, so a finished
table re-runs without training or measuring anything.

Usage: ``python -m benchmarks.table5 [hydra overrides]`` (``nullswap/conf/benchmark/table5.yaml``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.cli import hydra_main
from benchmarks.errors import BenchmarkError
from benchmarks.execute import RunReport, run
from benchmarks.plan import experiment_dir, to_plain
from benchmarks.specs import ProtectorSpec
from benchmarks.store import atomic_write_json, now_iso
from benchmarks.workspace import Components

log = logging.getLogger("benchmarks")
SESSIONS = ("session1", "session2", "session3", "dlw")


def session_overrides(session: str, recognizers: Sequence[str]) -> list[str]:
    """The training overrides that define ``session`` for training recognizers ``[A, B]``."""
    if len(recognizers) != 2:
        raise BenchmarkError(f"Table 5 needs exactly two training recognizers, got {list(recognizers)}")
    a, b = recognizers
    return {
        "session1": [f"recognizers=[{a}]", "dlw.strategy=single", "dlw.single_index=0"],
        "session2": [f"recognizers=[{b}]", "dlw.strategy=single", "dlw.single_index=0"],
        "session3": [f"recognizers=[{a},{b}]", "dlw.strategy=mean"],
        "dlw": [f"recognizers=[{a},{b}]", "dlw.strategy=dlw"],
    }[session]


def session_specs(cfg: Mapping[str, Any]) -> list[ProtectorSpec]:
    """One NullSwap protector column per session; its options carry the session's training overrides."""
    train = cfg.get("train") or {}
    common = [str(o) for o in (train.get("overrides") or [])] + [str(o) for o in (train.get("extra") or [])]
    if train.get("steps") is not None:
        common.append(f"train.steps={int(train['steps'])}")
    common.append(f"seed={int(cfg.get('seed', 0))}")
    nullswap_options = {
        k: v
        for k, v in ((cfg.get("protector_options") or {}).get("nullswap") or {}).items()
        if k != "checkpoint"
    }
    checkpoints = train.get("checkpoints") or {}
    specs = []
    for name in cfg["protectors"]:
        if name not in SESSIONS:
            raise BenchmarkError(f"Table 5 columns are the sessions {list(SESSIONS)}, got '{name}'")
        options = {
            "session": name,
            "train_overrides": [*common, *session_overrides(name, train.get("recognizers") or [])],
            "session_checkpoint": checkpoints.get(name),
            **nullswap_options,
        }
        specs.append(ProtectorSpec(name, options, int(cfg.get("seed", 0)), registry="nullswap"))
    return specs


class SessionTrainer:
    """Finds or trains the checkpoint of each session (at most once per experiment)."""

    def __init__(self, root: Path, train_fn: Callable[[list[str]], Path] | None = None) -> None:
        self.root = Path(root)
        self.train_fn = train_fn

    def run_dir(self, session: str) -> Path:
        return self.root / "sessions" / session

    def checkpoint(self, spec: ProtectorSpec) -> Path:
        session, given = spec.options["session"], spec.options.get("session_checkpoint")
        if given:
            path = Path(str(given)).expanduser()
            if not path.is_file():
                raise BenchmarkError(f"train.checkpoints.{session}={given} does not exist")
            return path
        marker = self.run_dir(session) / "session.json"
        overrides = [*spec.options["train_overrides"], f"run_dir={self.run_dir(session)}"]
        if marker.is_file():
            recorded = json.loads(marker.read_text())
            path = Path(recorded["checkpoint"])
            if path.is_file() and recorded.get("overrides") == overrides:
                log.info("session %s: using its trained checkpoint %s", session, path)
                return path
        log.info("session %s: training with %s", session, " ".join(overrides))
        train_fn = self.train_fn
        if train_fn is None:
            from nullswap.train import train_from_overrides as train_fn
        path = Path(train_fn(overrides))
        if not path.is_file():
            raise BenchmarkError(f"session {session}: training returned {path}, which does not exist")
        atomic_write_json(
            marker,
            {"session": session, "checkpoint": str(path), "overrides": overrides, "finished": now_iso()},
        )
        return path


def session_components(
    root: Path, train_fn: Callable[[list[str]], Path] | None = None, base: Components | None = None
) -> Components:
    """Components whose protector factory trains (or finds) a session's checkpoint, then loads NullSwap."""
    trainer = SessionTrainer(root, train_fn)
    components = base or Components()
    build_other = components.build_protector

    def build(spec: ProtectorSpec, device: str | None = None) -> Any:
        if "session" not in spec.options:
            return build_other(spec, device)
        checkpoint = trainer.checkpoint(spec)
        options = {
            k: v
            for k, v in spec.options.items()
            if k not in ("session", "train_overrides", "session_checkpoint")
        }
        return build_other(
            ProtectorSpec(
                spec.name, {**options, "checkpoint": str(checkpoint)}, spec.seed, registry=spec.registry
            ),
            device,
        )

    return Components(
        components.load_dataset, build, components.build_recognizer, components.build_perceptual
    )


def run_table5(
    cfg: Mapping[str, Any] | Any,
    *,
    components: Components | None = None,
    train_fn: Callable[[list[str]], Path] | None = None,
) -> RunReport:
    plain = to_plain(cfg)
    specs = session_specs(plain)
    chosen = session_components(experiment_dir(plain), train_fn, components)
    return run(plain, components=chosen, protectors=specs, check_registries=components is None)


main = hydra_main("table5", run_table5, specs=session_specs)

if __name__ == "__main__":
    main()
