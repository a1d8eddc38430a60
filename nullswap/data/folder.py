"""Any folder of face photos as a data set: identity = sub-folder name (``person/img.jpg``) or one
identity per image (a flat folder); faces are detected, aligned and cached once
(:mod:`nullswap.data.aligned_cache`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from nullswap.data.aligned_cache import DatasetNotFoundError, Method, Selection, SourceImage, load_aligned
from nullswap.data.base import FaceSet
from nullswap.data.registry import register_dataset

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def list_images(root: Path) -> list[Path]:
    """Every image file under ``root`` (recursively), sorted, hidden folders skipped."""
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def folder_items(
    root: Path, identity: Literal["auto", "subfolder", "file"] = "auto"
) -> tuple[list[SourceImage], str]:
    """Images of ``root`` with identities (the first sub-folder's name, or one per image), and the
    rule used (``"subfolder"`` or ``"file"``)."""
    paths = list_images(root)
    if identity == "auto":
        identity = "subfolder" if paths and all(len(p.relative_to(root).parts) > 1 for p in paths) else "file"
    items = []
    for path in paths:
        rel = path.relative_to(root).as_posix()
        if identity == "subfolder":
            parts = path.relative_to(root).parts
            who = parts[0] if len(parts) > 1 else Path(rel).stem
        else:
            who = Path(rel).with_suffix("").as_posix()
        items.append(SourceImage(rel, path, who))
    return items, identity


@register_dataset("folder")
def load_folder(
    root: str | Path,
    split: str = "all",
    *,
    identity: Literal["auto", "subfolder", "file"] = "auto",
    name: str | None = None,
    choose: Literal["largest", "centre"] = "largest",
    max_images: int | None = None,
    max_identities: int | None = None,
    min_images_per_identity: int = 1,
    detector: str = "mtcnn",
    progress: bool = True,
) -> FaceSet:
    """Any folder of face photos → aligned :class:`FaceSet` (one face per image: the largest, or the
    one nearest the centre).  Identity = sub-folder name (``root/person/photo.jpg``) or, for a flat
    folder, one identity per image; ``identity="auto"`` picks by layout.  A plain folder has no
    split: ``split`` must be ``"all"`` (it exists so every loader takes the same arguments)."""
    if split != "all":
        raise ValueError(
            f"an image folder has no '{split}' split: use split='all', or one folder per split as separate roots"
        )
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError(
            f"image folder '{root}' does not exist: pass a folder of photos, either flat (one person per "
            "image) or with one sub-folder per person (root/<person>/<photo>.jpg)"
        )
    items, rule = folder_items(root, identity)
    if not items:
        raise DatasetNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found under '{root}'")
    cache_name = name or f"folder-{root.name}-{hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:10]}"
    method: Method = "detect-centre" if choose == "centre" else "detect-largest"
    return load_aligned(
        cache_name,
        items,
        Selection(max_images, max_identities, min_images_per_identity),
        method=method,
        detector=detector,
        progress=progress,
        info={"root": str(root.resolve())},
        notes={
            "dataset": f"image folder {root}",
            "root": str(root.resolve()),
            "identity_rule": "sub-folder name" if rule == "subfolder" else "one identity per image",
            "alignment": f"{method} face, MTCNN five landmarks, similarity warp to the canonical 256 frame",
        },
    )
