"""A name → factory registry filled by decorators in the modules of one package.

Each kind of adapter (recognizers, protectors, swappers) has one registry.  Adding an adapter is one
module in the package with ``@registry.register("name")``; :meth:`Registry.available` imports every
module of the package so the decorators run.  A module that fails to import does not hide the others:
its error is kept and reported when someone asks for a name that is missing.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, package: str, skip: tuple[str, ...] = ("base",)) -> None:
        self.kind = kind
        self.package = package
        self.skip = skip
        self.factories: dict[str, Callable[..., T]] = {}
        #: modules that failed to import, with their error
        self.import_errors: dict[str, Exception] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator for a factory (a class or a function) building the adapter called ``name``."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self.factories:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self.factories[name] = factory
            return factory

        return decorate

    def import_all(self) -> None:
        """Import every module of the package (their decorators register the adapters)."""
        for info in pkgutil.iter_modules(sys.modules[self.package].__path__):
            if info.name.startswith("_") or info.name in self.skip:
                continue
            module = f"{self.package}.{info.name}"
            try:
                importlib.import_module(module)
            except Exception as exc:  # one broken adapter must not hide the others
                self.import_errors[module] = exc

    def available(self) -> list[str]:
        self.import_all()
        return sorted(self.factories)

    def get(self, name: str) -> Callable[..., T]:
        self.import_all()
        if name not in self.factories:
            broken = "".join(f"\n  {m} failed to import: {e!r}" for m, e in self.import_errors.items())
            raise KeyError(f"unknown {self.kind} '{name}'; available: {', '.join(sorted(self.factories))}{broken}")
        return self.factories[name]
