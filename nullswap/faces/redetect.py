"""Re-detection: find a known face again in a changed photo and align it afresh.

Whoever receives a protected photo (a recognizer, a face swapper) detects and aligns the face
themselves; they never get our crop or our landmarks.  Measuring a cloak on our own aligned crop
therefore flatters it.  These helpers run an *independent* detector (dlib's HOG detector with its
landmark predictor by default, while protection uses MTCNN) on the changed image, pick the face that
sits where the original one was, and re-align it to the canonical crop.  A face that is not found
again is reported as such (``None``), never replaced by the original alignment.

:func:`realign_with_dlib` is the geometry behind the ``<name>@redetect`` recognizers
(:mod:`nullswap.recognizers.redetect`): dlib's complete pipeline on an evaluated crop.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import cv2
import numpy as np

from nullswap.faces.align import align_face
from nullswap.faces.detect import Detection, Detector, DlibDetector, detect_faces, get_detector
from nullswap.faces.dlib_finder import DlibFaceFinder
from nullswap.faces.templates import CANONICAL_256

REDETECTOR = "dlib"
"""Default independent detector (protection detects with MTCNN)."""

#: a re-detected face counts as the same face when its centre is within this × its expected size
MATCH_TOLERANCE = 0.4
#: canonical crops are padded by this fraction of their side before re-detection (the detector needs
#: context around a tightly framed face)
CROP_PADDING = 0.25


def match_face(
    detections: Sequence[Detection], centre: np.ndarray, size: float, tolerance: float = MATCH_TOLERANCE
) -> Detection | None:
    """The detection nearest ``centre`` if it lies within ``tolerance × size`` of it, else ``None``."""
    if not detections:
        return None
    best = min(detections, key=lambda d: float(np.linalg.norm(d.centre - centre)))
    return best if np.linalg.norm(best.centre - centre) <= tolerance * size else None


def _detector(detector: Detector | str | None) -> Detector:
    if detector is None:
        return get_detector(REDETECTOR)
    return get_detector(detector) if isinstance(detector, str) else detector


@functools.lru_cache(maxsize=1)
def crop_detector() -> Detector:
    """dlib without upsampling: a canonical crop's face is ~130 px wide, well above HOG's ~80 px floor,
    and the search is 4× cheaper than with one upsampling step."""
    return DlibDetector(upsample=0)


def redetect_crop(
    crop: np.ndarray, detector: Detector | str | None = None, padding: float = CROP_PADDING
) -> np.ndarray | None:
    """Re-detect the face of a (changed) canonical crop and re-align it: uint8 (256, 256, 3) or ``None``.

    The crop is padded by edge replication so the detector sees the whole head; the face expected is
    the one at the crop's centre, about half the crop wide.
    """
    crop = np.asarray(crop)
    side = crop.shape[0]
    pad = round(padding * side)
    padded = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    centre = np.array([pad + (side - 1) / 2.0, pad + (side - 1) / 2.0])
    found = match_face(detect_faces(padded, crop_detector() if detector is None else _detector(detector)),
                       centre, 0.5 * side)
    if found is None:
        return None
    aligned, _ = align_face(padded, found.landmarks, CANONICAL_256)
    return aligned


def redetect_in_photo(
    photo: np.ndarray, boxes: Sequence[Sequence[float]], detector: Detector | str | None = None,
    max_side: int | None = 1280,
) -> list[np.ndarray | None]:
    """For each original face box (x1, y1, x2, y2), the face re-detected near it in ``photo``, aligned
    to the canonical crop, or ``None`` when the independent detector does not find it there."""
    detections = detect_faces(photo, _detector(detector), max_side=max_side)
    crops: list[np.ndarray | None] = []
    for box in boxes:
        x1, y1, x2, y2 = (float(v) for v in box)
        centre = np.array([(x1 + x2) / 2.0, (y1 + y2) / 2.0])
        found = match_face(detections, centre, (x2 - x1 + y2 - y1) / 2.0)
        crops.append(None if found is None else align_face(photo, found.landmarks, CANONICAL_256)[0])
    return crops


def realign_with_dlib(crop: np.ndarray, finder: DlibFaceFinder, dlib_chip: bool = False) -> np.ndarray | None:
    """Re-detect the face of a uint8 crop with dlib's own pipeline and re-align it, or ``None``.

    The face nearest the crop's centre is taken; it comes back as dlib's 150 chip (``dlib_chip``: what
    ``compute_face_descriptor`` sees) or re-aligned from its five landmarks onto the canonical crop at
    the crop's size."""
    faces = finder(crop)
    if not faces:
        return None
    centre = np.array(crop.shape[1::-1], dtype=np.float64) / 2
    face = min(faces, key=lambda f: float(np.linalg.norm(f.points.mean(axis=0) - centre)))
    if dlib_chip:
        return finder.chip(crop, face)
    return finder.canonical_crop(crop, face, size=crop.shape[0])
