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

    @property
    def env_spec_path(self) -> Path:
        return Path(self.env_spec)

    @property
    def driver_path(self) -> Path:
        return Path(self.driver)

    def weights_for(self, mode: str | None = None) -> tuple[WeightSpec, ...]:
        """The weight files a run in ``mode`` needs (files without modes are always needed)."""
        return tuple(w for w in self.weights if not w.modes or (mode is not None and mode in w.modes))
