"""dlib's own face finding: its frontal (HOG) detector, its 5-point alignment and the harness's five points.

Two users need exactly what a dlib user runs: the ``dlib-cpp`` recognizer (dlib aligns with
``get_face_chip`` on the 5-point predictor) and the evaluation through re-detection (an attacker's own
detector, independent of the MTCNN that built our crops).  Both get it from :class:`DlibFaceFinder`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nullswap.faces.templates import CANONICAL_256, similarity_matrix
from nullswap.weights import path as weight_path

#: side and padding of dlib's face chip (what ``compute_face_descriptor`` sees)
CHIP_SIZE = 150
CHIP_PADDING = 0.25


@dataclass
class DlibFace:
    """One face found by dlib: what its recognizer aligns with, and the harness's five points."""

    rect: object  # dlib.rectangle from the frontal (HOG) detector
    shape5: object  # dlib.full_object_detection of the 5-point predictor (eye corners, nose base)
    points: np.ndarray  # (5, 2) harness landmarks from the 68-point predictor
    chip_matrix: np.ndarray  # 2×3 image → 150 chip map of dlib.get_face_chip (padding 0.25)


def chip_matrix(details: object) -> np.ndarray:
    """The 2×3 pixel map (image → chip, ``cv2.warpAffine`` convention) of a ``dlib.chip_details``.

    dlib rotates the image by ``angle`` about the centre of ``rect`` and stretches ``rect``'s corners
    onto the chip's corner pixels: top-left → (0, 0), top-right → (cols−1, 0), bottom-right →
    (cols−1, rows−1)."""
    import cv2

    rect, angle = details.rect, details.angle  # type: ignore[attr-defined]
    cx, cy = (rect.left() + rect.right()) / 2.0, (rect.top() + rect.bottom()) / 2.0
    c, s = np.cos(angle), np.sin(angle)

    def rotate(x: float, y: float) -> tuple[float, float]:
        return cx + c * (x - cx) - s * (y - cy), cy + s * (x - cx) + c * (y - cy)

    src = np.array([rotate(rect.left(), rect.top()), rotate(rect.right(), rect.top()),
                    rotate(rect.right(), rect.bottom())], dtype=np.float64)
    cols, rows = details.cols - 1, details.rows - 1  # type: ignore[attr-defined]
    dst = np.array([[0.0, 0.0], [cols, 0.0], [cols, rows]])
    return cv2.getAffineTransform(src.astype(np.float32), dst.astype(np.float32)).astype(np.float64)


def five_points_from_68(shape68: object) -> np.ndarray:
    """Harness landmarks from dlib's 68 points: eye centres (mean of 36–41, 42–47), nose tip (30),
    mouth corners (48, 54); left/right as seen in the image."""
    pts = np.array([[p.x, p.y] for p in shape68.parts()], dtype=np.float64)  # type: ignore[attr-defined]
    return np.stack([pts[36:42].mean(0), pts[42:48].mean(0), pts[30], pts[48], pts[54]])


class DlibFaceFinder:
    """dlib's frontal detector + 5-point predictor (its recognizer's alignment) + 68-point predictor
    (the harness's five landmarks), on uint8 RGB images."""

    def __init__(self, upsample: int = 0) -> None:
        import dlib

        self.dlib = dlib
        self.upsample = upsample
        self.detector = dlib.get_frontal_face_detector()
        self.predictor5 = dlib.shape_predictor(str(weight_path("dlib_shape_predictor_5")))
        self.predictor68 = dlib.shape_predictor(str(weight_path("dlib_shape_predictor_68")))

    def __call__(self, image: np.ndarray) -> list[DlibFace]:
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected a uint8 RGB image (H, W, 3), got {image.dtype} {image.shape}")
        faces = []
        for rect in self.detector(image, self.upsample):
            shape5 = self.predictor5(image, rect)
            details = self.dlib.get_face_chip_details(shape5, CHIP_SIZE, CHIP_PADDING)
            faces.append(DlibFace(rect, shape5, five_points_from_68(self.predictor68(image, rect)),
                                  chip_matrix(details)))
        return faces

    def chip(self, image: np.ndarray, face: DlibFace) -> np.ndarray:
        """dlib's own 150×150 chip (what ``compute_face_descriptor`` sees), uint8 RGB."""
        return self.dlib.get_face_chip(image, face.shape5, size=CHIP_SIZE, padding=CHIP_PADDING)

    @staticmethod
    def canonical_crop(image: np.ndarray, face: DlibFace, size: int = CANONICAL_256.size) -> np.ndarray:
        """The harness's canonical crop of ``face`` (5-point similarity onto CANONICAL_256), uint8 RGB."""
        import cv2

        matrix = similarity_matrix(face.points, CANONICAL_256.scaled(size).points)
        return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
