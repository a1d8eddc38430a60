"""Photo → canonical 256×256 face crops, and the way back (:func:`paste_back`).

A crop is the similarity warp that puts the five detected landmarks on
:data:`nullswap.faces.templates.CANONICAL_256` (FFHQ/CelebA-HQ framing).  The 2×3 ``matrix`` maps photo
pixels to crop pixels (``cv2.warpAffine`` convention) and is kept with the crop, so that a protected
crop can be put back into the full-resolution photo: only pixels under a feathered mask change, every
other pixel of the photo stays bit-identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from nullswap.faces.detect import (
    Detection,
    Detector,
    NoFaceError,
    check_image,
    detect_faces,
    load_image,
    plausible_faces,
)
from nullswap.faces.templates import CANONICAL_256, Template, similarity_matrix

LOW_RESOLUTION_EYE_DISTANCE = 40.0
"""Faces whose eyes are closer than this (photo pixels) are upsampled > 1.6× into the canonical crop
(eye distance 64 px) and are flagged as low resolution."""

__all__ = [
    "LOW_RESOLUTION_EYE_DISTANCE",
    "AlignedFace",
    "align_face",
    "align_faces",
    "align_largest",
    "alignment_matrix",
    "crop_mask",
    "load_image",
    "paste_back",
]


@dataclass
class AlignedFace:
    """One face of a photo in the canonical frame.

    ``crop`` is uint8 (256, 256, 3); ``matrix`` (2×3) maps photo pixels to crop pixels; ``landmarks``
    and ``box`` are in photo pixels; ``score`` is the detector's.
    """

    crop: np.ndarray
    matrix: np.ndarray
    landmarks: np.ndarray
    box: np.ndarray
    score: float

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))

    @property
    def low_resolution(self) -> bool:
        return self.eye_distance < LOW_RESOLUTION_EYE_DISTANCE

    @property
    def crop_landmarks(self) -> np.ndarray:
        """The landmarks carried into crop pixels (≈ the template points)."""
        return transform_points(self.matrix, self.landmarks)


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 2×3 affine map to (N, 2) points."""
    points = np.asarray(points, dtype=np.float64)
    return points @ np.asarray(matrix, dtype=np.float64)[:, :2].T + np.asarray(matrix, dtype=np.float64)[:, 2]


