"""Face-recognizer registry: ``nullswap.recognizers.load(name)`` gives a ready, frozen model.

Each back end lives in its own module and registers a factory with :func:`register_recognizer`.
Back-end modules must import without their optional libraries (deepface, insightface, TFLite): those
are imported inside the factories, where a missing one becomes a clear error.  Factories resolve their
own weights through :mod:`nullswap.weights`, so a caller never deals with files; a missing file raises
:class:`nullswap.weights.MissingWeightsError` that says how to get it.
"""

from __future__ import annotations

from nullswap.recognizers.base import Recognizer
from nullswap.registry import Registry

REGISTRY: Registry[Recognizer] = Registry("recognizer", __name__)
register_recognizer = REGISTRY.register
#: back-end modules that failed to import, with the error (reported by :func:`load`)
IMPORT_ERRORS = REGISTRY.import_errors


def available() -> list[str]:
    """Names of every registered recognizer (whether or not its weights are present)."""
    return REGISTRY.available()


def is_known(name: str) -> bool:
    """Whether ``name`` is a registered recognizer, or one evaluated through re-detection."""
    from nullswap.recognizers.redetect import SUFFIX

    return name.removesuffix(SUFFIX) in REGISTRY.available()


def load(name: str, device: str | None = None, **kwargs: object) -> Recognizer:
    """Build recognizer ``name`` with its weights, in eval mode, parameters frozen.

    ``"<name>@redetect"`` evaluates ``<name>`` through re-detection and re-alignment of every crop
    (:mod:`nullswap.recognizers.redetect`)."""
    from nullswap.recognizers.redetect import SUFFIX, Redetected

    if name.endswith(SUFFIX):
        model: Recognizer = Redetected(load(name[: -len(SUFFIX)], **kwargs))
    else:
        model = REGISTRY.get(name)(**kwargs)
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    if device is not None:
        model.to(device)
    return model


__all__ = ["REGISTRY", "Recognizer", "available", "is_known", "load", "register_recognizer"]
