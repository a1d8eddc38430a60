"""What an upstream system is: its repository at a pinned commit, its environment, our driver, its weights.

These are plain, frozen data.  An adapter package (``baselines/``, ``swappers/``) describes each of its
upstreams with one :class:`UpstreamSpec` and gives the absolute paths of the environment spec and the
driver it owns, so this floor never needs to know where the adapter packages live.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

EnvKind = Literal["venv", "conda"]
FetchKind = Literal["url", "zip", "gdrive", "manual"]


@dataclass(frozen=True)
class WeightSpec:
    """One file an upstream checkout must contain before its driver can run.

    ``url`` is where its publisher distributes it; ``fetch`` says how ``benchmarks.setup`` can get it:
    ``url`` (the file itself), ``zip`` (an archive holding it), ``gdrive`` (a Google Drive file or folder,
    through gdown; archives inside are unpacked) or ``manual`` (only instructions can be given).  After a
    download the file is found in the staged tree by its name (``member`` when the archive calls it
    something else).  ``sha256`` is ``None`` where the publisher states none; the runner then records the
    hash it sees first (``weights.lock.json``) and refuses a file that later differs from it.
    """

    path: str
    url: str
    fetch: FetchKind = "manual"
    sha256: str | None = None
    member: str | None = None
    note: str = ""
    #: only some modes of a driver need this file (e.g. DF-RAP's SimSwap mode); names those modes
    modes: tuple[str, ...] = ()
    #: only runs with these driver option values need this file (e.g. ``{"comgan": True}``), so that the
    #: readiness check asks for exactly the files the driver will load
    when: Mapping[str, object] = field(default_factory=dict)

    def needed(self, mode: str | None, options: Mapping[str, object] | None) -> bool:
        """Whether a run in ``mode`` with driver ``options`` loads this file."""
        if self.modes and (mode is None or mode not in self.modes):
            return False
        options = options or {}
        return all(key in options and options[key] == value for key, value in self.when.items())

    def resolved(self, options: Mapping[str, object] | None) -> WeightSpec:
        """This file with ``{option}`` placeholders of its path filled from the driver ``options``
        (e.g. ``{checkpoint}``: the path the driver will really load)."""
        if "{" not in self.path:
            return self
        from dataclasses import replace

        return replace(self, path=self.path.format(**dict(options or {})))


@dataclass(frozen=True)
class UpstreamSpec:
    """Everything needed to run one upstream system behind the file boundary.

    ``env_spec`` and ``driver`` are paths; relative ones are taken relative to the current directory,
    so adapters pass absolute paths built from their own package folder.
    """

    name: str
    repo_url: str
    commit: str
    env_kind: EnvKind
    env_spec: str | Path
    driver: str | Path
    weights: tuple[WeightSpec, ...] = ()
    python_version: str = "3.10"
    licence: str = ""
    notes: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)
    #: environment variables the driver process needs, beyond PATH (the environment's ``bin/`` always
    #: comes first); ``{checkout}``, ``{env}`` and ``{home}`` are replaced by the resolved paths, e.g.
    #: ``{"TORCH_HOME": "{checkout}/pretrained_ckpts/torch_home"}`` for a hub file declared as a weight
    env_vars: Mapping[str, str] = field(default_factory=dict)
    #: the upstream compiles CUDA extensions at import: ``CUDA_HOME`` points at the environment when it
    #: carries its own ``nvcc`` (conda ``cuda-nvcc``), so the build never picks a mismatched system toolkit
    builds_cuda_ops: bool = False
    #: the upstream hard-codes CUDA: ``True`` in every mode, or the names of the modes that do
    requires_cuda: bool | tuple[str, ...] = False

    def needs_cuda(self, mode: str | None = None) -> bool:
        """Whether a run in ``mode`` can only run on a CUDA device (the upstream's code hard-codes it)."""
        if isinstance(self.requires_cuda, bool):
            return self.requires_cuda
        return mode is not None and mode in self.requires_cuda

    @property
    def env_spec_path(self) -> Path:
        return Path(self.env_spec)

    @property
    def driver_path(self) -> Path:
        return Path(self.driver)

    def weights_for(
        self, mode: str | None = None, options: Mapping[str, object] | None = None
    ) -> tuple[WeightSpec, ...]:
        """The weight files a run in ``mode`` with driver ``options`` loads, their paths resolved.

        Files without modes are needed in every mode; files with ``when`` conditions only when the options
        say so (``options=None`` checks the files every run needs, plus those of the defaults' callers)."""
        if options is None:
            return tuple(w for w in self.weights if (not w.modes or (mode is not None and mode in w.modes))
                         and not w.when and "{" not in w.path)
        return tuple(w.resolved(options) for w in self.weights if w.needed(mode, options))
