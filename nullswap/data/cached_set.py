"""A face set built once into ``$NULLSWAP_HOME/faces/<name>/`` (``crops/*.png`` + ``manifest.json``).

The ``sample`` and ``offline`` sets share this layout, so they share how it is read: a lock file
beside the folder (builders take it exclusively, readers shared, so a reader never sees a
half-built set), the manifest (one record per face: ``key``, ``identity``, ``split``, ``view``,
``file`` …) and the selection of a split, with or without the transformed views of the test faces
(keys ``<key>@v<n>``).  Building lives in :mod:`nullswap.data.face_build`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from nullswap.assets import cache_root
from nullswap.data.base import FaceSet

Split = Literal["train", "test", "all"]


class CachedSetError(RuntimeError):
    """A built face set could not be built or read; the message says why."""


def base_key(key: str) -> str:
    """The original face a key belongs to (``'face_api/sample1/0@v2'`` → ``'face_api/sample1/0'``)."""
    return key.split("@", 1)[0]


def is_view(key: str) -> bool:
    return "@" in key


def crop_file_name(key: str) -> str:
    """Where a face's crop lives inside its set's folder (a flat, file-system-safe name)."""
    return "crops/" + key.replace("/", "__").replace("@", "--") + ".png"


def select(manifest: dict, split: str, views: bool) -> list[dict]:
    """Manifest entries of ``split`` (originals, plus the test views when ``views``)."""
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    return [
        f
        for f in manifest["faces"]
        if (split == "all" or f["split"] == split) and (views or f["view"] == "original")
    ]


@dataclass(frozen=True)
class CachedSet:
    """The folder of one built set, its lock and its manifest (paths follow ``$NULLSWAP_HOME`` at each call)."""

    name: str

    @property
    def directory(self) -> Path:
        return cache_root() / "faces" / self.name

    @property
    def manifest_path(self) -> Path:
        return self.directory / "manifest.json"

    @contextlib.contextmanager
    def locked(self, exclusive: bool) -> Iterator[None]:
        """Serialise builds across processes (parallel test sessions share one cache); readers share."""
        lock = self.directory.parent / f"{self.name}.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def manifest(self, directory: Path | None = None) -> dict | None:
        """The manifest in ``directory`` (default: the set's folder), or ``None`` when absent or unreadable."""
        try:
            return json.loads(((directory or self.directory) / "manifest.json").read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def complete_manifest(self, config_hash: str, directory: Path | None = None) -> dict | None:
        """The manifest when it was built by configuration ``config_hash`` and every crop it lists exists."""
        directory = directory or self.directory
        manifest = self.manifest(directory)
        if manifest is None or manifest.get("config_hash") != config_hash:
            return None
        if not all((directory / face["file"]).is_file() for face in manifest["faces"]):
            return None
        return manifest

    def load(self, split: Split, views: bool, description: str, views_warning: str) -> FaceSet:
        """The built set's ``split`` as a :class:`FaceSet` named ``<name>-<split>[-views]``.

        ``description`` says what the set is and ``views_warning`` what identification on its views
        measures; both go into the notes with the manifest's split and views rules.
        """
        directory = self.directory
        with self.locked(exclusive=False):
            manifest = self.manifest(directory)
            if manifest is None:
                raise CachedSetError(f"the {self.name} set at {directory} disappeared while loading")
            records = select(manifest, split, views)
            crops = [np.asarray(Image.open(directory / r["file"]).convert("RGB")) for r in records]
        images = np.stack(crops) if crops else np.zeros((0, 256, 256, 3), np.uint8)
        notes: dict[str, object] = {
            "dataset": description,
            "split": split,
            "split_rule": manifest["split_rule"],
            "views": views,
            "manifest": str(directory / "manifest.json"),
            "identities": len({r["identity"] for r in records}),
            "low_resolution_faces": sum(bool(r["low_resolution"]) for r in records),
            "config_hash": manifest["config_hash"],
        }
        if views:
            notes["views_rule"] = manifest["views_rule"]
            notes["protocol_warning"] = views_warning
        return FaceSet(
            f"{self.name}-{split}{'-views' if views else ''}",
            images,
            [r["identity"] for r in records],
            [r["key"] for r in records],
            notes,
        )


def fixed_set_entry(load: Callable[[Split, bool], FaceSet]) -> Callable[..., FaceSet]:
    """The registry entry of a fixed, built set (``sample``, ``offline``): ``split`` and ``views``.

    Options of the sets read from disk (``root``, ``max_images``) do not apply to a fixed set and are
    ignored: callers that want fewer faces take a subset.
    """

    def entry(split: Split, views: bool = False, **not_applicable: object) -> FaceSet:
        return load(split, bool(views))

    entry.__doc__ = load.__doc__
    return entry
