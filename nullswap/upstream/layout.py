"""Where an upstream's pieces live on disk, and how a user points the harness at their own copies.

Layout under ``root`` (default ``$NULLSWAP_HOME/upstream``)::

    <root>/<name>/checkout/           git clone at the pinned commit (weights inside, as upstream expects)
    <root>/<name>/env/bin/python      the venv or conda prefix built from the env spec
    <root>/<name>/weights.lock.json   sha256 of weights first seen (publishers state none)
    <root>/<name>/runs/<stamp>/       request.json, status.json, driver.log of each run
    <root>/<name>/downloads/          staging folder of ``benchmarks.setup``

``NULLSWAP_UPSTREAM_<NAME>_CHECKOUT`` and ``..._PYTHON`` (or explicit arguments) override the first
two, for users who already have a clone and an environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nullswap.assets import cache_root


def upstream_root() -> Path:
    """Where checkouts, environments and run logs live: ``$NULLSWAP_HOME/upstream``."""
    return cache_root() / "upstream"


def env_override_name(name: str, what: str) -> str:
    """The environment variable that overrides ``what`` (CHECKOUT or PYTHON) of upstream ``name``."""
    return f"NULLSWAP_UPSTREAM_{name.upper().replace('-', '_')}_{what}"


def _env_override(name: str, what: str) -> Path | None:
    value = os.environ.get(env_override_name(name, what))
    return Path(value).expanduser() if value else None


@dataclass(frozen=True)
class UpstreamLayout:
    """The resolved paths of one upstream."""

    home: Path
    checkout: Path
    python: Path

    @property
    def lock_path(self) -> Path:
        return self.home / "weights.lock.json"

    @property
    def runs(self) -> Path:
        return self.home / "runs"

    @property
    def downloads(self) -> Path:
        return self.home / "downloads"

    @property
    def env_dir(self) -> Path:
        return self.python.parent.parent

    @classmethod
    def resolve(
        cls,
        name: str,
        root: str | Path | None = None,
        *,
        checkout: str | Path | None = None,
        python: str | Path | None = None,
    ) -> UpstreamLayout:
        home = (Path(root).expanduser() if root is not None else upstream_root()) / name
        return cls(
            home=home,
            checkout=Path(checkout).expanduser()
            if checkout
            else (_env_override(name, "CHECKOUT") or home / "checkout"),
            python=Path(python).expanduser()
            if python
            else (_env_override(name, "PYTHON") or home / "env" / "bin" / "python"),
        )
