"""One entry point from a ``data`` config (``nullswap/conf/data/*.yaml``) to a :class:`FaceSet`."""

from __future__ import annotations

from collections.abc import Mapping

from nullswap.data.base import FaceSet
from nullswap.data.registry import REGISTRY


def load_dataset(cfg: Mapping, split: str) -> FaceSet:
    """Load split ``split`` of the data set that ``cfg.name`` names (any name of
    :func:`nullswap.data.registry.available`); the config's other keys, except ``null`` ones, are the
    loader's options.  An unknown name raises a :class:`KeyError` that lists the known ones."""
    options = {k: v for k, v in dict(cfg).items() if k not in ("name", "split") and v is not None}
    return REGISTRY.get(cfg["name"])(split=split, **options)
