"""Face detection with five landmarks, and reading photos the way a user hands them to us.

Two back ends give the same :class:`Detection` (box, score, five landmarks in the harness order: left
eye, right eye, nose tip, left mouth corner, right mouth corner, left/right *as seen in the image*):

* ``mtcnn`` (default): facenet-pytorch's MTCNN, whose three small networks ship inside the PyPI
  package, so it works on an offline machine.  Its score is a face probability in [0, 1].
* ``dlib``: dlib's HOG frontal-face detector plus the 68-point shape predictor (resolved through
  :func:`nullswap.weights.path`), reduced to five points (eye centres, nose tip, mouth corners).
  Its score is the HOG margin, not a probability.

Bad input fails with a :class:`FaceInputError` subclass whose message a user can act on: an unreadable
file (:class:`UnreadableImageError`), an image too small to hold a face (:class:`ImageTooSmallError`)
or a photo without a face (:class:`NoFaceError`).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MIN_IMAGE_SIDE = 32
"""Smallest image side (pixels) accepted: below it no detector can find a face worth aligning."""


class FaceInputError(ValueError):
    """A photo cannot be turned into an aligned face; the message says why in plain words."""


class UnreadableImageError(FaceInputError):
    """The file is missing, is not an image, or is damaged."""


class ImageTooSmallError(FaceInputError):
    """The image is smaller than :data:`MIN_IMAGE_SIDE` on one side."""


class NoFaceError(FaceInputError):
    """The detector found no face in the photo."""


@dataclass(frozen=True)
class Detection:
    """One detected face in photo pixel coordinates.

    ``box`` is (x1, y1, x2, y2); ``landmarks`` is (5, 2) as (x, y) in the harness order.
    """

    box: np.ndarray
    score: float
    landmarks: np.ndarray

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))

    @property
    def size(self) -> float:
        """Side of the detection box (mean of width and height)."""
        return float((self.box[2] - self.box[0] + self.box[3] - self.box[1]) / 2.0)

    @property
    def centre(self) -> np.ndarray:
        return np.array([(self.box[0] + self.box[2]) / 2.0, (self.box[1] + self.box[3]) / 2.0])

    def to_json(self) -> dict[str, object]:
        return {
            "box": [round(float(v), 2) for v in self.box],
            "score": round(float(self.score), 5),
            "landmarks": [[round(float(x), 2), round(float(y), 2)] for x, y in self.landmarks],
        }


# --------------------------------------------------------------------------------------------------
# Reading and checking images
# --------------------------------------------------------------------------------------------------
def _describe(name: str | Path | None) -> str:
    return f"'{name}'" if name is not None else "the image"


def _to_rgb_uint8(image: Image.Image) -> np.ndarray:
    """Any PIL mode → RGB uint8, keeping the full range of 16-bit and float images."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        # 16-bit PNGs arrive as I;16 (or I after some conversions); floats are taken as [0, 1].
        top = (
            1.0
            if mode == "F" and array.max(initial=0.0) <= 1.0
            else (255.0 if array.max(initial=0) <= 255 else 65535.0)
        )
        grey = np.clip(np.round(array / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        # Composite on white: a transparent background must not become black blocks around a face.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(image.convert("RGB"))


def load_image(path: str | Path) -> np.ndarray:
    """Read a photo as RGB uint8 (H, W, 3), upright according to its EXIF orientation.

    Greyscale, palette, RGBA (composited on white) and 16-bit images are converted; a missing,
    non-image or truncated file raises :class:`UnreadableImageError` naming the file.
    """
    path = Path(path)
    if not path.exists():
        raise UnreadableImageError(f"cannot read '{path}': the file does not exist")
    if path.is_dir():
        raise UnreadableImageError(f"cannot read '{path}': it is a folder, not an image file")
    try:
        with Image.open(path) as opened:
            opened.load()  # Pillow's decompression-bomb guard stays on (warning, then error at 2x)
            upright = ImageOps.exif_transpose(opened)
            array = _to_rgb_uint8(upright)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImageError(
            f"cannot read '{path}': it is not an image this program can decode, or the file is damaged "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    return np.ascontiguousarray(array)


def check_image(image: np.ndarray, name: str | Path | None = None) -> np.ndarray:
    """Validate an in-memory image and return it as contiguous RGB uint8 (H, W, 3).

    Accepts (H, W) greyscale, (H, W, 1|3|4) uint8 or uint16, and float images in [0, 1].
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise UnreadableImageError(f"{_describe(name)} has shape {array.shape}; expected (H, W) or (H, W, 3)")
    if array.dtype == np.uint16:
        array = np.round(array.astype(np.float64) / 257.0).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise UnreadableImageError(f"{_describe(name)} contains NaN or infinite values")
        array = np.clip(np.round(array * 255.0), 0, 255).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise UnreadableImageError(f"{_describe(name)} has pixel type {array.dtype}; expected uint8")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    elif array.shape[2] == 4:
        alpha = array[..., 3:4].astype(np.float64) / 255.0
        array = np.round(array[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    height, width = array.shape[:2]
    if min(height, width) < MIN_IMAGE_SIDE:
        raise ImageTooSmallError(
            f"{_describe(name)} is {width}×{height} pixels; a face photo must be at least "
            f"{MIN_IMAGE_SIDE}×{MIN_IMAGE_SIDE} (ideally with the face over 100 pixels wide)"
        )
    return np.ascontiguousarray(array)


# --------------------------------------------------------------------------------------------------
# Detectors
# --------------------------------------------------------------------------------------------------
class Detector(Protocol):
    name: str

    def detect(self, image: np.ndarray) -> list[Detection]:
        """All faces in an RGB uint8 image, highest score first."""
        ...


@contextlib.contextmanager
def _single_threaded(torch: Any) -> Iterator[None]:
    """MTCNN runs thousands of tiny ops; intra-op threads only add synchronisation (measured 11×
    slower with 2 threads than 1 on a busy 2-core machine), so it runs on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _without_eager_dynamo() -> Iterator[None]:
    """Import facenet-pytorch without torchvision importing ``torch._dynamo``.

    facenet-pytorch imports torchvision, whose ``ops/roi_align.py`` does ``from torch._dynamo.utils import
    is_compile_supported`` at import time (against its own ``lazy_compile`` docstring, which means to
    avoid importing dynamo eagerly); that one line costs a few seconds of start-up — more than the rest of
    ``nullswap protect`` — for a function MTCNN never calls.  While the import runs, a stand-in module
    answers that one name with a function that imports the real one on first use, and it is removed again
    right after, so any later ``import torch._dynamo`` gets the real package.  Nothing changes when dynamo
    or torchvision is already loaded."""
    import sys
    import types

    name = "torch._dynamo.utils"
    if name in sys.modules or "torch._dynamo" in sys.modules or "torchvision" in sys.modules:
        yield
        return
    stand_in = types.ModuleType(name)

    def is_compile_supported(device_type: str) -> bool:
        from torch._dynamo.utils import is_compile_supported as real

        return bool(real(device_type))

    stand_in.is_compile_supported = is_compile_supported  # type: ignore[attr-defined]
    sys.modules[name] = stand_in
    try:
        yield
    finally:
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]


class MTCNNDetector:
    """facenet-pytorch's MTCNN (P-, R-, O-Net weights ship inside the package: no download).

    ``min_face_size`` is the smallest face side searched for; ``thresholds`` are the three stages'
    score thresholds (the library defaults).  One instance is safe to share between threads.
    """

    name = "mtcnn"

    def __init__(
        self,
        min_face_size: int = 20,
        thresholds: Sequence[float] = (0.6, 0.7, 0.7),
        device: str = "cpu",
    ) -> None:
        with _without_eager_dynamo():
            from facenet_pytorch import MTCNN

        self.min_face_size = int(min_face_size)
        self._model = MTCNN(
            keep_all=True, min_face_size=self.min_face_size, thresholds=list(thresholds), device=device
        )
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray) -> list[Detection]:
        import torch

        image = check_image(image)
        with self._lock, torch.no_grad(), _single_threaded(torch):
            boxes, scores, points = self._model.detect(image, landmarks=True)
        if boxes is None:
            return []
        found = [
            Detection(np.asarray(b, dtype=np.float64), float(s), np.asarray(p, dtype=np.float64))
            for b, s, p in zip(boxes, scores, points)
        ]
        return sorted(found, key=lambda d: -d.score)


class DlibDetector:
    """dlib's HOG frontal detector + 68-point shape predictor, reduced to the five harness points.

    The 68-point model's eye indices 36–41 are the eye on the image's left, 42–47 the one on its right;
    30 is the nose tip, 48 and 54 the mouth corners.  ``upsample`` doubles the image that many times
    before detecting (finds faces down to ~40 px instead of ~80 px, at 4× the cost per step).
    """

    name = "dlib"

    def __init__(self, upsample: int = 1) -> None:
        import dlib

        from nullswap.weights import path as weight_path

        self.upsample = int(upsample)
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(weight_path("dlib_shape_predictor_68")))
        self._dlib = dlib
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray) -> list[Detection]:
        image = check_image(image)
        with self._lock:
            rects, scores, _ = self._detector.run(image, self.upsample, 0.0)
            shapes = [self._predictor(image, rect) for rect in rects]
        found = []
        for rect, score, shape in zip(rects, scores, shapes):
            pts = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)
            five = np.stack([pts[36:42].mean(0), pts[42:48].mean(0), pts[30], pts[48], pts[54]])
            box = np.array([rect.left(), rect.top(), rect.right(), rect.bottom()], dtype=np.float64)
            found.append(Detection(box, float(score), five))
        return sorted(found, key=lambda d: -d.score)


