"""What happens to a photo between its owner and a face swapper: re-encoding, resizing, blurring,
screenshots and deliberate purification.

Each transform maps one RGB uint8 image (H, W, 3) to another of the same size, deterministically (no
randomness: the same input always gives the same output), with plain OpenCV.  They are named so that
benchmarks, tests and (later) robust training refer to one list:

* ``jpeg<q>`` — JPEG re-encoding at quality q (what every social network does on upload);
* ``resize<s>`` — downscale by s (area averaging) and upscale back (bicubic): a thumbnail blown up;
* ``blur`` — Gaussian blur, σ = 1 px;
* ``screenshot`` — the photo shown at 80 % on a screen (bilinear, no anti-aliasing), shifted by half a
  pixel, captured and scaled back to size (bicubic);
* ``median`` — a 3×3 median filter, the classic purifier against adversarial noise;
* ``jpeg_denoise`` — JPEG quality 75 followed by non-local-means denoising (a purification chain).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import cv2
import numpy as np

Transform = Callable[[np.ndarray], np.ndarray]


def _check(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image)


def identity(image: np.ndarray) -> np.ndarray:
    return _check(image).copy()


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode as JPEG at ``quality`` (OpenCV/libjpeg, 4:2:0 chroma subsampling) and decode."""
    image = _check(image)
    ok, encoded = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return np.ascontiguousarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1])


def resize(image: np.ndarray, scale: float) -> np.ndarray:
    """Downscale by ``scale`` with area averaging, then upscale back to the original size (bicubic)."""
    image = _check(image)
    height, width = image.shape[:2]
    small = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def blur(image: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    return cv2.GaussianBlur(_check(image), (0, 0), sigma)


def screenshot(image: np.ndarray, scale: float = 0.8, shift: float = 0.5) -> np.ndarray:
    """Displayed at ``scale`` (bilinear, no anti-aliasing, as a browser draws it), offset by ``shift``
    pixels, captured, and resized back to the original size (bicubic)."""
    image = _check(image)
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    shown = cv2.warpAffine(image, np.array([[scale, 0.0, shift], [0.0, scale, shift]]), size,
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.resize(shown, (width, height), interpolation=cv2.INTER_CUBIC)


def median(image: np.ndarray, size: int = 3) -> np.ndarray:
    return cv2.medianBlur(_check(image), size)


def jpeg_denoise(image: np.ndarray, quality: int = 75, strength: float = 5.0) -> np.ndarray:
    """JPEG at ``quality`` then OpenCV's non-local-means colour denoiser (h = ``strength``)."""
    compressed = jpeg(image, quality)
    return cv2.fastNlMeansDenoisingColored(compressed, None, strength, strength, 7, 21)


TRANSFORMS: dict[str, Transform] = {
    "none": identity,
    "jpeg95": partial(jpeg, quality=95),
    "jpeg85": partial(jpeg, quality=85),
    "jpeg75": partial(jpeg, quality=75),
    "jpeg50": partial(jpeg, quality=50),
    "resize0.75": partial(resize, scale=0.75),
    "resize0.5": partial(resize, scale=0.5),
    "blur": blur,
    "screenshot": screenshot,
    "median": median,
    "jpeg_denoise": jpeg_denoise,
}
"""Every named transform, in the order tables show them."""

PURIFIERS = ("median", "jpeg_denoise")


def get(name: str) -> Transform:
    if name not in TRANSFORMS:
        raise KeyError(f"unknown photo transform '{name}'; available: {', '.join(TRANSFORMS)}")
    return TRANSFORMS[name]


def apply(name: str, images: np.ndarray) -> np.ndarray:
    """Apply transform ``name`` to each uint8 image of a batch (N, H, W, 3)."""
    transform = get(name)
    return np.stack([transform(image) for image in np.asarray(images)]) if len(images) else np.asarray(images)
