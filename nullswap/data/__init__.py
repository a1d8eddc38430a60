"""Face sets: the offline sample of real registry faces, CelebA-HQ, LFW and any image folder.

Every loader returns a :class:`~nullswap.data.base.FaceSet` of canonical 256×256 crops with identity
labels, and caches its aligned crops once under ``$NULLSWAP_HOME``::

    load_sample(split="train"|"test"|"all", views=False)   # offline, real faces from package registries
    load_offline(split="train"|"test"|"all", views=False)  # the sample + every other registry face (videos too)
    load_celebahq(root, split="test")                      # CelebA identities, official split
    load_lfw(root, split="all", min_images_per_identity=2)
    load_folder(root)                                       # identity = sub-folder or one per image

Each loader is registered under its data set's name (:mod:`nullswap.data.registry`), which is how
``load_dataset(cfg, split)`` (:mod:`nullswap.data.load`) reaches it from a ``data`` config.  The names
are imported on first use, so ``python -m nullswap.data.sample`` runs its module only once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "FaceSet": "nullswap.data.base",
    "DatasetNotFoundError": "nullswap.data.aligned_cache",
    "load_folder": "nullswap.data.folder",
    "load_celebahq": "nullswap.data.celebahq",
    "load_lfw": "nullswap.data.lfw",
    "build_sample": "nullswap.data.sample_build",
    "load_sample": "nullswap.data.sample",
    "build_offline": "nullswap.data.offline_build",
    "load_offline": "nullswap.data.offline",
}

__all__ = [
    "DatasetNotFoundError",
    "FaceSet",
    "build_offline",
    "build_sample",
    "load_celebahq",
    "load_folder",
    "load_lfw",
    "load_offline",
    "load_sample",
]

if TYPE_CHECKING:
    from nullswap.data.aligned_cache import DatasetNotFoundError
    from nullswap.data.base import FaceSet
    from nullswap.data.celebahq import load_celebahq
    from nullswap.data.folder import load_folder
    from nullswap.data.lfw import load_lfw
    from nullswap.data.offline import load_offline
    from nullswap.data.offline_build import build_offline
    from nullswap.data.sample import load_sample
    from nullswap.data.sample_build import build_sample


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'nullswap.data' has no attribute '{name}'")
