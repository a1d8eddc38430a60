"""Aligned-crop caches for image datasets on disk: the common path of CelebA-HQ, LFW and image folders.

Every such loader (CelebA-HQ, LFW, a plain folder) turns a list of :class:`SourceImage` into
canonical 256×256 crops once, under ``$NULLSWAP_HOME/datasets/<name>/``:

* ``crops/<key>.png`` — one crop per image that yielded a face;
* ``progress.jsonl`` — one line per processed image, appended as it is done, so an interrupted
  build resumes where it stopped (an image is redone only if its file changed size or the method
  changed);
* ``manifest.json`` — every record (key, identity, split, status, box, score, landmarks, eye
  distance, low-resolution flag, source file), written atomically at the end of each build.

Images that give no face, cannot be read or are too small are *recorded* (status ``no_face``,
``unreadable``, ``too_small`` with the message), never a crash; the returned :class:`FaceSet` holds
the ``ok`` ones and its notes count the rest.  :func:`load_aligned` is that path in one call:
choose the images (:class:`Selection`), align them into the cache, read the crops back.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

from nullswap.assets import cache_root
from nullswap.atomic import write_text
from nullswap.data.base import FaceSet, save_png
from nullswap.data.face_build import detection_fields
from nullswap.faces.align import align_face
from nullswap.faces.detect import (
    FaceInputError,
    ImageTooSmallError,
    NoFaceError,
    UnreadableImageError,
    check_image,
    detect_faces,
    load_image,
    plausible_faces,
)
from nullswap.faces.templates import CANONICAL_SIZE

Method = Literal["resize", "detect-centre", "detect-largest"]
DETECT_MAX_SIDE = 1600
"""Large photos are searched for faces on a copy this large (faces under ~30 px in a 2400 px photo
are missed; detection is several times faster)."""


class DatasetNotFoundError(FileNotFoundError):
    """A dataset root is missing or incomplete; the message says what to download, from where, and
    where to put it."""


@dataclass(frozen=True)
class SourceImage:
    """One image of a dataset: a stable ``key`` (its relative path), the file, identity and split."""

    key: str
    path: Path
    identity: str
    split: str = "all"


def dataset_cache_dir(name: str) -> Path:
    return cache_root() / "datasets" / name


def _crop_file(key: str) -> str:
    safe = key.replace("\\", "/").replace("/", "__")
    if len(safe) > 150:  # keep file names within file-system limits
        safe = safe[:100] + "-" + hashlib.sha1(key.encode()).hexdigest()[:16]
    return f"crops/{Path(safe).with_suffix('').as_posix()}.png"


@contextlib.contextmanager
def _lock(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_progress(path: Path) -> dict[str, dict]:
    records: dict[str, dict] = {}
    if not path.is_file():
        return records
    with open(path) as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by an interruption
                continue
            records[record["key"]] = record
    return records


def _prepare(image: np.ndarray, method: Method, detector: str) -> tuple[np.ndarray, dict[str, object]]:
    """One photo → (canonical crop, detection fields)."""
    if method == "resize":
        height, width = image.shape[:2]
        if abs(height - width) > 1:
            raise FaceInputError(f"expected a square, already aligned image, got {width}×{height}")
        interpolation = cv2.INTER_AREA if width > CANONICAL_SIZE else cv2.INTER_CUBIC
        crop = cv2.resize(image, (CANONICAL_SIZE, CANONICAL_SIZE), interpolation=interpolation)
        return crop, {}
    faces = plausible_faces(detect_faces(image, detector, max_side=DETECT_MAX_SIDE))
    if not faces:
        raise NoFaceError("no face found")
    if method == "detect-centre":
        centre = np.array([image.shape[1] / 2.0, image.shape[0] / 2.0])
        best = min(faces, key=lambda d: float(np.linalg.norm(d.centre - centre)))
    else:
        best = max(faces, key=lambda d: d.size)
    crop, _ = align_face(image, best.landmarks)
    return crop, {**detection_fields(best), "faces_in_image": len(faces)}


def _process(item: SourceImage, directory: Path, method: Method, detector: str) -> dict[str, object]:
    record: dict[str, object] = {
        "key": item.key,
        "identity": item.identity,
        "split": item.split,
        "source": str(item.path),
        "method": method if method == "resize" else f"{method}:{detector}",
    }
    try:
        record["source_size"] = item.path.stat().st_size
        image = check_image(load_image(item.path), item.path)
        crop, fields = _prepare(image, method, detector)
    except ImageTooSmallError as exc:
        return {**record, "status": "too_small", "error": str(exc)}
    except UnreadableImageError as exc:
        return {**record, "status": "unreadable", "error": str(exc)}
    except NoFaceError as exc:
        return {**record, "status": "no_face", "error": str(exc)}
    except FaceInputError as exc:
        return {**record, "status": "rejected", "error": str(exc)}
    except OSError as exc:
        return {**record, "status": "unreadable", "error": f"cannot read '{item.path}': {exc}"}
    file = _crop_file(item.key)
    save_png(crop, directory / file)
    return {**record, **fields, "status": "ok", "file": file}


def _reusable(record: dict | None, item: SourceImage, method_tag: str, directory: Path) -> bool:
    if record is None or record.get("method") != method_tag:
        return False
    try:
        if record.get("source_size") != item.path.stat().st_size:
            return False
    except OSError:
        return record.get("status") == "unreadable"
    return record.get("status") != "ok" or (directory / str(record["file"])).is_file()


def cache_faces(
    name: str,
    items: Sequence[SourceImage],
    *,
    method: Method = "detect-largest",
    detector: str = "mtcnn",
    progress: bool = True,
    info: dict[str, object] | None = None,
) -> list[dict]:
    """Align ``items`` into the cache of dataset ``name`` (resuming earlier work) and return one
    record per item, in order.  ``info`` is stored in the manifest (dataset root, split files...)."""
    directory = dataset_cache_dir(name)
    method_tag = method if method == "resize" else f"{method}:{detector}"
    with _lock(directory):
        progress_path = directory / "progress.jsonl"
        known = _read_progress(progress_path)
        todo = [item for item in items if not _reusable(known.get(item.key), item, method_tag, directory)]
        if todo:
            with open(progress_path, "a") as log:
                for item in tqdm(todo, desc=f"{name}: aligning", unit="img", disable=not progress):
                    record = _process(item, directory, method, detector)
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                    known[item.key] = record
            manifest = {
                "name": name,
                "template": "canonical 256 (FFHQ/CelebA-HQ framing)",
                "method": method_tag,
                **(info or {}),
                "counts": _count(known.values()),
                "records": sorted(known.values(), key=lambda r: str(r["key"])),
            }
            write_text(directory / "manifest.json", json.dumps(manifest, indent=1) + "\n")
        # Identity and split come from the caller (split files may change), the rest from the cache.
        return [{**known[item.key], "identity": item.identity, "split": item.split} for item in items]


def _count(records: Iterable[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record["status"]] = counts.get(record["status"], 0) + 1
    return counts


def faceset_from_records(
    cache_name: str,
    records: Sequence[dict],
    notes: dict[str, object] | None = None,
    *,
    name: str | None = None,
) -> FaceSet:
    """Read the ``ok`` crops of ``records`` (cached under dataset ``cache_name``) into a
    :class:`FaceSet` called ``name``; its notes count the failures."""
    directory = dataset_cache_dir(cache_name)
    good = [r for r in records if r["status"] == "ok"]
    images = (
        np.stack([np.asarray(Image.open(directory / r["file"]).convert("RGB")) for r in good])
        if good
        else np.zeros((0, CANONICAL_SIZE, CANONICAL_SIZE, 3), np.uint8)
    )
    failed = [r for r in records if r["status"] != "ok"]
    all_notes: dict[str, object] = {
        **(notes or {}),
        "cache": str(directory),
        "images_requested": len(records),
        "images": len(good),
        "identities": len({r["identity"] for r in good}),
        "failures": _count(failed),
        "low_resolution_faces": sum(bool(r.get("low_resolution")) for r in good),
    }
    return FaceSet(
        name or cache_name,
        images,
        [str(r["identity"]) for r in good],
        [str(r["key"]) for r in good],
        all_notes,
    )


@dataclass(frozen=True)
class Selection:
    """Which images of a data set to use: identities with at least ``min_images_per_identity`` images,
    the first ``max_identities`` of them in sorted order, then the first ``max_images`` images."""

    max_images: int | None = None
    max_identities: int | None = None
    min_images_per_identity: int = 1


def select_items(items: Sequence[SourceImage], selection: Selection) -> list[SourceImage]:
    """The deterministic subset ``selection`` describes (see :class:`Selection`)."""
    per_identity: dict[str, list[SourceImage]] = {}
    for item in items:
        per_identity.setdefault(item.identity, []).append(item)
    identities = sorted(
        i for i, group in per_identity.items() if len(group) >= selection.min_images_per_identity
    )
    if selection.max_identities is not None:
        identities = identities[: max(0, selection.max_identities)]
    chosen = set(identities)
    selected = [item for item in items if item.identity in chosen]
    if selection.max_images is not None:
        selected = selected[: max(0, selection.max_images)]
    return selected


def load_aligned(
    cache_name: str,
    items: Sequence[SourceImage],
    selection: Selection,
    *,
    method: Method,
    detector: str = "mtcnn",
    progress: bool = True,
    info: dict[str, object] | None = None,
    name: str | None = None,
    notes: dict[str, object] | None = None,
) -> FaceSet:
    """The common path of every on-disk data set: select ``items``, align them into the cache of
    ``cache_name`` (resuming earlier work), and read the crops back as a :class:`FaceSet` ``name``."""
    chosen = select_items(items, selection)
    records = cache_faces(cache_name, chosen, method=method, detector=detector, progress=progress, info=info)
    return faceset_from_records(cache_name, records, notes, name=name)
