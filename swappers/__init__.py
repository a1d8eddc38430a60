"""Face-swapper registry (Table 3's victims): ``swappers.load(name, **options)``.

Adapters for SimSwap, InfoSwap, UniFace, E4S and DiffSwap register here with
``@register_swapper("name")``; none ships yet, so :func:`available` is empty and Table 3 cannot run.
The metric (``nullswap.metrics.swap``) and the table builder for its cells are in place.
"""

from __future__ import annotations

from nullswap.registry import Registry
from swappers.base import Swapper, SwapResult

REGISTRY: Registry[Swapper] = Registry("swapper", __name__)
register_swapper = REGISTRY.register


def available() -> list[str]:
    return REGISTRY.available()


def load(name: str, **options: object) -> Swapper:
    return REGISTRY.get(name)(**options)


__all__ = ["REGISTRY", "SwapResult", "Swapper", "available", "load", "register_swapper"]
