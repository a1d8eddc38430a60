"""Real registry faces written as CelebA-HQ and LFW publish their folders, for rehearsing the paper's setting.

The faces are the offline set's (``python -m nullswap.data.offline``; the sample set when that is not
built): real photographs, aligned to the canonical frame.  They are written exactly as the loaders
(:mod:`nullswap.data.celebahq`, :mod:`nullswap.data.lfw`) expect the real data sets, so that every
parsing, splitting, alignment and caching path of the paper's setting runs — on a few dozen faces instead
of 30,000, which every table made from them says (the header compares the counts with the official
split's).

CelebA-HQ: ``CelebA-HQ-img/<idx>.jpg`` at 1024², ``CelebA-HQ-to-CelebA-mapping.txt``,
``Anno/identity_CelebA.txt`` and ``Eval/list_eval_partition.txt``, with CelebA file numbers in each
split's published range (train ≤ 162,770 < val ≤ 182,637 < test).  Identities never cross splits; the
test split holds the people photographed several times (the test split of a cloaking table needs
probes with a gallery), the train split faces whose identity does not matter to training.

LFW: ``lfw/<Name>/<Name>_0001.jpg`` at 250×250, the face in the centre, as LFW's own images.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from nullswap.data.base import FaceSet

#: CelebA file numbers each split's stand-ins start from (CelebA's published partition boundaries)
FIRST_NUMBER = {"train": 1_001, "val": 170_001, "test": 190_001}


@dataclass
class LayoutCounts:
    """What a layout holds: images and identities per split."""

    images: dict[str, int]
    identities: dict[str, int]

    def describe(self) -> str:
        return ", ".join(f"{split} {self.images[split]} images / {self.identities[split]} identities"
                         for split in self.images)


def rehearsal_faces() -> FaceSet:
    """The offline set's faces (all splits), or the sample's where the offline set is not built."""
    from nullswap.data.offline import is_built, load_offline

    if is_built():
        return load_offline("all")
    from nullswap.data.sample import load_sample

    return load_sample("all")


def _by_identity(faces: FaceSet) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for index, identity in enumerate(faces.identities):
        groups.setdefault(identity, []).append(index)
    return groups


def choose_splits(faces: FaceSet, test_images: int = 36, val_images: int = 6, train_images: int = 24,
                  per_identity: int = 4) -> dict[str, list[int]]:
    """Face indices per split, whole identities on one side: test from the identities photographed most
    (at most ``per_identity`` each), val from the next, train from the rest (at most 4 per identity:
    video identities have hundreds of near-identical frames)."""
    groups = _by_identity(faces)
    # identities with several photographs first, most photographed first; ties by name for determinism
    order = sorted(groups, key=lambda identity: (-min(len(groups[identity]), per_identity), identity))
    multi = [i for i in order if len(groups[i]) >= 2 and not _is_video(faces, groups[i])]
    rest = [i for i in order if i not in multi]
    chosen: dict[str, list[int]] = {"test": [], "val": [], "train": []}
    for split, budget in (("test", test_images), ("val", val_images)):
        while multi and len(chosen[split]) + 2 <= budget:
            identity = multi.pop(0)
            room = budget - len(chosen[split])
            take = groups[identity][: min(per_identity, room)]
            chosen[split] += take
    singles = [i for i in rest if len(groups[i]) == 1]
    while singles and len(chosen["val"]) < val_images:  # distractors: in the gallery, never probes
        identity = singles.pop(0)
        rest.remove(identity)
        chosen["val"] += groups[identity]
    for identity in multi + rest:
        if len(chosen["train"]) >= train_images:
            break
        chosen["train"] += groups[identity][: min(4, train_images - len(chosen["train"]))]
    return chosen


def _is_video(faces: FaceSet, indices: list[int]) -> bool:
    """Frames of one video (many near-duplicates): usable for training, never as test photographs."""
    return len(indices) > 20


def _upscaled(face: np.ndarray, side: int) -> Image.Image:
    return Image.fromarray(face).resize((side, side), Image.Resampling.LANCZOS)


def write_celebahq(root: Path, faces: FaceSet, splits: dict[str, list[int]]) -> LayoutCounts:
    """``faces`` chosen per split written as CelebA-HQ (1024² JPEGs, mapping, identity and partition files)."""
    images = root / "CelebA-HQ-img"
    images.mkdir(parents=True, exist_ok=True)
    identity_numbers: dict[str, int] = {}
    mapping, identity_rows, partition_rows = ["idx orig_idx orig_file"], [], []
    idx = 0
    for split_code, split in enumerate(("train", "val", "test")):
        for offset, face_index in enumerate(splits[split]):
            number = FIRST_NUMBER[split] + offset
            identity = faces.identities[face_index]
            identity_numbers.setdefault(identity, len(identity_numbers) + 1)
            _upscaled(faces.images[face_index], 1024).save(images / f"{idx}.jpg", quality=95)
            mapping.append(f"{idx} {number - 1} {number:06d}.jpg")
            identity_rows.append(f"{number:06d}.jpg {identity_numbers[identity]}")
            partition_rows.append(f"{number:06d}.jpg {split_code}")
            idx += 1
    (root / "CelebA-HQ-to-CelebA-mapping.txt").write_text("\n".join(mapping) + "\n")
    (root / "Anno").mkdir(exist_ok=True)
    (root / "Anno" / "identity_CelebA.txt").write_text("\n".join(identity_rows) + "\n")
    (root / "Eval").mkdir(exist_ok=True)
    (root / "Eval" / "list_eval_partition.txt").write_text("\n".join(partition_rows) + "\n")
    return LayoutCounts({s: len(splits[s]) for s in ("train", "val", "test")},
                        {s: len({faces.identities[i] for i in splits[s]}) for s in ("train", "val", "test")})


def lfw_name(identity: str) -> str:
    """An LFW person folder name (``John_Salley``) for an identity label."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", identity) if w]
    return "_".join(w.capitalize() for w in words) or "Unknown"


def write_lfw(root: Path, faces: FaceSet, images: int = 41, per_person: int = 5) -> LayoutCounts:
    """People folders of 250×250 images (``lfw/<Name>/<Name>_0001.jpg``): the people photographed most
    first (at most ``per_person`` each, never video frames), then single photographs as distractors."""
    groups = _by_identity(faces)
    order = sorted(groups, key=lambda identity: (-min(len(groups[identity]), per_person), identity))
    people: dict[str, list[int]] = {}
    total = 0
    for identity in order:
        if total >= images:
            break
        indices = groups[identity][:1] if _is_video(faces, groups[identity]) else groups[identity]
        take = indices[: min(per_person, images - total)]
        name = lfw_name(identity)
        while name in people:
            name += "_X"
        people[name] = take
        total += len(take)
    for name, indices in people.items():
        folder = root / "lfw" / name
        folder.mkdir(parents=True, exist_ok=True)
        for number, face_index in enumerate(indices, 1):
            _upscaled(faces.images[face_index], 250).save(folder / f"{name}_{number:04d}.jpg", quality=95)
    counts = Counter({name: len(indices) for name, indices in people.items()})
    return LayoutCounts({"all": sum(counts.values())}, {"all": len(counts)})
