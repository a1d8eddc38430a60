"""facenet-pytorch's FaceNet (``InceptionResnetV1``, VGGFace2 weights, 512-D) as its users run it.

The network is facenet-pytorch's own class, built with ``pretrained=None`` (so nothing downloads) and
given the checkpoint its ``pretrained="vggface2"`` would have fetched, ``20180402-114759-vggface2.pt``,
found through :func:`nullswap.weights.path` (sha256-verified).  The checkpoint also holds the 8631-way
VGGFace2 classifier (``logits.*``), which an embedding model never uses and which is dropped.

**Preprocessing, as facenet-pytorch does it.**  ``MTCNN(image_size=160, margin=0)`` crops the detector's
box *without rotating the face*, stretches it to 160×160 and applies ``fixed_image_standardization``:
RGB values in 0–255 mapped by ``(x - 127.5) / 128``.  The network L2-normalises its output itself.

**Frame.**  MTCNN's boxes are taller than wide, so the 160 crop squeezes faces horizontally; a
similarity cannot express that, so this recognizer maps the canonical crop onto its frame by the
least-squares *affine* map fitted to the five template points (still one fixed, differentiable warp).
:data:`FACENET_PYTORCH_160` was fitted to facenet-pytorch's crop geometry on the registry photos the
same way as deepface's frames (``python -m nullswap.recognizers.facenet_backend``): see
:func:`derive_frame` for the procedure and the numbers.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nullswap import weights
from nullswap.faces.templates import CANONICAL_256, Template
from nullswap.faces.warp import warp_affine
from nullswap.recognizers.base import Recognizer
from nullswap.recognizers.registry import register_recognizer

WEIGHTS = "facenet_vggface2"
#: checkpoint keys of the VGGFace2 classification head, unused for embeddings
CLASSIFIER_PREFIX = "logits."

# facenet-pytorch's MTCNN(image_size=160, margin=0) crop as a fixed frame: where CANONICAL_256's landmarks
# land.  Fitted on 33 real faces of the registry photos (derive_frame): element-wise median of the
# per-face canonical -> crop affine maps, kept affine (x/y scale ratio 1.35: the tall box is stretched
# to a square).  A face's own MTCNN crop sits a median 18.3 px (11.4 % of the side; mean 19.4, 90th
# percentile 31.5 px) from this fixed frame, mostly because MTCNN's crop does not undo head roll, which
# the canonical alignment does, and because its box varies with pose.
FACENET_PYTORCH_160 = Template("facenet_pytorch_mtcnn", 160, np.array([
    [38.4703, 61.0461], [108.5315, 61.2016], [73.406, 90.7159],
    [44.2999, 120.8467], [102.3189, 120.9755]]))


def affine_matrix(src_points: np.ndarray, dst_points: np.ndarray) -> np.ndarray:
    """Least-squares 2×3 affine map ``src_points`` → ``dst_points`` (cv2.warpAffine convention)."""
    src = np.asarray(src_points, dtype=np.float64)
    design = np.hstack([src, np.ones((len(src), 1))])
    return np.linalg.lstsq(design, np.asarray(dst_points, dtype=np.float64), rcond=None)[0].T


def fixed_image_standardization(frames: torch.Tensor) -> torch.Tensor:
    """RGB [0, 1] → facenet-pytorch's input: its ``fixed_image_standardization`` of 0–255 values."""
    from facenet_pytorch.models.mtcnn import fixed_image_standardization as standardise

    return standardise(frames * 255.0)


def load_vggface2(network: torch.nn.Module, path: Path) -> None:
    """Load the VGGFace2 checkpoint into an embedding-only ``InceptionResnetV1`` (strict on the rest)."""
    advice = weights.missing_message(weights.MANIFEST[WEIGHTS])
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file means the same thing to the user
        raise weights.MissingWeightsError(f"{path} is not a readable PyTorch state dict ({exc}).\n{advice}") from exc
    body = {k: v for k, v in state.items() if not k.startswith(CLASSIFIER_PREFIX)}
    try:
        network.load_state_dict(body)
    except RuntimeError as exc:
        summary = str(exc).splitlines()[0]
        raise weights.MissingWeightsError(
            f"{path} does not hold facenet-pytorch's InceptionResnetV1 weights ({summary}).\n{advice}"
        ) from exc


