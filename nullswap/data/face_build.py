"""The steps every build of a cached face set shares: photo → detected, aligned faces → split → manifest.

The ``sample`` and ``offline`` sets (:mod:`nullswap.data.sample_build`,
:mod:`nullswap.data.offline_build`) differ in their sources and split rules, not in how a face is
found, aligned and recorded, how identities are hashed into a split, or how a finished set replaces
the old one: those live here, once, so both sets keep being made the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from nullswap.atomic import write_text
from nullswap.data.base import save_png
from nullswap.data.cached_set import CachedSet, CachedSetError, crop_file_name
from nullswap.faces.align import LOW_RESOLUTION_EYE_DISTANCE, align_face
from nullswap.faces.detect import Detection, detect_faces, get_detector, load_image, plausible_faces

DETECT_MAX_SIDE = 1024
"""Photos are searched for faces at most this large (the smallest sample face is ~50 px at that size)."""
MIN_EYE_DISTANCE = 12.0
"""Faces with eyes closer than this (photo pixels) are skipped: too small to say anything about."""
DETECTOR = "mtcnn(min_face_size=20, thresholds=0.6/0.7/0.7) + plausible_faces(0.95, 0.7, 0.5)"
"""How faces are found, as recorded in each set's configuration (and so in its hash)."""


class ListedPhoto(Protocol):
    """A photograph a source list names: where it is and how many faces it should give."""

    @property
    def archive(self) -> str: ...
    @property
    def member(self) -> str: ...
    @property
    def faces(self) -> int: ...
    @property
    def stem(self) -> str: ...


def detection_fields(det: Detection) -> dict[str, object]:
    """What a manifest records of a detection: box, score, landmarks, eye distance, low-resolution flag."""
    return {
        **det.to_json(),
        "eye_distance": round(det.eye_distance, 2),
        "low_resolution": det.eye_distance < LOW_RESOLUTION_EYE_DISTANCE,
    }


def save_aligned(directory: Path, key: str, image: np.ndarray, det: Detection) -> str:
    """Align ``det``'s face of ``image`` to the canonical frame, save it under ``directory``; its file name."""
    crop, _ = align_face(image, det.landmarks)
    file = crop_file_name(key)
    save_png(crop, directory / file)
    return file


def plausible_detections(image: np.ndarray, name: str | None = None) -> list[Detection]:
    """MTCNN's plausible faces in a photo or video frame (searched at most DETECT_MAX_SIDE large)."""
    return plausible_faces(detect_faces(image, get_detector("mtcnn"), max_side=DETECT_MAX_SIDE, name=name))


def detect_photo(photo: ListedPhoto, image: np.ndarray) -> tuple[list[Detection], list[str]]:
    """The photo's usable faces, left to right, and warnings when they differ from what the list says."""
    notes: list[str] = []
    found = plausible_detections(image, photo.member)
    kept = [d for d in found if d.eye_distance >= MIN_EYE_DISTANCE]
    if len(kept) < len(found):
        notes.append(
            f"{photo.member}: {len(found) - len(kept)} face(s) with eyes < {MIN_EYE_DISTANCE:g} px skipped"
        )
    if len(kept) != photo.faces:
        notes.append(f"{photo.member}: expected {photo.faces} face(s), the detector kept {len(kept)}")
    return sorted(kept, key=lambda d: (float(d.centre[0]), float(d.centre[1]))), notes


@dataclass
class PhotoFaces:
    """One photograph's aligned faces (key ``archive/stem/index``, index, detection) and what went wrong."""

    image: np.ndarray
    faces: list[tuple[str, int, Detection]]
    warnings: list[str]
    failures: list[dict]


def align_photo(directory: Path, photo: ListedPhoto, path: Path) -> PhotoFaces:
    """Detect the faces of the photo at ``path`` and save each one's aligned crop under ``directory``."""
    image = load_image(path)
    found, warnings = detect_photo(photo, image)
    faces = []
    for index, det in enumerate(found):
        key = f"{photo.archive}/{photo.stem}/{index}"
        save_aligned(directory, key, image, det)
        faces.append((key, index, det))
    failures = [] if found else [{"member": photo.member, "stage": "detect", "reason": "no face found"}]
    return PhotoFaces(image, faces, warnings, failures)


