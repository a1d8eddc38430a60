"""What every adapter of an upstream system shares, whether it protects faces or swaps them.

An adapter (``baselines._external.ExternalProtector``, ``swappers._external.ExternalSwapper``) names its
:class:`~nullswap.upstream.UpstreamSpec`, the side of the square frame it exchanges with the driver, and
its driver's options with their defaults (``default_options``, declared once beside the class).  This
mixin holds the rest: locating and checking the upstream, the run settings (device, seed, timeout,
chunk size, run folder), validating the driver options, the per-chunk run folder and the provenance.
What the images go through before and after the driver stays in the adapter package.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from nullswap.upstream import environment as upstream_env
from nullswap.upstream.layout import UpstreamLayout
from nullswap.upstream.runner import ExternalResult, ExternalRunner
from nullswap.upstream.spec import UpstreamSpec


def package_dirs(package_file: str) -> tuple[Path, Path]:
    """``(drivers, envs)``: the absolute folders beside an adapter package's ``__init__``/module file."""
    here = Path(package_file).resolve().parent
    return here / "drivers", here / "envs"


class UpstreamAdapter:
    """Mixin for an adapter that runs an upstream behind the file boundary (see the module docstring)."""

    name: ClassVar[str]
    spec: ClassVar[UpstreamSpec]
    #: side of the square images sent to and received from the driver
    frame_size: ClassVar[int] = 256
    #: the driver's options and their defaults (a config file or a run overrides them)
    default_options: ClassVar[Mapping[str, object]] = {}

    def setup_upstream(
        self,
        *,
        root: str | Path | None,
        checkout: str | Path | None,
        python: str | Path | None,
        device: str,
        seed: int,
        timeout: float,
        chunk: int,
        run_dir: str | Path | None,
        driver_options: Mapping[str, object],
        accept_unpinned: bool = False,
        environment: str = "pinned",
    ) -> None:
        """Store the run settings, validate the driver options and build the runner (not yet checked).

        ``environment`` picks the variant ``python -m benchmarks.setup NAME [--env modern]`` built (an
        explicit ``python`` wins); what the driver really ran in is recorded by :meth:`describe_upstream`."""
        if python is None and environment != "pinned":
            home = UpstreamLayout.resolve(self.spec.name, root, checkout=checkout).home
            python = upstream_env.interpreter(self.spec, home, environment)
        self.device = device
        self.seed = int(seed)
        self.timeout = float(timeout)
        self.chunk = max(1, int(chunk))
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.options = self.validate_options(dict(driver_options))
        self.runner = ExternalRunner(
            self.spec, root, checkout=checkout, python=python, accept_unpinned=accept_unpinned
        )
        self.last_info: dict[str, object] = {}

    def validate_options(self, options: dict[str, object]) -> dict[str, object]:
        """The defaults completed with ``options``; an option the driver does not know is refused."""
        allowed = set(self.default_options)
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise TypeError(
                f"{self.name}: unknown option(s) {', '.join(unknown)}; "
                f"accepted: {', '.join(sorted(allowed)) or 'none'}"
            )
        return {**copy.deepcopy(dict(self.default_options)), **options}

    def chunk_run_dir(self, start: int) -> Path | None:
        """The run folder of the chunk that begins at image ``start`` (``None``: the runner picks one)."""
        return None if self.run_dir is None else self.run_dir / f"chunk{start // self.chunk:04d}"

    def note_run(self, result: ExternalResult) -> None:
        """Keep what the last driver run reported (its info, folder and duration) in ``last_info``."""
        self.last_info = {**result.info, "run_dir": str(result.run_dir), "seconds": result.seconds}

    def describe_upstream(self, mode: str | None = None) -> dict[str, object]:
        """Provenance of the upstream: where it comes from, which commit (pinned or not, as found), licence,
        frame, options, the environment it ran in (pinned, modern, the project's own interpreter), and any
        stand-in weights (which make every result a rehearsal)."""
        spec = self.spec
        return {
            "upstream": spec.repo_url,
            "commit": spec.commit,
            "licence": spec.licence,
            "frame_size": self.frame_size,
            "options": dict(self.options),
            "seed": self.seed,
            "checkout": str(self.runner.checkout),
            "environment": upstream_env.record(self.runner.python),
            **self.runner.describe(mode, self.options),
        }
