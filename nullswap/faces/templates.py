"""Five-point face templates and the fixed similarity maps between them.

Every face in the harness lives in one *canonical frame*: a 256×256 RGB crop aligned like FFHQ and
CelebA-HQ (eye distance a quarter of the side, crop centre a tenth of the eye-to-mouth distance below
the eyes).  CelebA-HQ images therefore enter by a plain resize, and any other photo by detection plus
a similarity warp onto :data:`CANONICAL_256`.

A recognizer expects its own frame (ArcFace's 112 template, dlib's 150 chip, ...).  Because both frames
are similarity images of the same five landmarks, the map from the canonical crop to a recognizer's
frame is one fixed 2×3 matrix, applied differentiably by :func:`nullswap.faces.warp.warp_affine` —
so the same recognizer object can train NullSwap (gradients) and evaluate it.

Landmark order throughout: left eye, right eye, nose tip, left mouth corner, right mouth corner
(left/right as seen in the image).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.transform import SimilarityTransform

# insightface's ArcFace template for 112×112 crops (the standard for ArcFace, SFace, MobileFaceNet).
ARCFACE_112_POINTS = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


@dataclass(frozen=True)
class Template:
    """Where the five landmarks sit in a square crop of ``size`` pixels."""

    name: str
    size: int
    points: np.ndarray

    def scaled(self, size: int, name: str | None = None) -> Template:
        return Template(name or f"{self.name}@{size}", size, self.points * (size / self.size))


def _ffhq_like(size: int) -> np.ndarray:
    """ArcFace's landmark shape placed with FFHQ/CelebA-HQ framing in a ``size`` crop."""
    pts = ARCFACE_112_POINTS.copy()
    eye_mid = pts[:2].mean(axis=0)
    mouth_mid = pts[3:].mean(axis=0)
    eye_dist = np.linalg.norm(pts[1] - pts[0])
    scale = 0.25 * size / eye_dist
    pts = (pts - eye_mid) * scale
    eye_to_mouth = (mouth_mid - eye_mid) * scale
    centre = np.array([size / 2.0, size / 2.0])
    # FFHQ: crop centre = eye midpoint + 0.1 * eye-to-mouth vector.
    return pts + centre - 0.1 * eye_to_mouth


CANONICAL_SIZE = 256
CANONICAL_256 = Template("canonical", CANONICAL_SIZE, _ffhq_like(CANONICAL_SIZE))
ARCFACE_112 = Template("arcface", 112, ARCFACE_112_POINTS)


def similarity_matrix(src_points: np.ndarray, dst_points: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama) mapping ``src_points`` onto ``dst_points`` as a 2×3 matrix
    in pixel coordinates (the convention of ``cv2.warpAffine``)."""
    tform = SimilarityTransform.from_estimate(np.asarray(src_points, float), np.asarray(dst_points, float)) \
        if hasattr(SimilarityTransform, "from_estimate") else None
    if tform is None:
        tform = SimilarityTransform()
        if not tform.estimate(np.asarray(src_points, float), np.asarray(dst_points, float)):
            raise ValueError("degenerate landmarks: cannot estimate a similarity transform")
    return np.asarray(tform.params[:2], dtype=np.float64)


def template_to_template(src: Template, dst: Template) -> np.ndarray:
    """The fixed 2×3 map from crops in ``src``'s frame to crops in ``dst``'s frame."""
    return similarity_matrix(src.points, dst.points)


# dlib's face-recognition chip: dlib.get_face_chip(image, shape5, size=150, padding=0.25), aligned by
# dlib's 5-point predictor (eye corners, nose base).  Derived empirically, not from dlib's constants:
# on the 30 faces dlib's HOG detector finds in the registry photos (face_recognition obama/obama2/
# obama3/biden, insightface t1, face-api sample1-6), each face's similarity from canonical-256
# coordinates (5 points from dlib's 68-point predictor) to dlib's chip coordinates, applied to
# CANONICAL_256's points; 2 strongly turned faces dropped as outliers; the mean of the other 28
# re-fitted as one similarity (scale 0.8316, rotation -1.90 degrees).  Per-face spread about these
# points: 3.6 px RMS in the 150 chip.  Re-derive: python -m nullswap.recognizers.dlib_resnet
# (checked by tests/test_recognizer_dlib.py::test_dlib_chip_template_is_reproduced_from_real_faces).
DLIB_CHIP_150 = Template(
    "dlib_chip",
    150,
    np.array(
        [
            [46.2367, 44.9297],
            [99.4162, 42.8702],
            [74.0044, 74.2915],
            [53.1871, 106.1552],
            [97.2259, 104.4497],
        ],
        dtype=np.float64,
    ),
)


# deepface's own crop as a fixed frame (deepface 0.0.103, default detector "opencv", align=True): the
# Haar box, rotated so the eye line is level, padded to a square and resized to the model's side; the
# same crop feeds every deepface model, so these three differ only in side.  Derived empirically: on the
# real faces of the registry photos (face_recognition obama/obama2/obama3/biden, insightface t1 and
# Tom_Hanks, face-api sample1-6) that both deepface's detector and MTCNN find, deepface's own
# extract_face + resize_image were run on an image holding its pixel coordinates, giving each face's
# exact photo -> model-input map; composed with the face's photo -> canonical similarity (MTCNN's five
# points), each face gives one canonical -> model-input map; their element-wise median, reduced to a
# similarity, is applied to CANONICAL_256's points.  22 faces; a face's own deepface crop sits a median
# 4.2 px (3.8 % of the side; mean 5.8, 90th percentile 11.8 px at 112) from this fixed frame, the spread
# of the Haar box and of its eye detector.  Re-derive: python -m nullswap.recognizers.deepface_backend
# (needs OpenCV's Haar cascades; checked by tests/test_recognizers_paper.py).
DEEPFACE_ARCFACE_112 = Template(
    "deepface_opencv",
    112,
    np.array(
        [
            [32.4399, 41.0429],
            [73.4368, 40.7666],
            [53.097, 64.3341],
            [36.2838, 88.3554],
            [70.2341, 88.1266],
        ],
        dtype=np.float64,
    ),
)

FACENET_160 = Template(
    "deepface_opencv",
    160,
    np.array(
        [
            [46.3695, 58.845],
            [104.9365, 58.449],
            [75.8804, 92.1175],
            [51.8623, 126.4342],
            [100.3628, 126.1062],
        ],
        dtype=np.float64,
    ),
)

VGGFACE_224 = Template(
    "deepface_opencv",
    224,
    np.array(
        [
            [65.2417, 82.5844],
            [147.2355, 82.0308],
            [106.5563, 129.1663],
            [72.9305, 177.2093],
            [140.8312, 176.7509],
        ],
        dtype=np.float64,
    ),
)