def alignment_matrix(landmarks: np.ndarray, template: Template = CANONICAL_256) -> np.ndarray:
    """The 2×3 similarity (photo → crop) that best puts ``landmarks`` on ``template``."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape != (5, 2) or not np.isfinite(landmarks).all():
        raise ValueError(f"landmarks must be five finite (x, y) points, got shape {landmarks.shape}")
    return similarity_matrix(landmarks, template.points)


def _scale_of(matrix: np.ndarray) -> float:
    return float(np.sqrt(abs(np.linalg.det(np.asarray(matrix)[:, :2]))))


def warp_to_crop(
    image: np.ndarray, matrix: np.ndarray, size: int, border: int = cv2.BORDER_CONSTANT
) -> np.ndarray:
    """``cv2.warpAffine`` with anti-aliasing: when the crop shrinks the photo by 2× or more, the photo
    is first reduced by an integer factor with area averaging, so that fine texture does not alias."""
    matrix = np.asarray(matrix, dtype=np.float64)
    factor = int(np.floor(1.0 / max(_scale_of(matrix), 1e-9)))
    if factor >= 2:
        height, width = image.shape[:2]
        small = cv2.resize(
            image, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA
        )
        sx, sy = width / small.shape[1], height / small.shape[0]
        # Pixel centres: small (u, v) sits at photo ((u + 0.5) * sx - 0.5, (v + 0.5) * sy - 0.5).
        to_photo = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])
        matrix = (np.vstack([matrix, [0.0, 0.0, 1.0]]) @ to_photo)[:2]
        image = small
    return cv2.warpAffine(
        image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=0
    )


def align_face(
    image: np.ndarray, landmarks: np.ndarray, template: Template = CANONICAL_256
) -> tuple[np.ndarray, np.ndarray]:
    """Crop one face given its five landmarks: returns (crop uint8 (S, S, 3), matrix 2×3).

    Parts of the crop that fall outside the photo are black.
    """
    image = check_image(image)
    matrix = alignment_matrix(landmarks, template)
    return warp_to_crop(image, matrix, template.size), matrix


def _aligned(image: np.ndarray, detection: Detection, template: Template) -> AlignedFace:
    crop, matrix = align_face(image, detection.landmarks, template)
    return AlignedFace(crop, matrix, detection.landmarks, detection.box, detection.score)


def align_faces(
    image: np.ndarray | str | Path,
    detector: Detector | str | None = None,
    *,
    min_score: float | None = None,
    template: Template = CANONICAL_256,
) -> list[AlignedFace]:
    """Every face of a photo (array or path), aligned, ordered left to right by box centre (a stable
    order for keys).  Empty when there is no face.

    ``min_score=None`` keeps the faces :func:`~nullswap.faces.detect.plausible_faces` accepts (the
    detector's false positives on busy backgrounds removed); a number keeps every face scoring at
    least that much.
    """
    name = image if isinstance(image, (str, Path)) else None
    array = load_image(image) if name is not None else check_image(image)
    faces = detect_faces(array, detector, min_score=min_score or 0.0, name=name)
    if min_score is None:
        faces = plausible_faces(faces)
    faces.sort(key=lambda d: (float(d.centre[0]), float(d.centre[1])))
    return [_aligned(array, d, template) for d in faces]


def align_largest(
    image: np.ndarray | str | Path,
    detector: Detector | str | None = None,
    *,
    near: np.ndarray | None = None,
    min_score: float = 0.0,
    template: Template = CANONICAL_256,
) -> AlignedFace:
    """The main face of a photo aligned: the largest, or the one nearest ``near`` (x, y).

    Raises :class:`~nullswap.faces.detect.NoFaceError` when the photo has no face.
    """
    name = image if isinstance(image, (str, Path)) else None
    array = load_image(image) if name is not None else check_image(image)
    faces = detect_faces(array, detector, min_score=min_score, name=name)
    if not faces:
        what = f"'{name}'" if name is not None else "the image"
        raise NoFaceError(
            f"no face found in {what}: use a photo where the face is visible, roughly frontal, "
            "and at least ~40 pixels wide"
        )
    if near is not None:
        point = np.asarray(near, dtype=np.float64)
        best = min(faces, key=lambda d: float(np.linalg.norm(d.centre - point)))
    else:
        best = max(faces, key=lambda d: d.size)
    return _aligned(array, best, template)


def crop_mask(size: int = CANONICAL_256.size, feather: float = 0.08) -> np.ndarray:
    """Soft mask over the crop (float32 (S, S) in [0, 1]): 1 inside, falling smoothly to 0 at the
    crop's edge over ``feather`` × S pixels, so a pasted crop leaves no visible seam."""
    ramp_width = max(1.0, feather * size)
    centres = np.arange(size, dtype=np.float64) + 0.5
    distance = np.minimum(centres, size - centres)  # distance of each pixel centre to the nearest edge
    t = np.clip((distance - 0.5) / ramp_width, 0.0, 1.0)
    ramp = t * t * (3.0 - 2.0 * t)  # smoothstep
    return np.outer(ramp, ramp).astype(np.float32)


def paste_back(
    photo: np.ndarray,
    protected_crop: np.ndarray,
    matrix: np.ndarray,
    *,
    clean_crop: np.ndarray | None = None,
    feather: float = 0.08,
) -> np.ndarray:
    """Put a (protected) crop back into the full-resolution photo it was cut from.

    With ``clean_crop`` (the crop as first aligned), only the change ``protected − clean`` is warped
    back and added, so the photo keeps its own resolution and detail; without it the protected crop
    itself replaces the face region.  Either way the result is blended under :func:`crop_mask` warped
    into the photo, and pixels where that mask is zero are returned bit-identical.
    """
    photo = np.asarray(photo)
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise ValueError(f"photo must be uint8 (H, W, 3), got {photo.dtype} {photo.shape}")
    protected_crop = np.asarray(protected_crop)
    size = protected_crop.shape[0]
    if protected_crop.shape != (size, size, 3):
        raise ValueError(f"protected_crop must be square (S, S, 3), got {protected_crop.shape}")
    if clean_crop is not None and np.asarray(clean_crop).shape != protected_crop.shape:
        raise ValueError("clean_crop must have the same shape as protected_crop")
    height, width = photo.shape[:2]
    inverse = cv2.invertAffineTransform(np.asarray(matrix, dtype=np.float64))

    def to_photo(array: np.ndarray) -> np.ndarray:
        return cv2.warpAffine(
            array,
            inverse,
            (width, height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )

    mask = to_photo(crop_mask(size, feather))
    inside = mask > 0
    if not inside.any():
        return photo.copy()
    original = photo.astype(np.float32)
    if clean_crop is None:
        source = to_photo(_as_float(protected_crop))
    else:
        delta = _as_float(protected_crop) - _as_float(clean_crop)
        source = original + to_photo(delta)
    alpha = mask[..., None]
    blended = np.clip(np.round(original * (1.0 - alpha) + source * alpha), 0, 255).astype(np.uint8)
    result = photo.copy()
    result[inside] = blended[inside]
    return result


def _as_float(crop: np.ndarray) -> np.ndarray:
    """uint8 crops stay in 0–255; float crops in [0, 1] are scaled to 0–255."""
    crop = np.asarray(crop)
    if crop.dtype == np.uint8:
        return crop.astype(np.float32)
    return np.asarray(crop, dtype=np.float32) * 255.0
