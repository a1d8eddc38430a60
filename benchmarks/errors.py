"""Errors a benchmark command reports to its user as a message, not as a traceback.

Kept apart from the modules that raise them so that every entry point (the table runners, the cluster
submission, the robustness study) can catch the same set without importing one another."""

from __future__ import annotations


class BenchmarkError(RuntimeError):
    """A user-facing problem with a benchmark run (bad configuration, missing input); the message says what to do."""


def user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions whose message is enough for the user: configuration mistakes, missing data sets,
    weight files or assets.  Anything else is a bug and keeps its traceback."""
    errors: list[type[BaseException]] = [BenchmarkError, FileNotFoundError, ImportError]
    try:
        from nullswap.assets import AssetError
        from nullswap.weights import MissingWeightsError

        errors += [MissingWeightsError, AssetError]
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)
