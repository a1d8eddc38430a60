"""CelebA-HQ with CelebA identity labels and the official train/val/test split.

CelebA-HQ's 30,000 images (1024×1024) are a subset of CelebA re-aligned with the FFHQ-style crop, so
they enter the canonical frame by a plain resize to 256 (no detection).  Identities and the split are
CelebA's, reached through the mapping file published with CelebAMask-HQ:

``CelebA-HQ-to-CelebA-mapping.txt``
    a header ``idx orig_idx orig_file``, then one row per CelebA-HQ image: its index (0–29999, the
    name of ``CelebA-HQ-img/<idx>.jpg``), the 0-based CelebA index, and the CelebA file name
    (``119614.jpg``, 1-based).
``identity_CelebA.txt`` (CelebA ``Anno/``)
    ``000001.jpg 2880``: CelebA file → identity number (10,177 identities; 6,217 occur in CelebA-HQ).
``list_eval_partition.txt`` (CelebA ``Eval/``)
    ``000001.jpg 0``: 0 = train, 1 = val, 2 = test.  CelebA-HQ keeps this split: 24,183 / 2,993 /
    2,824 images.  When the file is absent, CelebA's published boundaries are used (files
    1–162,770 train, 162,771–182,637 val, 182,638–202,599 test), which give the same split.

Accepted image layouts under ``root``: ``CelebA-HQ-img/<idx>.jpg`` (CelebAMask-HQ), the same file
names directly in ``root``, or images renamed to their CelebA names (``CelebA-HQ-img/119614.jpg``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from nullswap.data.aligned_cache import DatasetNotFoundError, Selection, SourceImage, load_aligned
from nullswap.data.base import FaceSet
from nullswap.data.registry import register_dataset

Split = Literal["train", "val", "test", "all"]
PARTITION_NAMES = {0: "train", 1: "val", 2: "test"}
CELEBA_BOUNDARIES = (162_770, 182_637)  # last train, last val file number (1-based), CelebA's own split
ENV_ROOT = "NULLSWAP_CELEBAHQ_ROOT"

HOW_TO_GET = f"""\
CelebA-HQ needs three things (research use only; accept each dataset's terms):
  1. CelebAMask-HQ (https://github.com/switchablenorms/CelebAMask-HQ, Google Drive / Baidu links on
     that page): unzip it to get CelebA-HQ-img/0.jpg … 29999.jpg and CelebA-HQ-to-CelebA-mapping.txt;
  2. identity_CelebA.txt from CelebA's Anno/ folder (https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html,
     "Identities" in the Google Drive folder);
  3. optionally list_eval_partition.txt from CelebA's Eval/ folder (the split; CelebA's published
     boundaries are used without it).
Put them together as
  <root>/CelebA-HQ-img/0.jpg … 29999.jpg
  <root>/CelebA-HQ-to-CelebA-mapping.txt
  <root>/identity_CelebA.txt          (or <root>/Anno/identity_CelebA.txt)
  <root>/list_eval_partition.txt      (or <root>/Eval/list_eval_partition.txt)
