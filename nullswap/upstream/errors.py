"""The errors of the upstream runner; each message is meant to be read by the user as it is."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class ExternalRunError(RuntimeError):
    """An upstream driver failed; the message carries the tail of its log and where the log is."""

    def __init__(self, message: str, log_path: Path | None = None, tail: str = "") -> None:
        super().__init__(message)
        self.log_path = log_path
        self.tail = tail


class ExternalTimeout(ExternalRunError):
    """The driver ran past its timeout; its whole process group was killed."""


class UpstreamNotReady(ExternalRunError):
    """The checkout, environment or weights are missing; the message lists each problem and the fix."""

    def __init__(self, message: str, problems: Sequence[str]) -> None:
        super().__init__(message)
        self.problems = list(problems)


class MissingUpstreamWeights(UpstreamNotReady):
    """The checkout and environment exist but weight files are missing (the weights boundary)."""
