"""What the harness knows about protector options beyond their names: which name a file whose content
determines the protected images, and which defaults are only known at run time.

Kept in one place so that the planner, the cell hashes and the one-off studies agree on it, and so that
the one protector with a run-time default (NullSwap's checkpoint) is named here and nowhere else."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from baselines._config import declared_defaults, protector_options
from benchmarks.errors import BenchmarkError

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


def resolved_protector_options(name: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """The protector's config file (``nullswap/conf/protector/<name>.yaml``) updated with the run's overrides.

    NullSwap's unset checkpoint becomes the path its protector would use (``$NULLSWAP_CHECKPOINT`` or the
    demo's), so the cell hash names the checkpoint that was measured."""
    options = protector_options(name, overrides)
    if name in RUNTIME_DEFAULTS:
        option, default = RUNTIME_DEFAULTS[name]
        if not options.get(option):
            options[option] = default()
    return options


class Configured(Protocol):
    """A protector column as far as its options go (a :class:`benchmarks.specs.ProtectorSpec`)."""

    @property
    def name(self) -> str: ...

    @property
    def options(self) -> Mapping[str, Any]: ...


def check_checkpoints(specs: Iterable[Configured]) -> None:
    """A protector option named ``checkpoint`` must name an existing file before any work starts."""
    for spec in specs:
        if "checkpoint" not in spec.options:
            continue
        path = spec.options["checkpoint"]
        if not path or not Path(str(path)).expanduser().is_file():
            raise BenchmarkError(
                f"protector '{spec.name}': checkpoint {path or '(none)'} does not exist; pass "
                f"protector_options.{spec.name}.checkpoint=PATH (or set NULLSWAP_CHECKPOINT), "
                "or train one with `make demo` / python -m nullswap.train"
            )
