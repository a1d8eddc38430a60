"""Face-swapper registry (Table 3's victims): ``swappers.load(name, **options)``.

One module per swapper registers its class with ``@register_swapper("name")``: ``landmark`` (a classical
landmark-warp-and-blend swapper that runs in-process, offline) and adapters for SimSwap, InfoSwap, UniFace,
E4S and DiffSwap, which drive a user-provided checkout of each in its own environment
(:mod:`nullswap.upstream`).  Table 3 (:mod:`benchmarks.table3`) measures every registered one it can run.
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
