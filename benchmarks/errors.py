"""Errors a benchmark command reports to its user as a message, not as a traceback.

Kept apart from the modules that raise them so that every entry point (the table runners, the cluster
submission, the robustness study) can catch the same set without importing one another."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class BenchmarkError(RuntimeError):
    """A user-facing problem with a benchmark run (bad configuration, missing input); the message says what to do."""


class MissingPieces(BenchmarkError):
    """Some cells could not be computed because pieces they need are missing (a baseline's checkout, a
    weight file, a checkpoint); every other cell was computed and the tables rebuilt.  The message names
    every missing piece at once, each with its own instructions (file, sha256, where to get it)."""

    def __init__(self, problems: Mapping[str, str], blocked: int, report: Any = None) -> None:
        self.problems = dict(problems)
        self.blocked = blocked
        self.report = report
        lines = [f"{blocked} cell(s) not computed: {len(self.problems)} missing piece(s) "
                 "(every other cell was computed; run the same command again once they are in place)"]
        for number, (piece, message) in enumerate(self.problems.items(), 1):
            body = str(message).strip().replace("\n", "\n     ")
            lines.append(f"  {number}. {piece}:\n     {body}")
        super().__init__("\n".join(lines))


def user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions whose message is enough for the user: configuration mistakes, missing data sets,
    weight files, assets or upstream checkouts, refused recognizers and stand-ins.  Anything else is a
    bug and keeps its traceback."""
    errors: list[type[BaseException]] = [BenchmarkError, FileNotFoundError, ImportError]
    try:
        from benchmarks.store import RehearsalError
        from nullswap.assets import AssetError
        from nullswap.sanity import RecognizerRefused
        from nullswap.standin import StandInRefused
        from nullswap.upstream.errors import UpstreamNotReady
        from nullswap.weights import MissingWeightsError

        errors += [MissingWeightsError, AssetError, UpstreamNotReady, RecognizerRefused, RehearsalError,
                   StandInRefused]
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)
