"""Views: transformed re-captures of one photographed face, so a single-photo identity can form a gallery.

A person photographed once cannot be probed against a gallery.  Each test face of the ``sample`` and
``offline`` sets therefore gets views: different realistic transformations of the original photograph
(crop jitter and down-scaling, horizontal flip, small rotation, JPEG re-encoding at quality 60–80,
brightness, contrast, colour and gamma changes, a slight blur), each re-detected and re-aligned, so
every view is a genuinely different crop of the same identity.  Such views are much easier to match
than independent photographs: identification numbers built on them measure robustness to re-capture
of the same photo, and must say so.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import cv2
import numpy as np

from nullswap.data.cached_set import CachedSetError
from nullswap.data.face_build import detection_fields, save_aligned
from nullswap.faces.align import transform_points, warp_to_crop
from nullswap.faces.detect import Detection, MTCNNDetector, detect_faces

VIEW_FACE_PX = 160.0
VIEW_MIN_FACE = 40
"""Views draw the face at most VIEW_FACE_PX wide and search them for faces of at least VIEW_MIN_FACE px."""
VIEW_SEED_SALT = "nullswap-sample-split-v1"
"""Salt of each view's random seed: the sample set's split salt, where views were first made (a new
salt would make every cached view differ from a rebuilt one)."""

VIEW_RECIPES: tuple[str, ...] = ("jitter_jpeg", "flip_light", "rotate_colour", "jitter_rotate_jpeg")
VIEW_DESCRIPTIONS = {
    "jitter_jpeg": "crop shifted and rescaled, photo down-scaled, JPEG quality 70",
    "flip_light": "horizontal flip, brightness and contrast change",
    "rotate_colour": "rotation by 6–12 degrees, desaturation and a colour cast",
    "jitter_rotate_jpeg": "small rotation and crop shift, gamma, slight blur, JPEG quality 60–80",
}


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, encoded = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise CachedSetError("JPEG encoding failed")
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
    return int(hashlib.sha256(f"{VIEW_SEED_SALT}/view/{key}/{index}".encode()).hexdigest()[:16], 16)


def build_view(
    directory: Path, face: dict, key: str, recipe: str, photo: np.ndarray, det: Detection, seed: int
) -> tuple[dict | None, dict]:
    """Make, re-detect and align one view of ``face`` into ``directory``: (its record, or ``None`` and
    the failure saying why the face was not found again where it should be)."""
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
    file = save_aligned(directory, key, view, best)
    record = dict(face)
    record.update(
        key=key,
        view=recipe,
        file=file,
        **detection_fields(best),
        view_params={k: round(float(v), 4) for k, v in params.items()},
        view_matrix=[[round(float(x), 6) for x in row] for row in matrix],
        coordinates="box and landmarks are in the view image (view_matrix maps photo pixels to it)",
    )
    return record, {}


def build_views(
    directory: Path, face: dict, photo: np.ndarray, det: Detection, count: int
) -> tuple[list[dict], list[dict]]:
    """Views ``<key>@v1`` … ``<key>@v<count>`` of one face (recipes in turn): (records, failures)."""
    records, failures = [], []
    for v in range(count):
        recipe = VIEW_RECIPES[v % len(VIEW_RECIPES)]
        record, failure = build_view(
            directory, face, f"{face['key']}@v{v + 1}", recipe, photo, det, view_seed(face["key"], v)
        )
        if record is not None:
            records.append(record)
        else:
            failures.append(failure)
    return records, failures