@register_recognizer("facenet-vggface2")
class FacenetVGGFace2(Recognizer):
    """facenet-pytorch ``InceptionResnetV1`` + ``20180402-114759-vggface2.pt``: 512-D, differentiable."""

    name = "facenet-vggface2"
    embedding_dim = 512
    input_size = 160
    template = FACENET_PYTORCH_160
    threshold = None  # facenet-pytorch publishes no verification threshold
    weight_names = (WEIGHTS,)

    def __init__(self) -> None:
        super().__init__()
        try:
            from facenet_pytorch import InceptionResnetV1
        except ImportError as exc:
            raise ImportError("facenet-vggface2 needs facenet-pytorch (pip install facenet-pytorch==2.5.3)") from exc
        self.weights_path = weights.path(WEIGHTS)
        self.network = InceptionResnetV1(pretrained=None, classify=False)
        load_vggface2(self.network, self.weights_path)

    def to_input_frame(self, faces: torch.Tensor) -> torch.Tensor:
        if faces.ndim != 4 or faces.shape[1] != 3:
            raise ValueError(f"{self.name}: expected (B, 3, H, W) RGB crops, got {tuple(faces.shape)}")
        side = faces.shape[-1]
        source = CANONICAL_256.scaled(side) if side != CANONICAL_256.size else CANONICAL_256
        return warp_affine(faces, affine_matrix(source.points, self.template.points), self.input_size)

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        return self.network(fixed_image_standardization(frames))

    def describe(self) -> dict[str, object]:
        facts = super().describe()
        facts.update({
            "library": "facenet-pytorch",
            "library_version": importlib.metadata.version("facenet-pytorch"),
            "preprocessing": "RGB, fixed_image_standardization: (x * 255 - 127.5) / 128",
            "frame_map": "least-squares affine onto the MTCNN(image_size=160, margin=0) crop",
            "threshold_source": "facenet-pytorch publishes no verification threshold",
            "weights_file": str(self.weights_path),
            "weights_sha256": weights.MANIFEST[WEIGHTS].sha256,
        })
        return facts


def mtcnn_crop_map(box: np.ndarray, image_hw: tuple[int, int], size: int = 160) -> np.ndarray:
    """The 2×3 map photo → facenet-pytorch's ``extract_face`` crop (margin 0): the box, cut at integer
    pixels as ``extract_face`` does, stretched to ``size``×``size`` (pixel centres at integers)."""
    height, width = image_hw
    x1, y1 = int(max(box[0], 0)), int(max(box[1], 0))
    x2, y2 = int(min(box[2], width)), int(min(box[3], height))
    sx, sy = size / (x2 - x1), size / (y2 - y1)
    return np.array([[sx, 0.0, (0.5 - x1) * sx - 0.5], [0.0, sy, (0.5 - y1) * sy - 0.5]])


def derive_frame(photos: Any = None) -> Any:
    """Fit facenet-pytorch's MTCNN 160 crop as one fixed affine frame on real photos.

    Each face MTCNN finds (:mod:`nullswap.faces.detect`, which is facenet-pytorch's MTCNN) gives its box
    (→ :func:`mtcnn_crop_map`) and five landmarks (→ the canonical similarity); the composition maps
    canonical → crop for that face, and :func:`~nullswap.recognizers.deepface_backend.fit_frame` takes
    the robust average, kept affine.  Returns a ``FrameFit``.
    """
    from nullswap.faces.detect import detect_faces, load_image, plausible_faces
    from nullswap.faces.registry_photos import raw_photo
    from nullswap.recognizers.deepface_backend import REGISTRY_PHOTOS, canonical_to_crop, fit_frame

    maps = []
    for archive, member in photos or REGISTRY_PHOTOS:
        image = load_image(raw_photo(archive, member))
        for face in plausible_faces(detect_faces(image, "mtcnn")):
            maps.append(canonical_to_crop(face.landmarks, mtcnn_crop_map(face.box, image.shape[:2])))
    return fit_frame(maps, 160, "facenet_pytorch_mtcnn", similarity=False)


if __name__ == "__main__":
    torch.set_num_threads(1)
    fit = derive_frame()
    print(fit.summary())
    print(f"  Template('{fit.name}', 160, np.array({np.round(fit.points, 4).tolist()}))")
