"""Labeled Faces in the Wild: people folders, detected and aligned into the canonical frame.

LFW (13,233 images of 5,749 people, 250×250, the named person's face in the centre) comes as
``lfw/<Name>/<Name>_0001.jpg``; the deep-funneled and funneled variants use the same names.  Each
image is detected with MTCNN and the face nearest the image centre is aligned to the canonical 256
frame (LFW photos often show other people too).  The split files are optional:

``peopleDevTrain.txt`` / ``peopleDevTest.txt``
    first line the number of people, then ``Name<TAB>count`` per person (View 1's disjoint people).
``people.txt``
    first line the number of folds (10), then per fold its number of people followed by that many
    ``Name<TAB>count`` lines (View 2).
``pairs.txt``
    first line ``folds<TAB>pairs``, then per fold ``Name n1 n2`` (matched) and ``Name1 n1 Name2 n2``
    (mismatched) lines; ``split="pairs"`` loads every image a pair mentions.

For identification (the paper's Table 4) only people with two or more images can be probed:
``min_images_per_identity=2`` keeps the 1,680 such people (9,164 images).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from nullswap.data.aligned_cache import DatasetNotFoundError, Selection, SourceImage, load_aligned
from nullswap.data.base import FaceSet
from nullswap.data.registry import register_dataset

Split = Literal["all", "devtrain", "devtest", "people", "pairs"]
ENV_ROOT = "NULLSWAP_LFW_ROOT"
FOLDER_NAMES = ("lfw", "lfw-deepfunneled", "lfw_funneled", "lfw-funneled")
SPLIT_FILES = {
    "devtrain": "peopleDevTrain.txt",
    "devtest": "peopleDevTest.txt",
    "people": "people.txt",
    "pairs": "pairs.txt",
}
_IMAGE_NAME = re.compile(r"^(?P<name>.+)_(?P<number>\d{4})\.(jpg|jpeg|png)$", re.IGNORECASE)

HOW_TO_GET = f"""\
LFW: download lfw.tgz (or lfw-deepfunneled.tgz) from the LFW home page
(https://vis-www.cs.umass.edu/lfw/; mirrors: scikit-learn's fetch_lfw_people cache, Kaggle "lfw-dataset"),
and optionally the split files pairs.txt, people.txt, peopleDevTrain.txt, peopleDevTest.txt from the
same page.  Unpack so that
  <root>/lfw/<Name>/<Name>_0001.jpg      (or <root>/<Name>/<Name>_0001.jpg)
  <root>/pairs.txt, <root>/people.txt ... (optional, for split=...)
and pass root=<root> (Hydra: data.root=<root> for training, dataset.root=<root> for the table
  runners) or set {ENV_ROOT}=<root>."""


def _has_people(folder: Path) -> bool:
    for child in folder.iterdir() if folder.is_dir() else ():
        if child.is_dir() and any(_IMAGE_NAME.match(p.name) for p in child.iterdir()):
            return True
    return False


def resolve_root(root: str | Path | None) -> tuple[Path, Path]:
    """(dataset root, folder holding the people folders)."""
    if root is None:
        if not os.environ.get(ENV_ROOT):
            raise DatasetNotFoundError(f"no LFW root given (argument or ${ENV_ROOT}).\n{HOW_TO_GET}")
        root = os.environ[ENV_ROOT]
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DatasetNotFoundError(f"LFW root '{path}' does not exist.\n{HOW_TO_GET}")
    for candidate in [*(path / n for n in FOLDER_NAMES), path]:
        if _has_people(candidate):
            return path, candidate
    raise DatasetNotFoundError(
        f"no LFW people folders (<Name>/<Name>_0001.jpg) under '{path}'.\n{HOW_TO_GET}"
    )


def _find_split_file(root: Path, people_dir: Path, filename: str) -> Path | None:
    for folder in (root, people_dir, people_dir.parent):
        if (folder / filename).is_file():
            return folder / filename
    return None


def read_people_file(path: Path) -> dict[str, int]:
    """``peopleDevTrain.txt``/``peopleDevTest.txt``/``people.txt`` → name → number of images."""
    people: dict[str, int] = {}
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1].isdigit():
            people[fields[0]] = int(fields[1])
        elif len(fields) == 1 and fields[0].isdigit():
            continue  # a count line (people in the file or in the next fold)
        elif fields:
            raise DatasetNotFoundError(f"{path}: unexpected line {line!r} (expected 'Name<TAB>count')")
    return people


def read_pairs_file(path: Path) -> set[tuple[str, int]]:
    """``pairs.txt`` → every (name, image number) a matched or mismatched pair mentions."""
    images: set[tuple[str, int]] = set()
    for number, line in enumerate(path.read_text().splitlines()):
        fields = line.split()
        if number == 0 or not fields:
            continue
        if len(fields) == 3:
            images |= {(fields[0], int(fields[1])), (fields[0], int(fields[2]))}
        elif len(fields) == 4:
            images |= {(fields[0], int(fields[1])), (fields[2], int(fields[3]))}
        else:
            raise DatasetNotFoundError(f"{path}: unexpected line {line!r}")
    return images


def lfw_items(root: str | Path | None = None, split: Split = "all") -> tuple[list[SourceImage], dict]:
    """LFW images (identity = the person's folder name) of a split, and what was read."""
    if split not in ("all", *SPLIT_FILES):
        raise ValueError(f"split must be one of all, {', '.join(SPLIT_FILES)}; got {split!r}")
    base, people_dir = resolve_root(root)
    items: list[SourceImage] = []
    for person in sorted(p for p in people_dir.iterdir() if p.is_dir()):
        for image in sorted(person.iterdir()):
            match = _IMAGE_NAME.match(image.name)
            if match and image.is_file():
                items.append(SourceImage(f"{person.name}/{image.name}", image, person.name, split))
    info: dict[str, object] = {"root": str(base.resolve()), "people_dir": str(people_dir.resolve())}
    if split == "all":
        return items, info
    split_file = _find_split_file(base, people_dir, SPLIT_FILES[split])
    if split_file is None:
        raise DatasetNotFoundError(
            f"split '{split}' needs {SPLIT_FILES[split]}, not found in '{base}' or '{people_dir}'.\n{HOW_TO_GET}"
        )
    info["split_file"] = str(split_file)
    if split == "pairs":
        wanted = read_pairs_file(split_file)
        chosen = [i for i in items if (i.identity, int(_IMAGE_NAME.match(i.path.name)["number"])) in wanted]
        info["missing_from_folders"] = len(wanted) - len(chosen)
    else:
        people = read_people_file(split_file)
        chosen = [i for i in items if i.identity in people]
        info["missing_from_folders"] = len(set(people) - {i.identity for i in chosen})
    return chosen, info


@register_dataset("lfw")
def load_lfw(
    root: str | Path | None = None,
    split: Split = "all",
    *,
    max_images: int | None = None,
    max_identities: int | None = None,
    min_images_per_identity: int = 1,
    detector: str = "mtcnn",
    progress: bool = True,
) -> FaceSet:
    """LFW aligned to the canonical frame (the face nearest each image's centre), identities = person
    names; cached under ``$NULLSWAP_HOME/datasets/lfw/``.  Images without a detectable face are
    recorded in the manifest and left out of the set (its notes count them)."""
    items, info = lfw_items(root, split)
    return load_aligned(
        "lfw",
        items,
        Selection(max_images, max_identities, min_images_per_identity),
        method="detect-centre",
        detector=detector,
        progress=progress,
        info=info,
        name=f"lfw-{split}",
        notes={
            "dataset": "LFW",
            "split": split,
            "alignment": f"{detector} five landmarks of the face nearest the image centre, similarity warp "
            "to the canonical 256 frame",
            "min_images_per_identity": min_images_per_identity,
            **info,
        },
    )