DETECTORS = {"mtcnn": MTCNNDetector, "dlib": DlibDetector}


@functools.lru_cache(maxsize=4)
def get_detector(name: str = "mtcnn") -> Detector:
    """A shared detector instance (built once per process: loading takes ~0.5 s)."""
    if name not in DETECTORS:
        raise KeyError(f"unknown face detector '{name}'; available: {', '.join(DETECTORS)}")
    return DETECTORS[name]()


def _resolve(detector: Detector | str | None) -> Detector:
    if detector is None:
        return get_detector("mtcnn")
    if isinstance(detector, str):
        return get_detector(detector)
    return detector


def detect_faces(
    image: np.ndarray,
    detector: Detector | str | None = None,
    *,
    min_score: float = 0.0,
    max_side: int | None = None,
    name: str | Path | None = None,
) -> list[Detection]:
    """Every face in ``image`` with score ≥ ``min_score``, highest score first (may be empty).

    ``max_side`` detects on a copy shrunk so that its longer side is at most that many pixels, and
    maps boxes and landmarks back to full resolution: several times faster on large photos, at the
    cost of faces smaller than ~20 × (longer side / max_side) pixels.
    """
    image = check_image(image, name)
    scale = 1.0
    searched = image
    if max_side is not None and max(image.shape[:2]) > max_side:
        import cv2

        scale = max_side / max(image.shape[:2])
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        searched = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        scale_x, scale_y = image.shape[1] / size[0], image.shape[0] / size[1]
    found = [d for d in _resolve(detector).detect(searched) if d.score >= min_score]
    if scale == 1.0:
        return found
    factor = np.array([scale_x, scale_y])

    def back(points: np.ndarray) -> np.ndarray:  # pixel centres: (u + 0.5) * s - 0.5
        return (points + 0.5) * factor - 0.5

    return [Detection(back(d.box.reshape(2, 2)).reshape(4), d.score, back(d.landmarks)) for d in found]


