"""One entry point from a ``data`` config (``nullswap/conf/data/*.yaml``) to a :class:`FaceSet`."""

from __future__ import annotations

from collections.abc import Mapping

from nullswap.data.base import FaceSet


def load_dataset(cfg: Mapping, split: str) -> FaceSet:
    """Load split ``split`` of the data set that ``cfg.name`` names (sample, offline, celebahq, lfw, folder)."""
    name = cfg["name"]
    options = {k: v for k, v in dict(cfg).items() if k not in ("name", "split") and v is not None}
    if name == "sample":
        from nullswap.data.sample import load_sample

        return load_sample(split, views=bool(options.get("views", False)))
    if name == "offline":
        from nullswap.data.offline import load_offline

        return load_offline(split, views=bool(options.get("views", False)))
    if name == "celebahq":
        from nullswap.data.celebahq import load_celebahq

        return load_celebahq(split=split, **options)
    if name == "lfw":
        from nullswap.data.lfw import load_lfw

        return load_lfw(split=split, **options)
    if name == "folder":
        from nullswap.data.folder import load_folder

        return load_folder(split=split, **options)
    raise KeyError(f"unknown data set '{name}'; choose sample, offline, celebahq, lfw or folder")