and pass root=<root> (Hydra: data.root=<root> for training, dataset.root=<root> for the table
  runners) or set {ENV_ROOT}=<root>."""


def _find(root: Path, name: str) -> Path | None:
    for folder in (
        root,
        root / "Anno",
        root / "Eval",
        root / "annotations",
        root.parent,
        root.parent / "Anno",
        root.parent / "Eval",
    ):
        if (folder / name).is_file():
            return folder / name
    return None


def _rows(path: Path, skip_header: bool = False) -> Iterable[list[str]]:
    with open(path) as handle:
        for number, line in enumerate(handle):
            fields = line.split()
            if not fields or (skip_header and number == 0 and not fields[0].isdigit()):
                continue
            yield fields


def read_mapping(path: Path) -> dict[int, str]:
    """CelebA-HQ index → CelebA file name (``'119614.jpg'``)."""
    mapping: dict[int, str] = {}
    for fields in _rows(path, skip_header=True):
        if len(fields) < 3 or not fields[0].isdigit():
            raise DatasetNotFoundError(
                f"{path}: expected rows 'idx orig_idx orig_file', got {' '.join(fields)!r}"
            )
        mapping[int(fields[0])] = fields[2]
    return mapping


def read_identities(path: Path) -> dict[str, int]:
    """CelebA file name → identity number."""
    out: dict[str, int] = {}
    for fields in _rows(path):
        if len(fields) != 2 or not fields[1].isdigit():
            raise DatasetNotFoundError(
                f"{path}: expected rows '<file>.jpg <identity>', got {' '.join(fields)!r}"
            )
        out[fields[0]] = int(fields[1])
    return out


def read_partition(path: Path | None) -> dict[str, str] | None:
    """CelebA file name → ``train``/``val``/``test`` (``None`` when no file: boundaries are used)."""
    if path is None:
        return None
    out: dict[str, str] = {}
    for fields in _rows(path):
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            raise DatasetNotFoundError(f"{path}: expected rows '<file>.jpg 0|1|2', got {' '.join(fields)!r}")
        out[fields[0]] = PARTITION_NAMES[int(fields[1])]
    return out


def partition_of(celeba_file: str, partition: dict[str, str] | None) -> str:
    if partition is not None:
        return partition[celeba_file]
    number = int(Path(celeba_file).stem)
    return (
        "train" if number <= CELEBA_BOUNDARIES[0] else ("val" if number <= CELEBA_BOUNDARIES[1] else "test")
    )


def _image_path(root: Path, idx: int, celeba_file: str) -> Path | None:
    stem_options = (str(idx), Path(celeba_file).stem)
    for folder in (root / "CelebA-HQ-img", root):
        for stem in stem_options:
            for suffix in (".jpg", ".png"):
                if (folder / f"{stem}{suffix}").is_file():
                    return folder / f"{stem}{suffix}"
    return None


def resolve_root(root: str | Path | None) -> Path:
    if root is None:
        if not os.environ.get(ENV_ROOT):
            raise DatasetNotFoundError(f"no CelebA-HQ root given (argument or ${ENV_ROOT}).\n{HOW_TO_GET}")
        root = os.environ[ENV_ROOT]
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DatasetNotFoundError(f"CelebA-HQ root '{path}' does not exist.\n{HOW_TO_GET}")
    return path


def celebahq_items(root: str | Path | None = None, split: Split = "test") -> tuple[list[SourceImage], dict]:
    """The images of a split with CelebA identities (``celeba_<number>``), and what was read."""
    if split not in ("train", "val", "test", "all"):
        raise ValueError(f"split must be train, val, test or all, got {split!r}")
    root = resolve_root(root)
    mapping_file = _find(root, "CelebA-HQ-to-CelebA-mapping.txt")
    identity_file = _find(root, "identity_CelebA.txt")
    missing = [
        n
        for n, f in (
            ("CelebA-HQ-to-CelebA-mapping.txt", mapping_file),
            ("identity_CelebA.txt", identity_file),
        )
        if f is None
    ]
    if missing:
        raise DatasetNotFoundError(f"CelebA-HQ root '{root}' lacks {', '.join(missing)}.\n{HOW_TO_GET}")
    assert mapping_file is not None and identity_file is not None
    partition_file = _find(root, "list_eval_partition.txt")
    mapping = read_mapping(mapping_file)
    identities = read_identities(identity_file)
    partition = read_partition(partition_file)
    items: list[SourceImage] = []
    absent = 0
    for idx in sorted(mapping):
        celeba_file = mapping[idx]
        part = partition_of(celeba_file, partition)
        if split != "all" and part != split:
            continue
        path = _image_path(root, idx, celeba_file)
        if path is None:
            absent += 1
            continue
        if celeba_file not in identities:
            raise DatasetNotFoundError(f"{identity_file} has no identity for {celeba_file} (CelebA-HQ {idx})")
        items.append(SourceImage(f"{idx}", path, f"celeba_{identities[celeba_file]}", part))
    if not items:
        raise DatasetNotFoundError(
            f"no CelebA-HQ images of split '{split}' found under '{root}' ({absent} listed in the mapping are "
            f"absent).\n{HOW_TO_GET}"
        )
    info = {
        "root": str(root.resolve()),
        "mapping_file": str(mapping_file),
        "identity_file": str(identity_file),
        "partition": str(partition_file) if partition_file else f"CelebA boundaries {CELEBA_BOUNDARIES}",
        "absent_images": absent,
    }
    return items, info


@register_dataset("celebahq")
def load_celebahq(
    root: str | Path | None = None,
    split: Split = "test",
    *,
    max_images: int | None = None,
    max_identities: int | None = None,
    min_images_per_identity: int = 1,
    progress: bool = True,
) -> FaceSet:
    """CelebA-HQ images of ``split`` resized to the canonical 256 frame, labelled with CelebA
    identities (``celeba_<n>``); cached under ``$NULLSWAP_HOME/datasets/celebahq/``.

    ``max_identities`` keeps the first identities in sorted order (after requiring
    ``min_images_per_identity`` images each), ``max_images`` the first images after that.
    """
    items, info = celebahq_items(root, split)
    return load_aligned(
        "celebahq",
        items,
        Selection(max_images, max_identities, min_images_per_identity),
        method="resize",
        progress=progress,
        info=info,
        name=f"celebahq-{split}",
        notes={
            "dataset": "CelebA-HQ",
            "split": split,
            "split_rule": "CelebA's official partition through CelebA-HQ-to-CelebA-mapping.txt",
            "alignment": "already FFHQ-aligned at 1024; resized to 256 (area interpolation)",
            **info,
        },
    )
