"""Faces: five-point templates, differentiable warps, detection and alignment into the canonical frame.

The common entry points are re-exported here::

    from nullswap.faces import load_image, align_faces, paste_back, NoFaceError
"""

from nullswap.faces.align import (
    LOW_RESOLUTION_EYE_DISTANCE,
    AlignedFace,
    align_face,
    align_faces,
    align_largest,
    alignment_matrix,
    crop_mask,
    paste_back,
)
from nullswap.faces.detect import (
    MIN_IMAGE_SIDE,
    Detection,
    Detector,
    FaceInputError,
    ImageTooSmallError,
    NoFaceError,
    UnreadableImageError,
    check_image,
    detect_faces,
    detect_one,
    get_detector,
    load_image,
    plausible_faces,
)

__all__ = [
    "LOW_RESOLUTION_EYE_DISTANCE",
    "MIN_IMAGE_SIDE",
    "AlignedFace",
    "Detection",
    "Detector",
    "FaceInputError",
    "ImageTooSmallError",
    "NoFaceError",
    "UnreadableImageError",
    "align_face",
    "align_faces",
    "align_largest",
    "alignment_matrix",
    "check_image",
    "crop_mask",
    "detect_faces",
    "detect_one",
    "get_detector",
    "load_image",
    "paste_back",
    "plausible_faces",
]
