"""Base class of the face swappers that run an upstream system behind the file boundary.

Subclasses name their :class:`~nullswap.upstream.UpstreamSpec` (built with this package's
``DRIVERS_DIR`` / ``ENVS_DIR``), the side of the square images exchanged with the driver
(``frame_size``: the canonical crop, FFHQ/CelebA-HQ framing, resized to the resolution the upstream's
own alignment works from) and the options their driver understands.  The driver runs the upstream's own
detection, alignment, swap and paste-back on each (source, target) pair and reports ``ok``, ``no_face``
or ``failed`` per pair; results come back at the frame size and are resized to the canonical crop.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F

from nullswap.images import from_uint8, to_uint8
from nullswap.upstream import environment as upstream_env
from nullswap.upstream.adapter import UpstreamAdapter, package_dirs
from swappers.base import STATUSES, Swapper, SwapResult

#: where the swappers keep their drivers and environment specs (handed to the runner as absolute paths)
DRIVERS_DIR, ENVS_DIR = package_dirs(__file__)


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Square resize with antialiasing (bicubic up, area-like down), clamped to [0, 1]."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)


class ExternalSwapper(UpstreamAdapter, Swapper):
    #: what the upstream does with the frame (its own alignment), for tables and provenance
    frame: ClassVar[str] = ""

    def __init__(
        self,
        *,
        root: str | Path | None = None,
        checkout: str | Path | None = None,
        python: str | Path | None = None,
        device: str = "auto",
        seed: int = 0,
        timeout: float = 3600.0,
        chunk: int = 64,
        run_dir: str | Path | None = None,
        check: bool = True,
        accept_unpinned: bool = False,
        environment: str = "pinned",
        **driver_options: object,
    ) -> None:
        """``root``/``checkout``/``python`` locate the upstream (default ``$NULLSWAP_HOME/upstream``);
        ``environment="modern"`` runs it in the modern variant that ``python -m benchmarks.setup NAME --env
        modern`` builds (results are then labelled as not made in the pinned environment); ``chunk`` pairs go
        to the driver per call (each call loads the models once); ``check`` verifies the checkout, environment
        and weights now, so a missing piece is reported before a table starts."""
        self.setup_upstream(root=root, checkout=checkout, python=python, device=device, seed=seed,
                            timeout=timeout, chunk=chunk, run_dir=run_dir, driver_options=driver_options,
                            accept_unpinned=accept_unpinned, environment=environment)
        if check:
            self.runner.check(None, self.options, device=device)
        else:
            self.runner.check_device(device)

    def forward(self, sources: torch.Tensor, targets: torch.Tensor) -> SwapResult:
        size = sources.shape[-1]
        images, status, messages = [], [], []
        for start in range(0, len(sources), self.chunk):
            src = to_uint8(resize(sources[start : start + self.chunk].detach().float().cpu(), self.frame_size))
            tgt = to_uint8(resize(targets[start : start + self.chunk].detach().float().cpu(), self.frame_size))
            result = self.runner.run(
                list(src), self.options, targets=list(tgt), timeout=self.timeout, seed=self.seed + start,
                device=self.device, run_dir=self.chunk_run_dir(start),
            )
            for item in result.items:
                state = item.status if item.status in STATUSES else "failed"
                if state == "ok" and not item.ok:
                    state = "failed"
                status.append(state)
                messages.append(item.message or ("" if state == "ok" else item.status))
                if state == "ok":
                    images.append(resize(from_uint8([item.image]), size)[0])
                else:
                    images.append(torch.zeros(3, size, size))
            self.note_run(result)
        return SwapResult(torch.stack(images), status, messages)

    def describe(self) -> dict[str, object]:
        """Provenance: the adapter, its upstream (commit, pin, stand-ins) and the environment it ran in; a run
        outside the pinned environment says so in its ``kind``, which Table 3 prints under its rows."""
        described = {**super().describe(), **self.describe_upstream(), "frame": self.frame}
        label = upstream_env.label(described["environment"])
        if label:
            described["kind"] = f"{described.get('kind', self.kind)} [{label}]"
        return described
