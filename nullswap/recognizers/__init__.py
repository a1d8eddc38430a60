"""Face recognizers: ``nullswap.recognizers.load(name)`` gives a ready, frozen model.

Each back end lives in its own module and registers a factory with
:func:`~nullswap.recognizers.registry.register_recognizer` (imported from
:mod:`nullswap.recognizers.registry`, which this package only re-exports).  Back-end modules must import
without their optional libraries (deepface, insightface, TFLite): those are imported inside the
factories, where a missing one becomes a clear error.  Factories resolve their own weights through
:mod:`nullswap.weights`, so a caller never deals with files; a missing file raises
:class:`nullswap.weights.MissingWeightsError` that says how to get it.
"""

from __future__ import annotations

from nullswap.recognizers.base import Recognizer
from nullswap.recognizers.registry import (
    IMPORT_ERRORS,
    REGISTRY,
    available,
    is_known,
    load,
    register_recognizer,
)

__all__ = ["IMPORT_ERRORS", "REGISTRY", "Recognizer", "available", "is_known", "load", "register_recognizer"]