def apply_same_person(faces: list[dict], groups: Mapping[str, Iterable[str]], warnings: list[str]) -> None:
    """Give each group's faces (by key) the group's identity; a group with an undetected face is left
    alone and a warning says so (half a group would split one person across two identities)."""
    keys = {f["key"] for f in faces}
    for identity, members in groups.items():
        missing = [k for k in members if k not in keys]
        if missing:
            warnings.append(
                f"same-person group '{identity}': faces {missing} were not detected; group not applied"
            )
            continue
        for face in faces:
            if face["key"] in members:
                face["identity"] = identity


def hashed_share(identities: Iterable[str], salt: str, fraction: float) -> list[str]:
    """The first ``fraction`` of ``identities`` ranked by ``sha256(salt/identity)``: deterministic, and
    stable when identities are added (an identity moves only if it sits at the boundary)."""
    ranked = sorted(set(identities), key=lambda i: hashlib.sha256(f"{salt}/{i}".encode()).hexdigest())
    return ranked[: round(len(ranked) * fraction)]


def config_hash(config: Mapping[str, object]) -> str:
    """Hash of a set's configuration: a cached set is reused only when it matches."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def _swap_in(work: Path, final: Path) -> None:
    """Replace ``final`` by ``work`` with two renames, so a reader sees the old set or the new one."""
    old = final.parent / f".{final.name}.old-{os.getpid()}"
    if final.exists():
        final.rename(old)
    work.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def build_cached_set(
    store: CachedSet,
    config: dict[str, object],
    build_into: Callable[[Path], dict],
    describe: Callable[[dict], str],
    *,
    resumable: bool,
    force: bool,
    progress: bool,
) -> Path:
    """Build ``store`` with ``build_into(work)`` (the manifest without timing and configuration) unless a
    complete set of the same configuration is there already (``force`` rebuilds), and return its folder.

    A ``resumable`` build works in ``.<name>.partial-<config hash>`` and keeps it when interrupted, so
    that the next one continues from the steps ``build_into`` saved there; any other build works in an
    empty ``.<name>.tmp-<pid>`` and removes it on failure.
    ``describe(manifest)`` is what the build says about an existing or new set.
    """
    expected = config_hash(config)
    final = store.directory
    work = final.parent / (f".{store.name}.partial-{expected}" if resumable else f".{store.name}.tmp-{os.getpid()}")
    with store.locked(exclusive=True):
        existing = store.complete_manifest(expected)
        if existing is not None and not force:
            if progress:
                print(f"{store.name} set already built at {final} ({describe(existing)}); nothing to do",
                      file=sys.stderr)
            return final
        if force or not resumable:
            shutil.rmtree(work, ignore_errors=True)
        elif work.is_dir() and progress:
            print(f"resuming the {store.name} build in {work}", file=sys.stderr)
        work.mkdir(parents=True, exist_ok=True)
        try:
            started = time.perf_counter()
            manifest = build_into(work)
            manifest["build_seconds"] = round(time.perf_counter() - started, 2)
            manifest["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            manifest["config"] = config
            manifest["config_hash"] = expected
            write_text(work / "manifest.json", json.dumps(manifest, indent=1) + "\n")
            _swap_in(work, final)
        except BaseException:
            if not resumable:
                shutil.rmtree(work, ignore_errors=True)
            raise
    if progress:
        print(f"{store.name} set built at {final} in {manifest['build_seconds']:.0f} s: {describe(manifest)}",
              file=sys.stderr)
    return final


def build_and_report(build: Callable[[], Path]) -> dict | None:
    """A set's build as its command line runs it: print the counts and warnings and return the
    manifest, or print why it failed (an archive neither cached nor downloadable…) and return ``None``."""
    from nullswap.assets import AssetError

    try:
        folder = build()
    except (AssetError, CachedSetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    manifest = json.loads((folder / "manifest.json").read_text())
    print(json.dumps(manifest["counts"], indent=1))
    for line in manifest["warnings"]:
        print(f"warning: {line}")
    return manifest
