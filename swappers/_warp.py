"""The image operations of a classical landmark face swap (OpenCV), one function per step.

1. :func:`triangles` — a Delaunay triangulation of the target's 68 landmarks (indices into the list, so
   the same triangles exist on the source; scipy's qhull);
2. :func:`warp_piecewise_affine` — each source triangle mapped onto its target triangle by its own
   affine transform, which moves the source's *pixels* (skin, eyes, mouth) into the target's geometry;
3. :func:`face_mask` — the convex hull of the target landmarks, the region that is replaced;
4. :func:`match_colour` — the warped face's colour statistics (Lab mean and standard deviation inside
   the mask) moved onto the target's, so lighting and skin tone agree before blending;
5. :func:`seamless_blend` — Poisson (seamless) cloning of the corrected face into the target.

All images are H×W×3 uint8 RGB; landmarks are (68, 2) float pixel coordinates.
"""

from __future__ import annotations

import cv2
import numpy as np


def triangles(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles of ``points`` as (T, 3) indices into ``points``.

    qhull's triangulation always covers the convex hull of the points, even where landmarks coincide
    (a closed mouth puts inner-lip points on top of each other): a coincident point is simply not a
    vertex, so no hole is left in the face."""
    from scipy.spatial import Delaunay, QhullError

    try:
        simplices = Delaunay(np.asarray(points, dtype=np.float64)).simplices
    except QhullError as exc:
        raise ValueError(f"the landmarks cannot be triangulated: {exc}") from None
    if not len(simplices):
        raise ValueError("no Delaunay triangle joins the landmarks")
    return np.asarray(simplices, dtype=np.int64)


def warp_piecewise_affine(
    source: np.ndarray, source_points: np.ndarray, target_points: np.ndarray, tris: np.ndarray, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """The source image warped, triangle by triangle, into the target's geometry (zeros elsewhere), and
    the uint8 mask (255) of the pixels the triangles covered."""
    height, width = shape[:2]
    out = np.zeros((height, width, 3), dtype=np.float32)
    covered = np.zeros((height, width), dtype=np.float32)
    src = source.astype(np.float32)
    for tri in tris:
        s = source_points[tri].astype(np.float32)
        t = target_points[tri].astype(np.float32)
        x, y, w, h = cv2.boundingRect(t)
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, width), min(y + h, height)
        if x1 <= x0 or y1 <= y0:
            continue
        matrix = cv2.getAffineTransform(s, t - np.float32([x0, y0]))
        patch = cv2.warpAffine(
            src, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
        )
        mask = np.zeros((y1 - y0, x1 - x0), dtype=np.float32)
        cv2.fillConvexPoly(mask, np.round(t - np.float32([x0, y0])).astype(np.int32), 1.0, cv2.LINE_AA)
        region = out[y0:y1, x0:x1]
        region *= (1.0 - mask)[..., None]
        region += patch * mask[..., None]
        np.maximum(covered[y0:y1, x0:x1], mask, out=covered[y0:y1, x0:x1])
    return np.clip(out, 0, 255).astype(np.uint8), np.where(covered > 0.5, 255, 0).astype(np.uint8)


def face_mask(points: np.ndarray, covered: np.ndarray, erode: int = 3) -> np.ndarray:
    """uint8 mask (255 inside) of the convex hull of ``points`` where the warp put source pixels, eroded
    by ``erode`` px so that the blend never reaches the black border of the warped face."""
    mask = np.zeros(covered.shape[:2], dtype=np.uint8)
    hull = cv2.convexHull(np.round(points).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 255)
    mask &= covered
    if erode > 0:
        mask = cv2.erode(mask, np.ones((2 * erode + 1, 2 * erode + 1), np.uint8))
    return mask


def match_colour(face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``face`` with its Lab mean and standard deviation inside ``mask`` set to the target's there."""
    inside = mask > 0
    if inside.sum() < 16:
        return face
    face_lab = cv2.cvtColor(face, cv2.COLOR_RGB2LAB).astype(np.float32)
    target_lab = cv2.cvtColor(target, cv2.COLOR_RGB2LAB).astype(np.float32)
    f, t = face_lab[inside], target_lab[inside]
    # the spread is matched only within a factor of two: a flat (e.g. grey) source must not be blown up
    scale = np.clip(t.std(axis=0) / np.maximum(f.std(axis=0), 1e-3), 0.5, 2.0)
    corrected = (face_lab - f.mean(axis=0)) * scale + t.mean(axis=0)
    corrected = np.clip(corrected, 0, 255).astype(np.uint8)
    out = cv2.cvtColor(corrected, cv2.COLOR_LAB2RGB)
    return np.where(inside[..., None], out, face)


def seamless_blend(face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Poisson (seamless) cloning of ``face`` into ``target`` over ``mask`` (OpenCV NORMAL_CLONE)."""
    x, y, w, h = cv2.boundingRect(mask)
    if w < 4 or h < 4:
        raise ValueError("the face region is too small to blend")
    centre = (x + w // 2, y + h // 2)
    # seamlessClone places the mask's bounding box centred on `centre`, and needs a one-pixel margin
    border = np.zeros_like(mask)
    border[1:-1, 1:-1] = mask[1:-1, 1:-1]
    blended = cv2.seamlessClone(
        cv2.cvtColor(face, cv2.COLOR_RGB2BGR), cv2.cvtColor(target, cv2.COLOR_RGB2BGR), border, centre, cv2.NORMAL_CLONE
    )
    return cv2.cvtColor(blended, cv2.COLOR_BGR2RGB)
