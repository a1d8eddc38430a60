"""Protector registry: ``baselines.load(name, **options)`` builds any defence by name.

Adding a defence is one module in this package with a ``@register_protector("name")`` class plus one
config ``nullswap/conf/protector/<name>.yaml``; every table runner then accepts it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from baselines.base import Protector

_FACTORIES: dict[str, Callable[..., Protector]] = {}
#: adapter modules that failed to import, with the error (reported by :func:`load`)
IMPORT_ERRORS: dict[str, Exception] = {}


def register_protector(name: str) -> Callable[[Callable[..., Protector]], Callable[..., Protector]]:
    def decorate(factory: Callable[..., Protector]) -> Callable[..., Protector]:
        if name in _FACTORIES:
            raise ValueError(f"protector '{name}' is registered twice")
        _FACTORIES[name] = factory
        return factory

    return decorate


def _import_adapters() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_") and info.name != "base":
            module = f"{__name__}.{info.name}"
            try:
                importlib.import_module(module)
            except Exception as exc:  # one broken adapter must not hide the others
                IMPORT_ERRORS[module] = exc


def available() -> list[str]:
    _import_adapters()
    return sorted(_FACTORIES)


def load(name: str, **options: object) -> Protector:
    _import_adapters()
    if name not in _FACTORIES:
        broken = "".join(f"\n  {m} failed to import: {e!r}" for m, e in IMPORT_ERRORS.items())
        raise KeyError(f"unknown protector '{name}'; available: {', '.join(sorted(_FACTORIES))}{broken}")
    return _FACTORIES[name](**options)


__all__ = ["Protector", "available", "load", "register_protector"]
