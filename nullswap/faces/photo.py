"""A user's photo as it is on disk, and the protected photo written back in the same kind of file.

:func:`nullswap.faces.detect.load_image` gives detectors what they need (upright RGB, 8 bits) and throws
away what they do not: transparency, 16-bit depth, greyscale, colour profiles, EXIF.  A protector must
give all of that back, so :func:`read_photo` keeps both views of a photo:

* ``rgb`` — upright RGB uint8, transparent parts composited on white: what detection and the cloak see;
* ``colour`` / ``alpha`` — the photo's own channels at their own depth (8 or 16 bits, grey or RGB):
  what the protected file is built from.

:func:`compose` adds the cloak (the change the cloak made to ``rgb``) to ``colour``, copies ``alpha``
unchanged, and :func:`write_photo` saves a lossless PNG of the same depth and channels.  Every change
of kind that could not be avoided (CMYK converted to RGB, a palette expanded, a 16-bit colour file
written without metadata) is returned as a plain-language note for the report.

Memory and decoding safety: the pixel count is read from the header and checked against a budget
*before* any pixel is decoded, and Pillow's decompression-bomb guard stays on.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from nullswap.atomic import write_bytes
from nullswap.faces.detect import ImageTooSmallError, UnreadableImageError, check_image

DEFAULT_MAX_MEGAPIXELS = 50.0
"""Largest photo read by default (an 8000×6000 camera photo is 48 MP); above it, a clear error."""

_ORIENTATION_TAG = 0x0112
_GREY_16 = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_LUMA = np.array([0.299, 0.587, 0.114])


class PhotoTooLargeError(UnreadableImageError):
    """The photo holds more pixels than the budget allows (checked before decoding)."""


@dataclass
class Photo:
    """One photo, upright, in the two forms described in the module docstring."""

    rgb: np.ndarray                     # uint8 (H, W, 3): detection and cloaking
    colour: np.ndarray                  # uint8 | uint16, (H, W) grey or (H, W, 3) RGB: the file's own colour
    alpha: np.ndarray | None            # same dtype as colour, (H, W); None when opaque
    source_mode: str                    # Pillow's mode of the file ("RGB", "RGBA", "L", "I;16", "CMYK", ...)
    source_format: str                  # "JPEG", "PNG", ...
    icc_profile: bytes | None = None    # colour profile for the *saved* colours (None after a conversion)
    exif: bytes | None = None           # EXIF with the orientation reset to upright
    notes: list[str] = field(default_factory=list)

    @property
    def bit_depth(self) -> int:
        return 16 if self.colour.dtype == np.uint16 else 8

    @property
    def grey(self) -> bool:
        return self.colour.ndim == 2

    @property
    def size(self) -> tuple[int, int]:
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])

    def describe(self) -> dict[str, object]:
        return {"mode": self.source_mode, "format": self.source_format, "bit_depth": self.bit_depth,
                "channels": ("grey" if self.grey else "rgb") + ("+alpha" if self.alpha is not None else ""),
                "size": list(self.size)}


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------
def _budget_check(path: Path, opened: Image.Image, max_megapixels: float) -> None:
    width, height = opened.size
    megapixels = width * height / 1e6
    if megapixels > max_megapixels:
        raise PhotoTooLargeError(
            f"'{path}' is {width}×{height} = {megapixels:.1f} megapixels, above the budget of "
            f"{max_megapixels:g} MP (it would need about {megapixels * 0.05:.1f} GB of memory); pass "
            f"--max-megapixels {int(np.ceil(megapixels))} to process it anyway, or downscale it first"
        )


def _transpose_method(opened: Image.Image) -> Image.Transpose | None:
    orientation = opened.getexif().get(_ORIENTATION_TAG, 1)
    return {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
            5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}.get(int(orientation))


def _upright16(array: np.ndarray, method: Image.Transpose | None) -> np.ndarray:
    """Apply an EXIF transpose to a 16-bit array channel by channel (Pillow transposes ``I;16``)."""
    if method is None:
        return array
    planes = array[..., None] if array.ndim == 2 else array
    turned = [np.asarray(Image.fromarray(np.ascontiguousarray(planes[..., c])).transpose(method))
              for c in range(planes.shape[2])]
    stacked = np.stack(turned, axis=-1).astype(np.uint16)
    return stacked[..., 0] if array.ndim == 2 else stacked


def _read_16bit_colour(path: Path) -> np.ndarray | None:
    """RGB(A) uint16 through OpenCV when the file really is 16-bit colour (Pillow reads those as 8-bit)."""
    array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if array is None or array.dtype != np.uint16 or array.ndim != 3:
        return None
    order = [2, 1, 0, 3][: array.shape[2]]
    return np.ascontiguousarray(array[..., order])


def _cmyk_to_rgb(image: Image.Image, notes: list[str]) -> Image.Image:
    profile = image.info.get("icc_profile")
    if profile:
        try:
            converted = ImageCms.profileToProfile(
                image, ImageCms.ImageCmsProfile(io.BytesIO(profile)), ImageCms.createProfile("sRGB"),
                outputMode="RGB",
            )
        except (ImageCms.PyCMSError, OSError, ValueError) as exc:
            notes.append(f"CMYK with an unusable ICC profile ({exc}); converted with Pillow's formula, "
                         "colours may shift; saved as sRGB")
        else:
            notes.append("CMYK converted to sRGB through its embedded ICC profile; saved as sRGB")
            return converted
    else:
        notes.append("CMYK without an ICC profile converted with Pillow's formula (colours may shift); "
                     "saved as sRGB")
    return image.convert("RGB")


def _on_white(colour: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """RGB uint8 for detection: grey expanded, 16 bits reduced, transparency composited on white.

    The common case — opaque 8-bit RGB — is the colour array itself (no copy): a 12-MP photo in
    float64 would be 288 MB per buffer for values that come back unchanged."""
    if alpha is None and colour.dtype == np.uint8:
        return colour if colour.ndim == 3 else np.repeat(colour[..., None], 3, axis=2)
    top = 65535.0 if colour.dtype == np.uint16 else 255.0
    rgb = colour.astype(np.float64) / top
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    if alpha is not None:
        a = (alpha.astype(np.float64) / top)[..., None]
        rgb = rgb * a + (1.0 - a)
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)


def _exif_upright(opened: Image.Image) -> bytes | None:
    """The file's EXIF with orientation 1, on a copy (the image's own EXIF still drives the transpose)."""
    if not len(opened.getexif()):
        return None
    exif = Image.Exif()
    exif.load(opened.getexif().tobytes())
    if _ORIENTATION_TAG in exif:
        exif[_ORIENTATION_TAG] = 1  # the saved pixels are upright
    return exif.tobytes()


def read_photo(path: str | Path, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> Photo:
    """Read ``path`` upright (EXIF orientation applied) keeping depth, alpha, greyscale and profile.

    Raises :class:`PhotoTooLargeError` above ``max_megapixels`` (before decoding),
    :class:`~nullswap.faces.detect.UnreadableImageError` for anything that is not a readable image and
    :class:`~nullswap.faces.detect.ImageTooSmallError` for images too small to hold a face.
    """
    path = Path(path)
    if not path.is_file():
        raise UnreadableImageError(f"cannot read '{path}': no such file")
    try:
        with Image.open(path) as opened, warnings.catch_warnings():
            # Pillow's decompression-bomb guard stays on: its warning becomes an error here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            _budget_check(path, opened, max_megapixels)
            return _decode(path, opened)
    except PhotoTooLargeError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise PhotoTooLargeError(f"'{path}' refused by Pillow's decompression-bomb guard: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        if isinstance(exc, ImageTooSmallError | UnreadableImageError):
            raise
        raise UnreadableImageError(
            f"cannot read '{path}': it is not an image this program can decode, or the file is damaged "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def _decode(path: Path, opened: Image.Image) -> Photo:
    notes: list[str] = []
    mode, file_format = opened.mode, str(opened.format or path.suffix.lstrip(".").upper())
    if getattr(opened, "n_frames", 1) > 1:
        notes.append(f"only the first of {opened.n_frames} frames was protected and saved")
    method = _transpose_method(opened)
    if method is not None:
        notes.append("EXIF orientation applied: saved upright")
    exif = _exif_upright(opened)
    icc = opened.info.get("icc_profile") or None
    opened.load()
    colour16 = _read_16bit_colour(path) if file_format in ("PNG", "TIFF") and mode in ("RGB", "RGBA") else None
    if colour16 is not None:
        colour16 = _upright16(colour16, method)
        colour, alpha = colour16[..., :3], (colour16[..., 3] if colour16.shape[2] == 4 else None)
    elif mode in _GREY_16:
        grey = np.asarray(opened)
        if mode == "I" and grey.max(initial=0) > 65535:
            raise UnreadableImageError(f"cannot read '{path}': 32-bit integer pixels above 16 bits")
        colour, alpha = _upright16(grey.astype(np.uint16), method), None
    else:
        image = ImageOps.exif_transpose(opened) if method is not None else opened
        if mode == "CMYK":
            image = _cmyk_to_rgb(image, notes)
            icc = None
        elif mode in ("P", "PA"):
            has_alpha = mode == "PA" or "transparency" in image.info
            image = image.convert("RGBA" if has_alpha else "RGB")
            notes.append("palette image saved as full-colour " + ("RGBA" if has_alpha else "RGB"))
        elif mode == "1":
            image = image.convert("L")
            notes.append("black-and-white (1-bit) image saved as 8-bit greyscale")
        elif mode == "F":
            image = image.convert("L")
            notes.append("32-bit float image saved as 8-bit greyscale")
        elif mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGB")
            notes.append(f"{mode} image converted to RGB")
        array = np.asarray(image)
        if image.mode in ("RGBA", "LA"):
            colour, alpha = array[..., :-1], array[..., -1]
            colour = colour[..., 0] if image.mode == "LA" else colour
        else:
            colour, alpha = array, None
    colour = np.ascontiguousarray(colour)
    alpha = None if alpha is None else np.ascontiguousarray(alpha)
    rgb = check_image(_on_white(colour, alpha), path)
    return Photo(rgb, colour, alpha, mode, file_format, icc, exif, notes)


# --------------------------------------------------------------------------------------------------
# Composing and writing
# --------------------------------------------------------------------------------------------------
def changed_box(before: np.ndarray, after: np.ndarray) -> tuple[slice, slice] | None:
    """The smallest (rows, columns) window holding every pixel where ``after`` differs from ``before``
    (None when nothing changed) — the face regions, for a protected photo."""
    changed = before != after
    if changed.ndim == 3:
        changed = changed.any(axis=-1)
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    if not len(rows):
        return None
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)


def compose(photo: Photo, protected_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """The photo's own channels plus the cloak: (colour, alpha, notes).

    The cloak is ``protected_rgb − photo.rgb`` (8-bit steps); for an opaque 8-bit RGB photo, whose
    colour channels *are* ``photo.rgb``, that is ``protected_rgb`` itself (returned, not copied).  It is added to the colour channels at
    their own depth (×257 for 16 bits), so everything the cloak did not touch stays bit-identical; for a
    greyscale photo the cloak is reduced to its luminance (the file stays greyscale); alpha is copied.
    Only the window that holds the change is worked on in floating point (a few faces, not 12 MP).
    """
    if protected_rgb.shape != photo.rgb.shape or protected_rgb.dtype != np.uint8:
        raise ValueError(f"protected photo {protected_rgb.dtype} {protected_rgb.shape} does not match "
                         f"{photo.rgb.shape}")
    notes: list[str] = []
    alpha = None if photo.alpha is None else photo.alpha.copy()
    if photo.colour is photo.rgb:
        # opaque 8-bit RGB (most photos): the colour channels are what was cloaked, step for step
        return protected_rgb, alpha, notes
    colour = photo.colour.copy()
    window = changed_box(photo.rgb, protected_rgb)
    if window is None:
        return colour, alpha, notes
    delta = protected_rgb[window].astype(np.float64) - photo.rgb[window].astype(np.float64)
    if photo.grey:
        delta = delta @ _LUMA
        if np.any(np.abs(delta) > 0):
            notes.append("greyscale kept: the cloak is stored as its luminance (its colour part is dropped)")
    step, top = (257.0, 65535) if photo.bit_depth == 16 else (1.0, 255)
    changed = np.abs(delta) > 0 if photo.grey else np.any(np.abs(delta) > 0, axis=-1)
    if changed.any():
        region = colour[window]
        values = region[changed].astype(np.float64) + delta[changed] * step
        region[changed] = np.clip(np.round(values), 0, top).astype(photo.colour.dtype)
    return colour, alpha, notes


#: zlib level of the protected PNGs: lossless at every level.  With zlib's run-length strategy, level 1
#: encodes a 12-MP photo about 4.5× faster than Pillow's default (level 6, default strategy: 0.64 vs
#: 2.95 s) into a file 6 % larger (10.8 vs 10.2 MB); measured on the 12-MP set of
#: benchmarks.tools.protect_speed
DEFAULT_PNG_LEVEL = 1
#: zlib's Z_RLE strategy: on filtered photo rows as fast as the default strategy at level 1, and smaller
_Z_RLE = 3


def encode_photo(photo: Photo, colour: np.ndarray, alpha: np.ndarray | None, keep_metadata: bool,
                 compress_level: int = DEFAULT_PNG_LEVEL) -> tuple[memoryview, list[str]]:
    """``colour`` (+ ``alpha``) as the bytes of a lossless PNG of the photo's depth; returns notes too.

    The ICC profile always travels (without it the colours would be read differently).  EXIF goes with
    ``keep_metadata`` only — it can hold the camera, the time and the place of the photo.
    """
    if not 0 <= int(compress_level) <= 9:
        raise ValueError(f"PNG compression level must be 0–9, got {compress_level}")
    notes: list[str] = []
    planes = colour if alpha is None else np.dstack([colour, alpha])
    if photo.bit_depth == 16 and planes.ndim == 3:
        order = [2, 1, 0, 3][: planes.shape[2]] if planes.shape[2] >= 3 else [0, 0, 0, 1]
        ok, encoded = cv2.imencode(".png", np.ascontiguousarray(planes[..., order]),
                                   [cv2.IMWRITE_PNG_COMPRESSION, int(compress_level),
                                    cv2.IMWRITE_PNG_STRATEGY, _Z_RLE])
        if not ok:
            raise OSError("PNG encoding failed")
        if planes.shape[2] == 2:
            notes.append("16-bit greyscale with alpha saved as 16-bit RGBA (PNG writer limitation)")
        if keep_metadata and (photo.exif or photo.icc_profile):
            notes.append("16-bit colour PNG written without EXIF/ICC metadata (PNG writer limitation)")
        return memoryview(encoded), notes
    image = Image.fromarray(np.ascontiguousarray(planes))
    options: dict[str, object] = {"compress_level": int(compress_level), "compress_type": _Z_RLE}
    if photo.icc_profile:
        options["icc_profile"] = photo.icc_profile
    if keep_metadata and photo.exif:
        options["exif"] = photo.exif
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    del image
    return buffer.getbuffer(), notes


def write_photo(path: str | Path, photo: Photo, colour: np.ndarray, alpha: np.ndarray | None,
                keep_metadata: bool, compress_level: int = DEFAULT_PNG_LEVEL) -> list[str]:
    """:func:`encode_photo`, then the bytes written atomically to ``path``; returns the notes."""
    data, notes = encode_photo(photo, colour, alpha, keep_metadata, compress_level)
    write_bytes(path, data)
    return notes
