"""Data-set registry: every name a ``data`` / ``dataset`` config may give, and the loader behind it.

Like recognizers and protectors, a data set is one module of :mod:`nullswap.data` whose loader carries
``@register_dataset("name")``, plus its defaults in ``nullswap/conf/data/<name>.yaml``.  A registered
loader is called as ``loader(split=split, **options)`` with the config's other keys (those set to
``null`` left out) — see :func:`nullswap.data.load.load_dataset`.
"""

from __future__ import annotations

from nullswap.data.base import FaceSet
from nullswap.registry import Registry

REGISTRY: Registry[FaceSet] = Registry("data set", "nullswap.data")
register_dataset = REGISTRY.register


def available() -> list[str]:
    """Names of every registered data set (whether or not its files are present)."""
    return REGISTRY.available()
