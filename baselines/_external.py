"""Base class of the protectors that run an upstream system behind the file boundary.

Subclasses name their :class:`~nullswap.upstream.UpstreamSpec`, the resolution of the upstream's
frame and the options their driver understands.  This class owns the frame conversion: canonical
crops are resized to the upstream's square frame and written as PNGs; the driver protects there (in
the upstream's own value range); the *change* it made is upsampled back to our resolution, added to
the clean crop and clamped; and the realised distortion is measured here, in our frame, after uint8
rounding — never read from the upstream's settings.

Each image's outcome is its own: the driver reports a status per image (its work on each image, or
batch, runs inside ``drv.guard``), an image the driver failed comes back as its clean crop with the
driver's message in ``last_messages``, and an image whose change in the frame breaks the bound the
method promises (:meth:`ExternalProtector.frame_bound`) fails with the numbers instead of being accepted.
Only a run that fails as a whole (the models do not load) raises.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch

from baselines._frames import apply_delta, resize
from baselines.base import BOUND_SLACK, Protector
from nullswap.images import from_uint8, quantize, to_uint8
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
        environment: str = "pinned",
        **driver_options: object,
    ) -> None:
        """``root``/``checkout``/``python`` locate the upstream (default ``$NULLSWAP_HOME/upstream``);
        ``chunk`` images go to the driver per call (each call loads the model once); ``check`` verifies
        the checkout, environment and weights now, so a missing piece is reported when the protector is
        built rather than in the middle of a table; ``accept_unpinned`` runs a checkout that is not a git
        clone at the pinned commit, recorded as unpinned (see :class:`~nullswap.upstream.ExternalRunner`);
        ``environment="modern"`` runs it in the modern variant (e.g. DF-RAP on Hopper GPUs), recorded as not
        the pinned environment."""
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
                            accept_unpinned=accept_unpinned, environment=environment)
        if check:
            self.runner.check(self.mode, self.options, device=device)
        else:
            self.runner.check_device(device, self.mode)

    def to_frame(self, images: torch.Tensor) -> torch.Tensor:
        """Canonical crops → the upstream's frame, on the uint8 grid (exactly what the PNGs hold)."""
        return quantize(resize(images.detach().float(), self.frame_size))

    def frame_bound(self) -> tuple[float, str] | None:
        """``(bound, what)``: the largest change per pixel the method promises in its frame, in [0, 1] units
        before the driver's uint8 rounding, and how the method states it; ``None`` when its promise is not
        an L∞ bound on RGB (its driver then checks what the method does promise)."""
        return None

    def frame_violations(self, sent: torch.Tensor, received: torch.Tensor) -> dict[int, str]:
        """Per image (index → why), driver outputs whose change in the frame breaks :meth:`frame_bound`
        (half a uint8 step of the driver's rounding allowed on top)."""
        declared = self.frame_bound()
        if declared is None or sent.numel() == 0:
            return {}
        bound, what = declared
        limit = bound + 0.5 / 255.0 + BOUND_SLACK
        change = (received.double() - sent.double()).abs().flatten(1).amax(dim=1)
        return {
            i: f"{self.name}: change {float(c) * 255:.2f}/255 in its {self.frame_size}px frame exceeds the "
            f"{bound * 255:.2f}/255 (+0.5 rounding) it promises ({what})"
            for i, c in enumerate(change)
            if float(c) > limit
        }

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Send each chunk to the driver; an image the driver failed, or whose change breaks the method's
        bound, is reported in ``forward_failures`` and comes back clean, the others as protected."""
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
            self.note_run(result)
            received = sent.clone()
            for index, item in enumerate(result.items):
                if not item.ok:
                    message = item.message or item.status
                    self.forward_failures[start + index] = (
                        f"{self.name}: {item.status}: {message} (log: {result.log_path})"
                    )
                    continue
                image = from_uint8([item.image])[0]
                if image.shape != sent.shape[1:]:
                    self.forward_failures[start + index] = (
                        f"{self.name}: driver returned an image of shape {tuple(image.shape)}, sent "
                        f"{tuple(sent.shape[1:])} (log: {result.log_path})"
                    )
                    continue
                received[index] = image
            for index, problem in self.frame_violations(sent, received).items():
                self.forward_failures.setdefault(start + index, f"{problem} (log: {result.log_path})")
            delta = (received - sent).to(device=clean.device)
            for index in range(len(clean)):
                if start + index in self.forward_failures:
                    delta[index] = 0.0
            outputs.append(quantize(apply_delta(clean.float(), delta)).to(clean.dtype))
            stats += [{"frame_linf_255": float(d.abs().amax()) * 255.0} for d in delta]
        self.forward_stats = stats
        return torch.cat(outputs)

    def describe(self) -> dict[str, object]:
        """Provenance: the upstream (pin, stand-ins, the environment the driver ran in) and the mode."""
        return {**super().describe(), **self.describe_upstream(self.mode), "mode": self.mode}
