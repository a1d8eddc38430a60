"""``landmark``: a classical landmark-based face swap (not a learned swapper), the one that runs offline.

No package registry ships a learned swapper's weights, so the offline Table 3 uses the old geometric
method: dlib finds 68 landmarks on the source and on the target; the source face is warped onto the
target's landmarks triangle by triangle (Delaunay, piecewise affine); its colours are matched to the
target's (Lab mean and spread inside the face); and it is blended in with Poisson (seamless) cloning.
It moves the source's *pixels* into the target, so it carries whatever identity signal those pixels
hold — a protected source shows whether a cloak survives a geometric warp and a blend.  Its results
are not comparable with the paper's learned swappers, and every table labels it as classical.

A pair whose source or target shows no face to dlib's HOG detector is reported ``no_face``; an error in
the geometry (a degenerate triangulation, a blend that cannot be placed) is ``failed``.
"""

from __future__ import annotations

import threading
from typing import ClassVar

import cv2
import numpy as np
import torch

from nullswap.images import from_uint8, to_uint8
from swappers import register_swapper
from swappers._warp import face_mask, match_colour, seamless_blend, triangles, warp_piecewise_affine
from swappers.base import Swapper, SwapResult

WEIGHTS = ("dlib_shape_predictor_68",)
#: landmarks that steer the warp: all but the inner lips (60–67), which coincide in a closed mouth and
#: would give the source degenerate triangles; the outer lips (48–59) still carry the mouth
WARP_POINTS = np.arange(60)


class NoFace(ValueError):
    """dlib found no face in an image of the pair."""


class Landmarks68:
    """dlib's HOG frontal detector + 68-point predictor (weights from the manifest, verified by sha256)."""

    def __init__(self, upsample: int = 1) -> None:
        import dlib

        from nullswap.weights import path as weight_path

        self.upsample = int(upsample)
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(weight_path("dlib_shape_predictor_68")))
        self._lock = threading.Lock()

    def __call__(self, image: np.ndarray, what: str) -> np.ndarray:
        """(68, 2) landmarks of the highest-scoring face in ``image``; :class:`NoFace` when there is none."""
        # dlib reads the buffer as packed 8-bit RGB: a strided view (e.g. from a permuted tensor) must be
        # copied first, or detection depends on whatever memory layout the caller happened to pass.
        image = np.ascontiguousarray(image, dtype=np.uint8)
        with self._lock:
            rects, scores, _ = self._detector.run(image, self.upsample, 0.0)
            if not rects:
                raise NoFace(f"dlib found no face in the {what}")
            best = int(np.argmax(scores))
            shape = self._predictor(image, rects[best])
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)


@register_swapper("landmark")
class LandmarkSwapper(Swapper):
    name: ClassVar[str] = "landmark"
    kind: ClassVar[str] = "classical landmark-based (dlib 68 points, Delaunay warp, Poisson blend; not learned)"

    def __init__(self, upsample: int = 1, erode: int = 3, colour_correction: bool = True) -> None:
        """``upsample``: dlib HOG upsampling (1 finds faces down to ~40 px); ``erode``: px taken off the
        face hull before blending; ``colour_correction``: match Lab statistics before the Poisson blend."""
        self.upsample = int(upsample)
        self.erode = int(erode)
        self.colour_correction = bool(colour_correction)
        self.landmarks = Landmarks68(self.upsample)

    def swap_one(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        """One swap on uint8 RGB images: the source's face in the target's place."""
        source_points = self.landmarks(source, "source")[WARP_POINTS]
        target_points = self.landmarks(target, "target")[WARP_POINTS]
        tris = triangles(target_points)
        warped, covered = warp_piecewise_affine(source, source_points, target_points, tris, target.shape)
        mask = face_mask(target_points, covered, self.erode)
        if self.colour_correction:
            warped = match_colour(warped, target, mask)
        return seamless_blend(warped, target, mask)

    def forward(self, sources: torch.Tensor, targets: torch.Tensor) -> SwapResult:
        src, tgt = to_uint8(sources), to_uint8(targets)
        out = np.zeros_like(tgt)
        status, messages = [], []
        for i in range(len(src)):
            try:
                out[i] = self.swap_one(src[i], tgt[i])
                status.append("ok")
                messages.append("")
            except NoFace as exc:
                status.append("no_face")
                messages.append(str(exc))
            except (ValueError, ArithmeticError, cv2.error) as exc:  # a degenerate geometry or blend
                status.append("failed")
                messages.append(f"{type(exc).__name__}: {exc}")
        return SwapResult(from_uint8(out), status, messages)

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "upsample": self.upsample,
            "erode": self.erode,
            "colour_correction": self.colour_correction,
            "weights": list(WEIGHTS),
        }
