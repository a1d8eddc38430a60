"""Protector registry: ``baselines.load(name, **options)`` builds any defence by name.

Adding a defence is one module in this package with a ``@register_protector("name")`` class plus one
config ``nullswap/conf/protector/<name>.yaml``; every table runner then accepts it.
"""

from __future__ import annotations

from baselines.base import Protector
from nullswap.registry import Registry

REGISTRY: Registry[Protector] = Registry("protector", __name__)
register_protector = REGISTRY.register
#: adapter modules that failed to import, with the error (reported by :func:`load`)
IMPORT_ERRORS = REGISTRY.import_errors


def available() -> list[str]:
    return REGISTRY.available()


def load(name: str, **options: object) -> Protector:
    return REGISTRY.get(name)(**options)


__all__ = ["REGISTRY", "Protector", "available", "load", "register_protector"]
