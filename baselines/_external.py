"""Base class of the protectors that run an upstream system behind the file boundary.

Subclasses name their :class:`~nullswap.upstream.UpstreamSpec`, the resolution of the upstream's
frame and the options their driver understands.  This class owns the frame conversion: canonical
crops are resized to the upstream's square frame and written as PNGs; the driver protects there (in
the upstream's own value range); the *change* it made is upsampled back to our resolution, added to
the clean crop and clamped; and the realised distortion is measured here, in our frame, after uint8
rounding — never read from the upstream's settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch

from baselines._frames import apply_delta, resize
from baselines.base import Protector
from nullswap.images import from_uint8, quantize, to_uint8
from nullswap.upstream import ExternalRunError
from nullswap.upstream.adapter import UpstreamAdapter, package_dirs

#: where the baselines keep their drivers and environment specs (handed to the runner as absolute paths)
DRIVERS_DIR, ENVS_DIR = package_dirs(__file__)


class ExternalProtector(UpstreamAdapter, Protector):
    #: driver modes this adapter accepts (first = default); empty when the driver has one mode
    modes: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        root: str | Path | None = None,
        checkout: str | Path | None = None,
        python: str | Path | None = None,
        mode: str | None = None,
        device: str = "auto",
        seed: int = 0,
        timeout: float = 3600.0,
        chunk: int = 256,
        run_dir: str | Path | None = None,
        check: bool = True,
        record_stats: bool = True,
        accept_unpinned: bool = False,
        **driver_options: object,
    ) -> None:
        """``root``/``checkout``/``python`` locate the upstream (default ``$NULLSWAP_HOME/upstream``);
        ``chunk`` images go to the driver per call (each call loads the model once); ``check`` verifies
        the checkout, environment and weights now, so a missing piece is reported when the protector is
        built rather than in the middle of a table; ``accept_unpinned`` runs a checkout that is not a git
        clone at the pinned commit, recorded as unpinned (see :class:`~nullswap.upstream.ExternalRunner`)."""
        if self.modes:
            mode = mode or self.modes[0]
            if mode not in self.modes:
                raise ValueError(f"{self.name}: unknown mode {mode!r}; choose one of {', '.join(self.modes)}")
        elif mode is not None:
            raise ValueError(f"{self.name} has no modes")
        self.mode = mode
        self.record_stats = bool(record_stats)
        self.setup_upstream(root=root, checkout=checkout, python=python, device=device, seed=seed,
                            timeout=timeout, chunk=chunk, run_dir=run_dir, driver_options=driver_options,
                            accept_unpinned=accept_unpinned)
        self.runner.check_device(device, self.mode)
        if check:
            self.runner.check(self.mode, self.options)

    def to_frame(self, images: torch.Tensor) -> torch.Tensor:
        """Canonical crops → the upstream's frame, on the uint8 grid (exactly what the PNGs hold)."""
        return quantize(resize(images.detach().float(), self.frame_size))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        outputs, stats = [], []
        for start in range(0, len(images), self.chunk):
            clean = images[start : start + self.chunk]
            sent = self.to_frame(clean)
            result = self.runner.run(
                list(to_uint8(sent)),
                self.options,
                timeout=self.timeout,
                seed=self.seed + start,
                device=self.device,
                mode=self.mode,
                run_dir=self.chunk_run_dir(start),
            )
            failed = [item for item in result.items if not item.ok]
            if failed:
                listing = "; ".join(f"{item.id}: {item.message or item.status}" for item in failed[:5])
                raise ExternalRunError(
                    f"{self.name}: {len(failed)} of {len(result.items)} images failed ({listing}); "
                    f"log: {result.log_path}",
                    result.log_path,
                )
            received = from_uint8([item.image for item in result.items])
            if received.shape != sent.shape:
                raise ExternalRunError(
                    f"{self.name}: driver returned images of shape {tuple(received.shape[1:])}, "
                    f"sent {tuple(sent.shape[1:])}; log: {result.log_path}",
                    result.log_path,
                )
            delta = (received - sent).to(device=clean.device)
            outputs.append(quantize(apply_delta(clean.float(), delta)).to(clean.dtype))
            self.note_run(result)
            stats += [{"frame_linf_255": float(delta.abs().amax()) * 255.0}] * len(clean)
        self.forward_stats = stats
        return torch.cat(outputs)

    def describe(self) -> dict[str, object]:
        return {**super().describe(), **self.describe_upstream(self.mode), "mode": self.mode}
