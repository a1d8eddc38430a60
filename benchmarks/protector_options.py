"""What the harness knows about protector options beyond their names: which name a file whose content
determines the protected images, which defaults are only known at run time, and what a NullSwap
checkpoint was trained on.

Kept in one place so that the planner, the cell hashes and the one-off studies agree on it, and so that
the one protector with a run-time default (NullSwap's checkpoint) is named here and nowhere else.  That
default (``$NULLSWAP_CHECKPOINT``, else the committed offline generator, else the demo's) is never used in
the paper's setting: a table that claims the paper's setting measures a checkpoint the user names."""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from baselines._config import declared_defaults, protector_options
from benchmarks.errors import BenchmarkError
from nullswap import standin

#: protector options that name a file whose content determines the protected images
FILE_OPTIONS = ("checkpoint", "perturbation_path")


def _nullswap_checkpoint() -> str:
    from nullswap.protect import default_checkpoint

    return str(default_checkpoint())


#: protector -> (option, what it defaults to when left unset): resolved before hashing, so the cell hash
#: names the file that was measured
RUNTIME_DEFAULTS: dict[str, tuple[str, Callable[[], Any]]] = {
    "nullswap": ("checkpoint", _nullswap_checkpoint),
    "nullswap-refine": ("checkpoint", _nullswap_checkpoint),
}


def complete_options(registry: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Every option protector ``registry`` runs with: its class's declared defaults, then ``options``.

    This, not the options a run happened to spell out, is what identifies its results: a default left
    out of a config file and the same value written into it make the same cells."""
    return {**declared_defaults(registry), **dict(options)}


def resolved_protector_options(name: str, overrides: Mapping[str, Any] | None,
                               setting: str | None = None) -> dict[str, Any]:
    """The protector's config file (``nullswap/conf/protector/<name>.yaml``) updated with the run's overrides.

    NullSwap's unset checkpoint becomes the path its protector would use (``$NULLSWAP_CHECKPOINT``, the
    committed offline generator or the demo's), so the cell hash names the checkpoint that was measured —
    except in the paper's setting (``setting="paper"``), where it stays unset and the column is reported
    as missing its checkpoint (:func:`checkpoint_problem`) instead of silently measuring the offline one."""
    options = protector_options(name, overrides)
    if name in RUNTIME_DEFAULTS:
        option, default = RUNTIME_DEFAULTS[name]
        if not options.get(option):
            options[option] = None if setting == "paper" else default()
    return options


class Configured(Protocol):
    """A protector column as far as its options go (a :class:`benchmarks.specs.ProtectorSpec`)."""

    @property
    def name(self) -> str: ...

    @property
    def options(self) -> Mapping[str, Any]: ...


def checkpoint_problem(spec: Configured) -> str | None:
    """What is wrong with the file a protector option named ``checkpoint`` names (None: nothing)."""
    if "checkpoint" not in spec.options:
        return None
    path = spec.options["checkpoint"]
    if not path:
        return (f"protector '{spec.name}': no checkpoint given; the paper's setting measures a NullSwap trained "
                f"in it: train one (python -m nullswap.train experiment=paper) and pass "
                f"protector_options.{spec.name}.checkpoint=PATH (the offline generator, trained against dlib and "
                "SFace on registry faces, is never put in its place silently)")
    if not Path(str(path)).expanduser().is_file():
        return (f"protector '{spec.name}': checkpoint {path} does not exist; pass "
                f"protector_options.{spec.name}.checkpoint=PATH (or set NULLSWAP_CHECKPOINT), "
                "or train one with `make demo` / python -m nullswap.train")
    return None


def check_checkpoints(specs: Iterable[Configured]) -> None:
    """A protector option named ``checkpoint`` must name an existing file before any work starts."""
    for spec in specs:
        problem = checkpoint_problem(spec)
        if problem:
            raise BenchmarkError(problem)


def checkpoint_training(path: str | Path) -> dict[str, Any]:
    """What the NullSwap checkpoint at ``path`` was trained on, as its training recorded it: recognizers,
    steps done, batch size, resolution, data set and split (with its size), perceptual loss, identity-loss
    weighting, and the status of every weight file it trained with (stand-ins included, so a generator
    trained against random recognizers makes rehearsal results only)."""
    from nullswap.checkpoint import training_facts

    return training_facts(path)


def with_file_facts(described: Mapping[str, Any]) -> dict[str, Any]:
    """A protector's description plus what the files it names are: ``training`` when it names a NullSwap
    checkpoint (the checkpoint's training facts), and ``file_standins`` for any file (a checkpoint, a
    perturbation) marked as a stand-in, so every result made with it is a rehearsal result."""
    out = dict(described)
    for option in FILE_OPTIONS:
        path = out.get(option)
        if not path or not Path(str(path)).is_file():
            continue
        marker = standin.read(path) if standin.marker_path(path).is_file() else None
        if marker is not None:
            out.setdefault("file_standins", {})[option] = standin.record(path, marker)
        if option == "checkpoint" and "training" not in out:
            # a file that is not a NullSwap checkpoint has no training facts to add
            with contextlib.suppress(ValueError, KeyError, RuntimeError, OSError, pickle.UnpicklingError):
                out["training"] = checkpoint_training(path)
    return out
