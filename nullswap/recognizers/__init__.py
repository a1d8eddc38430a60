"""Face-recognizer registry: ``nullswap.recognizers.load(name)`` gives a ready, frozen model.

Each back end lives in its own module and registers a factory with :func:`register_recognizer`.
Factories resolve their own weights through :mod:`nullswap.weights`, so a caller never deals with
files; a missing file raises :class:`nullswap.weights.MissingWeightsError` that says how to get it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from nullswap.recognizers.base import Recognizer

_FACTORIES: dict[str, Callable[..., Recognizer]] = {}
#: back-end modules that failed to import, with the error (reported by :func:`load`)
IMPORT_ERRORS: dict[str, Exception] = {}


def register_recognizer(name: str) -> Callable[[Callable[..., Recognizer]], Callable[..., Recognizer]]:
    """Decorator: ``@register_recognizer("dlib")`` on a factory (class or function) returning a Recognizer."""

    def decorate(factory: Callable[..., Recognizer]) -> Callable[..., Recognizer]:
        if name in _FACTORIES:
            raise ValueError(f"recognizer '{name}' is registered twice")
        _FACTORIES[name] = factory
        return factory

    return decorate


def _import_backends() -> None:
    """Import every module of this package so that its ``@register_recognizer`` runs.

    Back-end modules must import without their optional libraries (deepface, insightface, TFLite):
    those are imported inside the factories, where a missing one becomes a clear error."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_") and info.name != "base":
            module = f"{__name__}.{info.name}"
            try:
                importlib.import_module(module)
            except Exception as exc:  # one broken back end must not hide the others
                IMPORT_ERRORS[module] = exc


def available() -> list[str]:
    """Names of every registered recognizer (whether or not its weights are present)."""
    _import_backends()
    return sorted(_FACTORIES)


def load(name: str, device: str | None = None, **kwargs: object) -> Recognizer:
    """Build recognizer ``name`` with its weights, in eval mode, parameters frozen."""
    _import_backends()
    if name not in _FACTORIES:
        broken = "".join(f"\n  {m} failed to import: {e!r}" for m, e in IMPORT_ERRORS.items())
        raise KeyError(f"unknown recognizer '{name}'; available: {', '.join(sorted(_FACTORIES))}{broken}")
    model = _FACTORIES[name](**kwargs)
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    if device is not None:
        model.to(device)
    return model


__all__ = ["Recognizer", "available", "load", "register_recognizer"]
