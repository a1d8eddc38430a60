"""Table 5: the dynamic-loss-weighting ablation — four NullSwap training sessions, each evaluated like Table 2.

Sessions (the paper's, with its two training recognizers A and B; offline A = dlib, B = SFace):

    session1  recognizers=[A]   dlw.strategy=single
    session2  recognizers=[B]   dlw.strategy=single
    session3  recognizers=[A,B] dlw.strategy=mean
    dlw       recognizers=[A,B] dlw.strategy=dlw

Each session trains through :func:`nullswap.train.train_from_overrides` into
``<experiment>/sessions/<session>/`` and records in ``session.json`` the overrides it trains with (when it
starts) and the checkpoint it produced (when it finishes); a session whose recorded (or configured,
``train.checkpoints.<session>=PATH``) checkpoint exists is not trained again, and an interrupted one
(a time limit, a pre-emption, a crash) continues from its last checkpoint (``resume=true``) instead of
starting over.  A session folder holding the checkpoint of another training is never overwritten.
Training only happens when a cell of that session still has to be computed, so a finished table re-runs
without training or measuring anything.

The sessions train on the table's data set folder: ``dataset.root`` is handed to their training as
``data.root`` when they train on the same data set (CelebA-HQ in the paper's setting).  ``train.steps=N``
replaces the training config's length (also the paper's 60 epochs: ``train.epochs=null`` is passed with
it).  In a rehearsal (``rehearsal=true``) the sessions may train against stand-in recognizers.

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
    if train.get("steps") is not None:  # a number of steps, also where the training config counts epochs
        common += [f"train.steps={int(train['steps'])}", "train.epochs=null"]
    common.append(f"seed={int(cfg.get('seed', 0))}")
    dataset = cfg.get("dataset") or {}
    # where the sessions' training data lies: a location, kept out of the cell hash (option "root")
    data_root = dataset.get("root") if train.get("data") and train.get("data") == dataset.get("name") else None
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
        if data_root:
            options["root"] = str(data_root)
        specs.append(ProtectorSpec(name, options, int(cfg.get("seed", 0)), registry="nullswap"))
    return specs


class SessionTrainer:
    """Finds, trains or resumes the checkpoint of each session (at most once per experiment)."""

    def __init__(self, root: Path, train_fn: Callable[[list[str]], Path] | None = None,
                 rehearsal: bool = False) -> None:
        self.root = Path(root)
        self.train_fn = train_fn
        self.rehearsal = rehearsal

    def run_dir(self, session: str) -> Path:
        return self.root / "sessions" / session

    def checkpoint(self, spec: ProtectorSpec) -> Path:
        session, given = spec.options["session"], spec.options.get("session_checkpoint")
        if given:
            path = Path(str(given)).expanduser()
            if not path.is_file():
                raise BenchmarkError(f"train.checkpoints.{session}={given} does not exist")
            return path
        run_dir = self.run_dir(session)
        marker = run_dir / "session.json"
        overrides = [*spec.options["train_overrides"], f"run_dir={run_dir}"]
        last = run_dir / "checkpoints" / "last.pt"
        recorded = json.loads(marker.read_text()) if marker.is_file() else {}
        same = recorded.get("overrides") == overrides
        if same and recorded.get("finished") and Path(recorded.get("checkpoint", "")).is_file():
            log.info("session %s: using its trained checkpoint %s", session, recorded["checkpoint"])
            return Path(recorded["checkpoint"])
        if last.is_file() and not same:
            raise BenchmarkError(
                f"session {session}: {last} was trained with other overrides "
                f"({' '.join(recorded.get('overrides') or ['unrecorded'])}) than this table asks for "
                f"({' '.join(overrides)}); it is not overwritten: move {run_dir} away, or give this table another "
                "experiment name")
        resume = last.is_file()
        extra = [*([f"data.root={spec.options['root']}"] if spec.options.get("root") else []),
                 *(["rehearsal=true"] if self.rehearsal else []), *(["resume=true"] if resume else [])]
        log.info("session %s: %s with %s", session, "resuming its interrupted training" if resume else "training",
                 " ".join([*overrides, *extra]))
        atomic_write_json(marker, {"session": session, "overrides": overrides, "started": now_iso(),
                                   "resumed": resume, "checkpoint": None})
        train_fn = self.train_fn
        if train_fn is None:
            from nullswap.train import train_from_overrides as train_fn
        path = Path(train_fn([*overrides, *extra]))
        if not path.is_file():
            raise BenchmarkError(f"session {session}: training returned {path}, which does not exist")
        atomic_write_json(
            marker,
            {"session": session, "checkpoint": str(path), "overrides": overrides, "finished": now_iso()},
        )
        return path


def session_components(
    root: Path, train_fn: Callable[[list[str]], Path] | None = None, base: Components | None = None,
    rehearsal: bool = False,
) -> Components:
    """Components whose protector factory trains (or finds) a session's checkpoint, then loads NullSwap."""
    trainer = SessionTrainer(root, train_fn, rehearsal)
    components = base or Components()
    build_other = components.build_protector

    def build(spec: ProtectorSpec, device: str | None = None) -> Any:
        if "session" not in spec.options:
            return build_other(spec, device)
        checkpoint = trainer.checkpoint(spec)
        options = {
            k: v
            for k, v in spec.options.items()
            if k not in ("session", "train_overrides", "session_checkpoint", "root")
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
    chosen = session_components(experiment_dir(plain), train_fn, components, bool(plain.get("rehearsal", False)))
    return run(plain, components=chosen, protectors=specs, check_registries=components is None)


main = hydra_main("table5", run_table5, specs=session_specs)

if __name__ == "__main__":
    main()