def plausible_faces(
    detections: Sequence[Detection],
    *,
    sure_score: float = 0.95,
    floor_score: float = 0.7,
    relative_size: float = 0.5,
) -> list[Detection]:
    """Drop the detector's likely false positives, keeping the order.

    A face is kept when its score is ≥ ``sure_score``, or when it scores ≥ ``floor_score`` *and* is
    at least ``relative_size`` × the largest face of the photo.  Why: on real photos MTCNN's
    lower-confidence hits are small background patterns (a watch, a fold of cloth, a hand), while the
    genuine faces that score low are full-size heads turned down or aside.
    """
    if not detections:
        return []
    largest = max(d.size for d in detections)
    return [
        d
        for d in detections
        if d.score >= sure_score or (d.score >= floor_score and d.size >= relative_size * largest)
    ]


def detect_one(
    image: np.ndarray,
    detector: Detector | str | None = None,
    *,
    near: np.ndarray | Sequence[float] | None = None,
    min_score: float = 0.0,
    max_side: int | None = None,
    name: str | Path | None = None,
) -> Detection:
    """The main face: the largest one, or the one whose centre is nearest ``near`` (x, y).

    Raises :class:`NoFaceError` when there is none.
    """
    faces = detect_faces(image, detector, min_score=min_score, max_side=max_side, name=name)
    if not faces:
        raise NoFaceError(
            f"no face found in {_describe(name)}: use a photo where the face is visible, roughly "
            "frontal, and at least ~40 pixels wide"
        )
    if near is not None:
        point = np.asarray(near, dtype=np.float64)
        return min(faces, key=lambda d: float(np.linalg.norm(d.centre - point)))
    return max(faces, key=lambda d: d.size)
