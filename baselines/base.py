"""The Protector contract: a defence that turns clean aligned faces into protected ones.

``protect(images)`` takes canonical crops (B, 3, 256, 256), RGB, float [0, 1] and returns protected
crops of the same shape and range.  Every adapter owns its frame: it converts to its upstream's
resolution and value range, protects, and brings the change back to the canonical crop, so the
harness measures distortion and cloaking in one frame for all methods.

The base class owns everything that is the same for every defence, so that an adapter cannot forget
it: :meth:`Protector.protect` checks the input, calls the adapter's :meth:`Protector.forward` (the
algorithm, and the only method an adapter must write), checks that the output is a batch of the same
shape, and records the realised distortion per image in ``last_stats`` (measured here, on the uint8
images, never taken from a method's own settings).

One bad image never costs its neighbours, and a broken output is never taken for a protection.  Each
image of a call gets a status in ``last_status`` (``"ok"`` or ``"failed"``) and a message in
``last_messages``: an image fails when ``forward`` reports it failed (``forward_failures``: an
upstream driver that raised on it, say), when its output is not finite or leaves [0, 1], or when its
realised change breaks the bound the method promises (:meth:`Protector.promised_linf`, or an adapter's
own :meth:`Protector.promise_violations`) — with the numbers in the message.  A failed image comes back
as its clean crop, so shapes hold; callers must read ``last_status`` and never count it as protected.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any, ClassVar, Literal

import torch

from baselines._frames import measure

ThreatModel = Literal["white-box", "grey-box", "black-box", "none"]
Kind = Literal["generator", "universal", "iterative", "noise", "identity"]

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
#: the statuses an image can have after :meth:`Protector.protect`
OK, FAILED = "ok", "failed"
#: float slack when a realised change is compared with a promised bound (the bound itself includes rounding)
BOUND_SLACK = 1e-5


class Protector:
    """Base class; subclasses set the class attributes and implement :meth:`forward`."""

    name: ClassVar[str] = "protector"
    #: what the defence sees of the face swapper / recognizer it is judged against (paper's Table 2 row)
    threat_model: ClassVar[ThreatModel] = "none"
    kind: ClassVar[Kind] = "identity"
    #: measure every output into ``last_stats`` (an adapter's ``record_stats=`` option sets it per object)
    record_stats: bool = True
    #: one dict per image of the last :meth:`protect` call: ``linf_255``, ``psnr``, ``ssim`` and whatever
    #: the adapter's :meth:`forward` put in ``forward_stats``
    last_stats: Sequence[dict[str, Any]] = ()
    #: per-image facts :meth:`forward` may report (merged into ``last_stats``); reset before each call
    forward_stats: Sequence[Mapping[str, Any]] = ()
    #: images :meth:`forward` could not protect, by index in the batch, with the reason; reset before each call
    forward_failures: MutableMapping[int, str]
    #: per image of the last :meth:`protect` call: ``"ok"`` or ``"failed"`` (a failed image is its clean crop)
    last_status: Sequence[str] = ()
    #: per image of the last :meth:`protect` call: ``""`` when ok, else why it failed
    last_messages: Sequence[str] = ()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """The defence itself: checked (B, 3, H, W) crops in [0, 1] → protected crops, same shape and range.

        An image it cannot protect goes into ``self.forward_failures[index] = "why"`` (its output there is
        ignored and replaced by the clean crop); an exception fails the whole call."""
        raise NotImplementedError

    def promised_linf(self) -> float | None:
        """The largest per-pixel change the method promises on the crops :meth:`forward` returns, in [0, 1]
        units and including the adapter's own rounding; ``None`` when it promises no L∞ bound there
        (adapters that promise something else override :meth:`promise_violations`)."""
        return None

    def promise_violations(self, clean: torch.Tensor, protected: torch.Tensor) -> dict[int, str]:
        """Per image (index → why), outputs whose realised change breaks what the method promises."""
        bound = self.promised_linf()
        if bound is None or clean.numel() == 0:
            return {}
        change = (protected.double() - clean.double()).abs().flatten(1).amax(dim=1)
        return {
            i: f"change {float(c):.6f} ({float(c) * 255:.2f}/255) exceeds the {bound:.6f} "
            f"({bound * 255:.2f}/255) the method promises"
            for i, c in enumerate(change)
            if float(c) > bound + BOUND_SLACK
        }

    def protect(self, images: torch.Tensor) -> torch.Tensor:
        """Check ``images``, run :meth:`forward`, check each image's output, record status and distortion."""
        self.check_images(images)
        self.forward_stats = []
        self.forward_failures = {}
        protected = self.forward(images)
        self.check_output(images, protected)
        failures = {int(i): str(m) for i, m in self.forward_failures.items()}
        for index, problem in self.output_problems(protected).items():
            failures.setdefault(index, problem)
        usable = [i for i in range(len(images)) if i not in failures]
        if usable:
            for index, problem in self.promise_violations(images[usable], protected[usable]).items():
                failures.setdefault(usable[index], problem)
        if failures:
            protected = protected.clone()
            for index in failures:
                protected[index] = images[index].to(protected.dtype)
        self.last_status = [FAILED if i in failures else OK for i in range(len(images))]
        self.last_messages = [failures.get(i, "") for i in range(len(images))]
        if self.record_stats:
            rows = measure(images, protected)
            if len(self.forward_stats) == len(rows):
                rows = [{**row, **extra} for row, extra in zip(rows, self.forward_stats)]
            self.last_stats = [{**row, "status": status} for row, status in zip(rows, self.last_status)]
        return protected

    def describe(self) -> dict[str, object]:
        """Facts recorded in the provenance of every result produced with this protector."""
        return {"name": self.name, "threat_model": self.threat_model, "kind": self.kind}

    @staticmethod
    def check_images(images: torch.Tensor) -> None:
        """Inputs must be a float (B, 3, H, W) RGB batch."""
        if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
            shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"expected (B, 3, H, W) RGB crops, got {shape}")
        if images.dtype not in FLOAT_DTYPES:
            raise ValueError(f"expected float images in [0, 1], got {images.dtype}")

    def check_output(self, images: torch.Tensor, protected: torch.Tensor) -> None:
        """A defence hands back exactly one crop per input, of the input's shape (else the call fails:
        a batch of the wrong shape is a broken adapter, not a bad image)."""
        if not isinstance(protected, torch.Tensor) or protected.shape != images.shape:
            shape = tuple(protected.shape) if isinstance(protected, torch.Tensor) else type(protected).__name__
            raise ValueError(f"{self.name}: returned {shape} for input {tuple(images.shape)}")

    def output_problems(self, protected: torch.Tensor) -> dict[int, str]:
        """Per image (index → why), outputs that are not finite or leave [0, 1]."""
        problems: dict[int, str] = {}
        for index, image in enumerate(protected):
            finite = torch.isfinite(image)
            if not bool(finite.all()):
                bad = int((~finite).sum())
                problems[index] = f"{self.name}: returned {bad} NaN or infinite pixel values of {image.numel()}"
            elif image.numel() and (float(image.min()) < 0.0 or float(image.max()) > 1.0):
                problems[index] = (f"{self.name}: returned pixel values outside [0, 1] "
                                   f"({float(image.min()):.4f} … {float(image.max()):.4f})")
        return problems
