"""What a table column or row is: a protector or a recognizer by name, options and seed.

A spec's :meth:`config` is what identifies its results: cache files and cell hashes are derived from it,
so options that only change logging or placement are left out of it, and files an option names count
by their content."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.protector_options import FILE_OPTIONS, complete_options
from benchmarks.store import config_hash

CLEAN = "clean"
#: protector/recognizer options that cannot change a result (logging, placement of an upstream checkout,
#: how work is split between driver calls); kept out of cache and cell hashes
NON_SEMANTIC_OPTIONS = frozenset({
    "progress", "record_stats", "verbose", "device", "threads",
    "root", "checkout", "python", "timeout", "chunk", "check", "run_dir", "accept_unpinned",
})


@functools.lru_cache(maxsize=64)
def _file_digest_cached(path: str, size: int, mtime_ns: int) -> str:
    from nullswap.assets import sha256_of

    return sha256_of(Path(path))


def _file_digest(path: str) -> str:
    stat = Path(path).stat()
    return _file_digest_cached(path, stat.st_size, stat.st_mtime_ns)


def semantic_options(registry: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options that identify a protector's output: complete (its class's declared defaults under
    ``options``), less those that cannot change a result."""
    return {k: v for k, v in complete_options(registry, options).items() if k not in NON_SEMANTIC_OPTIONS}


def without_digested_paths(options: Mapping[str, Any], digests: Mapping[str, str]) -> dict[str, Any]:
    """``options`` less the file paths that ``digests`` stands for: a file counts by its content, so the same
    checkpoint in another clone, home folder or cluster mount identifies the same cells (its path is in
    each cell's provenance, under the protector's description)."""
    return {k: v for k, v in options.items() if k not in digests}


def canonical_protector_config(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A protector config as an older :meth:`ProtectorSpec.config` wrote it, in today's form.

    Only the options change (completed with the declared defaults the adapter ran with, less the paths of
    files counted by their digest); the digests stay as measured then.  Used to re-key old cells
    (``python -m benchmarks.tools.migrate_cells``)."""
    options = semantic_options(str(stored.get("registry") or stored["name"]), stored.get("options") or {})
    return {**stored, "options": without_digested_paths(options, stored.get("file_sha256") or {})}


@dataclass(frozen=True)
class ProtectorSpec:
    """One protector column: ``name`` (the column), ``registry`` (what :func:`baselines.load` builds)."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    registry: str | None = None

    @property
    def is_clean(self) -> bool:
        return (self.registry or self.name) == CLEAN

    def config(self) -> dict[str, Any]:
        """What identifies the protected images: options that only change logging or placement are left out,
        and files the protector reads (a checkpoint, a perturbation) count by content, not by path —
        retraining into the same path makes new cells, the same file elsewhere finds the same ones.
        Options are complete (the class's declared defaults under the spec's own), so spelling a default
        out or leaving it to the class is the same."""
        options = semantic_options(self.registry or self.name, self.options)
        digests = {k: _file_digest(str(v)) for k, v in options.items()
                   if k in FILE_OPTIONS and v and Path(str(v)).is_file()}
        config: dict[str, Any] = {
            "name": self.name,
            "registry": self.registry or self.name,
            "options": without_digested_paths(options, digests),
            "seed": self.seed,
        }
        if digests:
            config["file_sha256"] = digests
        return config

    @property
    def tag(self) -> str:
        return f"{self.name}-{config_hash(self.config())}"


@dataclass(frozen=True)
class RecognizerSpec:
    """One recognizer row: registry name and options."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "options": {k: v for k, v in self.options.items() if k not in NON_SEMANTIC_OPTIONS},
        }

    @property
    def tag(self) -> str:
        return f"{self.name}-{config_hash(self.config())}"
