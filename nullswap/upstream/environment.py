"""Which environment an upstream runs in: its pinned one, a ``modern`` variant, or something else.

An upstream's **pinned** environment is built from its adapter's spec file (the versions its authors used),
in ``<root>/<name>/env``.  Those stacks are old: several have no kernels for the GPUs users have (torch 1.4
with CUDA 10.1 runs on neither an A100 nor an H100).  Where a rehearsal shows the upstream's code running under
torch 2.x, the adapter package also ships a **modern** spec beside the pinned one (``<name>.modern.<ext>``),
built by ``python -m benchmarks.setup NAME --env modern`` into ``<root>/<name>/env-modern``.  A result made in
it is *not* a result of the pinned environment: every environment built by the setup carries a marker
(:data:`MARKER`) saying which variant it is, and adapters copy it into their provenance
(:func:`record`), labelled so whenever it is not the pinned one.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from nullswap.atomic import write_text
from nullswap.upstream.spec import UpstreamSpec

#: the environment variants the setup builds
VARIANTS = ("pinned", "modern")
#: the file, in an environment's root folder, that says which variant it is and from which spec
MARKER = "nullswap-env.json"


def is_project_python(python: str | Path) -> bool:
    """Whether ``python`` is this project's own interpreter (compared as paths, not by following a venv's
    symlink to its base interpreter: another venv is another environment)."""
    return Path(os.path.abspath(python)) == Path(os.path.abspath(sys.executable))


def interpreter(spec: UpstreamSpec, home: Path, variant: str = "pinned") -> Path:
    """The python of ``variant``'s environment of ``spec`` under ``home``; a variant the adapter package ships
    no spec file for is refused (it could not have been built)."""
    if variant != "pinned" and spec_file(spec, variant) is None:
        raise ValueError(f"{spec.name}: no '{variant}' environment variant is provided for this upstream "
                         "(see docs/upstream-environments.md)")
    return env_dir(home, variant) / "bin" / "python"


def env_dir(home: Path, variant: str = "pinned") -> Path:
    """The folder of ``variant``'s environment under an upstream's home folder."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown environment variant {variant!r}: use one of {', '.join(VARIANTS)}")
    return home / ("env" if variant == "pinned" else f"env-{variant}")


def spec_file(spec: UpstreamSpec, variant: str = "pinned") -> Path | None:
    """The spec file of ``variant`` (``None``: this upstream has no such variant)."""
    pinned = spec.env_spec_path
    if variant == "pinned":
        return pinned
    name = pinned.name
    stem, _, ext = name.partition(".")  # infoswap.requirements.txt -> infoswap.modern.requirements.txt
    candidate = pinned.with_name(f"{stem}.{variant}.{ext}")
    return candidate if candidate.is_file() else None


def write_marker(env: Path, variant: str, spec: UpstreamSpec, spec_path: Path) -> Path:
    """Mark the environment ``env`` (its root folder) as ``variant`` built from ``spec_path``."""
    facts = {"variant": variant, "upstream": spec.name, "spec": spec_path.name, "pinned": variant == "pinned"}
    path = env / MARKER
    write_text(path, json.dumps(facts, indent=1, sort_keys=True) + "\n")
    return path


def record(python: str | Path) -> dict[str, Any]:
    """The provenance entry of the environment whose interpreter is ``python``.

    ``variant`` is ``pinned`` or ``modern`` for environments the setup built (its marker), ``project
    interpreter`` when the upstream ran under this project's own python (a rehearsal), else ``unknown`` (an
    environment the user built by hand); ``pinned`` is true only for the pinned environment."""
    python = Path(python)
    if is_project_python(python):
        return {"variant": "project interpreter", "pinned": False, "python": str(python)}
    try:
        facts = json.loads((python.parent.parent / MARKER).read_text())
    except (OSError, ValueError):
        return {"variant": "unknown", "pinned": False, "python": str(python),
                "note": "not built by benchmarks.setup: which versions it holds is not recorded"}
    variant = str(facts.get("variant", "unknown"))
    return {"variant": variant, "pinned": variant == "pinned", "spec": facts.get("spec"), "python": str(python)}


def label(entry: dict[str, Any]) -> str:
    """A short label for a result known to be made outside the pinned environment ("" for the pinned one and
    for an environment built by hand, whose variant is recorded as ``unknown``)."""
    variant = entry.get("variant")
    if entry.get("pinned") or variant == "unknown":
        return ""
    if variant == "project interpreter":
        return "the project's own interpreter, not the pinned environment"
    return f"{variant} environment, not the pinned one"
