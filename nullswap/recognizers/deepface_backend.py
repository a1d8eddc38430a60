"""deepface's recognizers as the paper's evaluation used them: ArcFace, Facenet, Facenet512, VGG-Face, SFace.

The paper reports identification with "the deepface implementations" of ArcFace, FaceNet, VGGFace and
SFace.  deepface (>= 0.0.103) runs them on PyTorch, so this module builds deepface's *own* torch classes
(``deepface.models.facial_recognition.pytorch``), loads the very file deepface would cache in
``$DEEPFACE_HOME/.deepface/weights`` — found through :func:`nullswap.weights.path` — and runs the plain
``nn.Module`` inside :meth:`Recognizer.embed`, so gradients reach the input:

=================  ===========  ====  ======  ===========================================
recognizer         deepface     side  dim     weights (manifest entry)
=================  ===========  ====  ======  ===========================================
``arcface``        ArcFace      112   512     ``deepface_arcface`` (arcface_weights.pth)
``facenet``        Facenet      160   128     ``deepface_facenet`` (facenet_weights.pth)
``facenet512``     Facenet512   160   512     ``deepface_facenet512`` (facenet512_weights.pth)
``vggface``        VGG-Face     224   4096    ``deepface_vggface`` (vgg_face_weights.pth)
``sface-deepface`` SFace (ONNX) 112   128     ``deepface_sface`` (black box, onnxruntime)
=================  ===========  ====  ======  ===========================================

**Preprocessing, as deepface does it.**  ``DeepFace.represent/verify/find`` hand every model the
detector's crop as **BGR** values in **[0, 1]** (``extract_faces`` divides by 255, ``represent`` flips to
BGR, ``resize_image`` pads and resizes, ``normalize_input`` with the default ``normalization="base"``
leaves the values alone).  So by default ArcFace, Facenet and VGG-Face see BGR [0, 1] — not the
``(x - 127.5) / 128`` RGB their original papers used.  The other ``normalization`` options deepface
offers ("raw", "Facenet", "Facenet2018", "VGGFace", "VGGFace2", "ArcFace") are reproduced in torch by
:func:`deepface_input` and chosen with ``load(name, normalization=...)``.  VGG-Face returns deepface's
4096-D fc7 descriptor (deepface L2-normalises it; :meth:`Recognizer.forward` does the same for every
model).  SFace runs through deepface's own ``SFaceClient.predict`` (BGR [0, 1] → uint8 RGB 0-255).

**Frame.**  deepface crops the detector's box after rotating the eye line level, then pads it to a square
and resizes it to the model's side; the harness instead maps its canonical crop onto a fixed frame.
The frames (:data:`~nullswap.faces.templates.DEEPFACE_ARCFACE_112`, ``FACENET_160``, ``VGGFACE_224``)
were fitted to deepface's own cropping code on real photos (:func:`derive_frames`, run with
``python -m nullswap.recognizers.deepface_backend``).  deepface's crop does not depend on the model, so
SFace uses the 112 frame too.  They belong to deepface's default detector (``opencv``); ``detector=
"fastmtcnn"`` selects the frames fitted to its offline MTCNN detector instead.

**Thresholds** are read at run time from the installed deepface (``deepface/config/threshold.py``, the
"cosine" column: a cosine *distance*, same person when ``1 - cos <= t``), so ``threshold = 1 - t`` as a
similarity, and :meth:`describe` records library version and source: the values changed between
releases (VGG-Face 0.40 → 0.68).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from nullswap import weights
from nullswap.assets import sha256_cached
from nullswap.faces.templates import (
    CANONICAL_256,
    DEEPFACE_ARCFACE_112,
    FACENET_160,
    VGGFACE_224,
    Template,
    similarity_matrix,
)
from nullswap.recognizers.base import Recognizer
from nullswap.recognizers.registry import register_recognizer

#: deepface's ``normalize_input`` options (deepface/modules/preprocessing.py)
NORMALIZATIONS = ("base", "raw", "Facenet", "Facenet2018", "VGGFace", "VGGFace2", "ArcFace")
#: per-channel means deepface subtracts, in the BGR order its arrays are in
_CHANNEL_MEANS = {"VGGFace": (93.5940, 104.7624, 129.1863), "VGGFace2": (91.4953, 103.8827, 131.0912)}

# deepface's crop with its "fastmtcnn" detector (facenet-pytorch's MTCNN, offline), fitted like the
# opencv frames in nullswap.faces.templates (derive_frames): 32 faces, per-face error median 7.6 px at 112
# (6.8 % of the side; mean 7.7, 90th percentile 11.4 px).
DEEPFACE_FASTMTCNN_112 = Template("deepface_fastmtcnn", 112, np.array([
    [33.8806, 43.3833], [71.1998, 43.2282], [52.6295, 64.6333],
    [37.2684, 86.4598], [68.1731, 86.3314]]))
DEEPFACE_FASTMTCNN_160 = Template("deepface_fastmtcnn", 160, np.array([
    [49.2186, 62.2098], [102.495, 61.9886], [75.9841, 92.5462],
    [54.0546, 123.7054], [98.1738, 123.5223]]))
DEEPFACE_FASTMTCNN_224 = Template("deepface_fastmtcnn", 224, np.array([
    [68.7607, 87.261], [143.3991, 86.9511], [106.2583, 129.7612],
    [75.5358, 173.4142], [137.3453, 173.1575]]))

#: detector back end → side → frame
FRAMES: dict[str, dict[int, Template]] = {
    "opencv": {112: DEEPFACE_ARCFACE_112, 160: FACENET_160, 224: VGGFACE_224},
    "fastmtcnn": {112: DEEPFACE_FASTMTCNN_112, 160: DEEPFACE_FASTMTCNN_160, 224: DEEPFACE_FASTMTCNN_224},
}


# --------------------------------------------------------------------------------------------------
# deepface itself: import, version, thresholds, preprocessing
# --------------------------------------------------------------------------------------------------
def _import(module: str) -> Any:
    """Import a deepface module, turning its absence into an instruction."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"the paper's deepface recognizers need deepface with its PyTorch back end "
            f"(pip install 'deepface==0.0.103' torch); importing {module} failed: {exc}"
        ) from exc


def deepface_version() -> str:
    return importlib.metadata.version("deepface")


def deepface_threshold(model_name: str) -> tuple[float, str]:
    """deepface's pre-tuned cosine-*distance* threshold for ``model_name`` and where it was read."""
    verification = _import("deepface.modules.verification")
    distance = float(verification.find_threshold(model_name, "cosine"))
    source = (f"deepface {deepface_version()} deepface/config/threshold.py: thresholds['{model_name}']"
              f"['cosine'] = {distance} (cosine distance; same person when distance <= it)")
    return distance, source


def deepface_input(frames: torch.Tensor, normalization: str = "base") -> torch.Tensor:
    """RGB [0, 1] crops (B, 3, H, W) → what deepface feeds its models: BGR, scaled per ``normalization``.

    Mirrors ``deepface.modules.preprocessing.normalize_input`` (which works on (1, H, W, 3) BGR arrays
    in [0, 1]), differentiably and per image.
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"unknown deepface normalization '{normalization}'; one of {', '.join(NORMALIZATIONS)}")
    x = frames.flip(1)  # RGB → BGR
    if normalization == "base":
        return x
    x = x * 255.0
    if normalization == "raw":
        return x
    if normalization == "Facenet":
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), correction=0, keepdim=True)
        return (x - mean) / std.clamp_min(1.0 / float(x[0].numel()) ** 0.5)
    if normalization == "Facenet2018":
        return x / 127.5 - 1.0
    if normalization == "ArcFace":
        return (x - 127.5) / 128.0
    means = torch.tensor(_CHANNEL_MEANS[normalization], dtype=x.dtype, device=x.device)
    return x - means.view(1, 3, 1, 1)


def _load_state_dict(network: nn.Module, path: Path, entry: str, what: str) -> None:
    """Strictly load a deepface ``.pth`` (weights only); a wrong or damaged file gets a clear error."""
    advice = weights.missing_message(weights.MANIFEST[entry])
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file means the same thing to the user
        raise weights.MissingWeightsError(
            f"{path} is not a readable PyTorch state dict ({exc}); delete it and get it again.\n{advice}"
        ) from exc
    try:
        network.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        summary = str(exc).splitlines()[0]
        raise weights.MissingWeightsError(
            f"{path} does not hold deepface's {what} weights ({summary}).\n{advice}"
        ) from exc


# --------------------------------------------------------------------------------------------------
# The recognizers
# --------------------------------------------------------------------------------------------------
class _Deepface(Recognizer):
    """What every deepface back end shares: weights file, threshold, frame and provenance."""

    deepface_model: ClassVar[str] = ""
    weight: ClassVar[str] = ""
    backend: ClassVar[str] = "pytorch"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.weight_names = (cls.weight,)  # the one manifest entry each back end reads

    def __init__(self, detector: str = "opencv") -> None:
        super().__init__()
        if detector not in FRAMES:
            raise ValueError(f"no fitted deepface frame for detector '{detector}'; one of {', '.join(FRAMES)}")
        self.detector = detector
        self.template = FRAMES[detector][self.input_size]
        self.weights_path = weights.path(self.weight)
        distance, self.threshold_source = deepface_threshold(self.deepface_model)
        self.cosine_distance_threshold = distance
        self.threshold = round(1.0 - distance, 6)
        self.weights_sha256 = sha256_cached(self.weights_path)  # once per file and process

    def describe(self) -> dict[str, object]:
        facts = super().describe()
        facts.update({
            "library": "deepface",
            "library_version": deepface_version(),
            "deepface_model": self.deepface_model,
            "backend": self.backend,
            "frame_detector": self.detector,
            "threshold_source": self.threshold_source,
            "cosine_distance_threshold": self.cosine_distance_threshold,
            "weights_file": str(self.weights_path),
            "weights_sha256": self.weights_sha256,
            "weights_sha256_published": weights.MANIFEST[self.weight].sha256,
        })
        return facts


class _DeepfaceTorch(_Deepface):
    """deepface's own torch network, with deepface's preprocessing in front of it."""

    def __init__(self, normalization: str = "base", detector: str = "opencv") -> None:
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"unknown deepface normalization '{normalization}'; one of {', '.join(NORMALIZATIONS)}")
        super().__init__(detector=detector)
        self.normalization = normalization
        self.network = self.build_network(self.weights_path)

    def build_network(self, path: Path) -> nn.Module:
        raise NotImplementedError

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        return self.network(deepface_input(frames, self.normalization))

    def describe(self) -> dict[str, object]:
        facts = super().describe()
        facts["normalization"] = self.normalization
        facts["input_channels"] = "BGR"
        return facts


@register_recognizer("arcface")
class DeepfaceArcFace(_DeepfaceTorch):
    """deepface ArcFace: ResNet34 (Keras_insightface, CASIA-WebFace), 512-D."""

    name = "arcface"
    deepface_model = "ArcFace"
    weight = "deepface_arcface"
    embedding_dim = 512
    input_size = 112

    def build_network(self, path: Path) -> nn.Module:
        network = _import("deepface.models.facial_recognition.pytorch.ArcFace").base_model()
        _load_state_dict(network, path, self.weight, self.deepface_model)
        return network


@register_recognizer("facenet")
class DeepfaceFacenet(_DeepfaceTorch):
    """deepface Facenet: Inception-ResNet-v1 (davidsandberg/facenet), 128-D."""

    name = "facenet"
    deepface_model = "Facenet"
    weight = "deepface_facenet"
    embedding_dim = 128
    input_size = 160

    def build_network(self, path: Path) -> nn.Module:
        module = _import("deepface.models.facial_recognition.pytorch.Facenet")
        network = module.InceptionResNetV1(dimension=self.embedding_dim)
        _load_state_dict(network, path, self.weight, self.deepface_model)
        return network


@register_recognizer("facenet512")
class DeepfaceFacenet512(DeepfaceFacenet):
    """deepface Facenet512: Inception-ResNet-v1 (davidsandberg/facenet 20180402-114759), 512-D."""

    name = "facenet512"
    deepface_model = "Facenet512"
    weight = "deepface_facenet512"
    embedding_dim = 512


@register_recognizer("vggface")
class DeepfaceVGGFace(_DeepfaceTorch):
    """deepface VGG-Face: VGG-16 face descriptor, fc7 (4096-D); the 2622-way classifier is dropped."""

    name = "vggface"
    deepface_model = "VGG-Face"
    weight = "deepface_vggface"
    embedding_dim = 4096
    input_size = 224

    def build_network(self, path: Path) -> nn.Module:
        module = _import("deepface.models.facial_recognition.pytorch.VGGFace")
        base = module.base_model()
        _load_state_dict(base, path, self.weight, self.deepface_model)
        base.fc8 = None  # deepface's descriptor never calls the classifier: 41 MB saved
        return module.VggFaceDescriptor(base)


@register_recognizer("sface-deepface")
class DeepfaceSFace(_Deepface):
    """deepface SFace: OpenCV Zoo's fp32 ONNX graph through deepface's own ``SFaceClient.predict``.

    A black box (onnxruntime): it sees deepface's 112 crop (not the ArcFace template OpenCV's own
    ``FaceRecognizerSF`` aligns to), BGR [0, 1] truncated to uint8 and flipped to RGB, as deepface does.
    """

    name = "sface-deepface"
    deepface_model = "SFace"
    weight = "deepface_sface"
    backend = "onnx"
    differentiable = False
    embedding_dim = 128
    input_size = 112

    def __init__(self, detector: str = "opencv") -> None:
        super().__init__(detector=detector)
        ort = importlib.import_module("onnxruntime")
        sface = _import("deepface.models.facial_recognition.onnx.SFace")
        onnx_utils = _import("deepface.commons.onnx_utils")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(str(self.weights_path), sess_options=options,
                                       providers=onnx_utils.resolve_providers(ort.get_available_providers()))
        # deepface's SFaceClient.__init__ would download into its own cache; build it around our session
        client = sface.SFaceClient.__new__(sface.SFaceClient)
        client.model, client.model_name = session, "SFace"
        client.input_shape, client.output_shape = (self.input_size, self.input_size), self.embedding_dim
        self.client = client

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        bgr = frames.detach().flip(1).permute(0, 2, 3, 1).clamp(0.0, 1.0).cpu().numpy().astype(np.float32)
        features = np.asarray(self.client.predict(bgr), dtype=np.float32)
        return torch.from_numpy(features).to(frames.device)

    def describe(self) -> dict[str, object]:
        facts = super().describe()
        facts["input_channels"] = "RGB uint8 (deepface SFaceClient.predict)"
        return facts


# --------------------------------------------------------------------------------------------------
# Fitting the fixed frames to deepface's own cropping
# --------------------------------------------------------------------------------------------------
#: real photos from package registries used to fit the frames: (archive, member)
REGISTRY_PHOTOS: tuple[tuple[str, str], ...] = (
    *(("face_recognition", f"face_recognition-1.3.0/tests/test_images/{name}.jpg")
      for name in ("obama", "obama2", "obama3", "biden")),
    ("insightface", "insightface/data/images/t1.jpg"),
    ("insightface", "insightface/data/images/Tom_Hanks_54745.png"),
    *(("face_api", f"package/demo/sample{i}.jpg") for i in range(1, 7)),
)
_CASCADES = ("haarcascade_frontalface_default.xml", "haarcascade_eye.xml")


@dataclass(frozen=True)
class FrameFit:
    """How well one fixed frame reproduces a library's own per-photo crops of real faces.

    ``points``: where :data:`CANONICAL_256`'s landmarks land in the fixed frame; ``errors_px``: for each
    face, the RMS distance (over those five points) between the library's own crop of that face and
    the fixed frame, in pixels of the ``size`` crop; ``anisotropy``: x-scale / y-scale of the median
    map (1 for a similarity).
    """

    name: str
    size: int
    points: np.ndarray
    errors_px: np.ndarray
    anisotropy: float

    @property
    def template(self) -> Template:
        return Template(self.name, self.size, self.points)

    def summary(self) -> str:
        e = self.errors_px
        return (f"{self.name}@{self.size}: {len(e)} faces; per-face error median {np.median(e):.2f} px "
                f"({100 * np.median(e) / self.size:.1f} % of the side), mean {e.mean():.2f}, "
                f"90th percentile {np.percentile(e, 90):.2f}; anisotropy {self.anisotropy:.3f}")


def _homogeneous(matrix: np.ndarray) -> np.ndarray:
    return np.vstack([np.asarray(matrix, dtype=np.float64), [0.0, 0.0, 1.0]])


def canonical_to_crop(landmarks: np.ndarray, photo_to_crop: np.ndarray) -> np.ndarray:
    """The 2×3 map canonical-256 → a library's crop for one face: undo our alignment, apply theirs."""
    to_canonical = similarity_matrix(landmarks, CANONICAL_256.points)
    return (_homogeneous(photo_to_crop) @ np.linalg.inv(_homogeneous(to_canonical)))[:2]


def fit_frame(maps: Sequence[np.ndarray], size: int, name: str, similarity: bool = True) -> FrameFit:
    """One fixed frame from per-face canonical→crop maps: their element-wise median (robust to the
    occasional face whose eyes the library misdetects), reduced to a similarity unless told not to."""
    stack = np.asarray(maps, dtype=np.float64)
    if stack.ndim != 3 or len(stack) < 3:
        raise ValueError(f"need at least three faces to fit a frame, got {len(stack)}")
    canonical = np.hstack([CANONICAL_256.points, np.ones((5, 1))]).T
    median = np.median(stack, axis=0)
    points = (median @ canonical).T
    if similarity:
        points = (similarity_matrix(CANONICAL_256.points, points) @ canonical).T
    errors = np.array([np.sqrt((((m @ canonical).T - points) ** 2).sum(axis=1).mean()) for m in stack])
    anisotropy = float(np.hypot(*median[:, 0]) / np.hypot(*median[:, 1]))
    return FrameFit(name, size, points, errors, anisotropy)


def find_cascades(directory: str | Path | None) -> Path:
    """A folder holding OpenCV's two Haar cascades (opencv 5 wheels no longer ship them)."""
    import cv2

    home = Path(os.environ.get("DEEPFACE_HOME", "~")).expanduser()
    places = [Path(directory)] if directory else []
    places += [Path(cv2.__file__).parent / "data", home / ".deepface" / "weights",
               Path("/usr/share/opencv4/haarcascades"), Path("/usr/share/opencv/haarcascades")]
    for place in places:
        if all((place / name).is_file() for name in _CASCADES):
            return place
    raise FileNotFoundError(
        "deepface's 'opencv' detector needs OpenCV's Haar cascades (" + ", ".join(_CASCADES) + "), which "
        "opencv-python 5 wheels no longer ship; looked in " + ", ".join(map(str, places)) + ". Install them "
        "(e.g. apt-get install opencv-data) or put them in $DEEPFACE_HOME/.deepface/weights"
    )


def deepface_detector(name: str, cascades: str | Path | None) -> Any:
    """deepface's detector object; for 'opencv', built around cascades found on this machine."""
    if name != "opencv":
        return _import("deepface.modules.modeling").build_model(task="face_detector", model_name=name)
    import cv2

    folder = find_cascades(cascades)
    opencv = _import("deepface.models.face_detection.OpenCv")
    client = opencv.OpenCvClient.__new__(opencv.OpenCvClient)  # its __init__ would download them
    client.model = {"face_detector": cv2.CascadeClassifier(str(folder / _CASCADES[0])),
                    "eye_detector": cv2.CascadeClassifier(str(folder / _CASCADES[1]))}
    return client


def deepface_crop_maps(detector: Any, detector_name: str, bgr: np.ndarray, sizes: Sequence[int]) -> list[tuple]:
    """For every face deepface's detector finds: its box (photo pixels) and, per side, the 2×3 map
    photo → deepface's model input, read off deepface's own code run on a coordinate image."""
    import cv2

    detection = _import("deepface.modules.detection")
    preprocessing = _import("deepface.modules.preprocessing")
    height, width = bgr.shape[:2]
    border_y, border_x = int(0.5 * height), int(0.5 * width)  # what detection.detect_faces adds
    padded = cv2.copyMakeBorder(bgr, border_y, border_y, border_x, border_x, cv2.BORDER_CONSTANT, value=0)
    rows, cols = padded.shape[:2]
    scale = float(max(rows, cols) + 1)
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    # channels: x, y (scaled into [0, 0.5] so deepface never rescales them) and a 0.5 "real pixel" flag
    coordinates = 0.5 * np.stack([xx / scale, yy / scale, np.ones_like(xx)], axis=-1)
    found = []
    for area in detector.detect_faces(padded):
        face = detection.extract_face(facial_area=area, img=coordinates, align=True, expand_percentage=0,
                                      width_border=border_x, height_border=border_y,
                                      detector_backend=detector_name)
        box = np.array([area.x - border_x, area.y - border_y, area.x - border_x + area.w,
                        area.y - border_y + area.h], dtype=np.float64)
        maps = {}
        for size in sizes:
            crop = preprocessing.resize_image(face.img, (size, size))[0]
            v, u = np.nonzero(np.abs(crop[..., 2] - 0.5) < 1e-4)
            if len(u) < 100:
                break
            design = np.stack([u, v, np.ones_like(u)], axis=1).astype(np.float64)
            source = np.stack([2 * crop[v, u, 0] * scale - border_x, 2 * crop[v, u, 1] * scale - border_y], 1)
            crop_to_photo = np.linalg.lstsq(design, source.astype(np.float64), rcond=None)[0].T
            maps[size] = np.linalg.inv(_homogeneous(crop_to_photo))[:2]
        else:
            found.append((box, maps))
    return found


def derive_frames(
    detector: str = "opencv",
    sizes: Sequence[int] = (112, 160, 224),
    photos: Sequence[tuple[str, str]] = REGISTRY_PHOTOS,
    cascades: str | Path | None = None,
) -> dict[int, FrameFit]:
    """Fit deepface's crop (``detector`` back end, ``align=True``) as a fixed frame per model side.

    For each real face: our five landmarks from MTCNN (:mod:`nullswap.faces.detect`) give the photo →
    canonical similarity; deepface's own ``extract_face`` and ``resize_image``, run on an image whose
    pixels hold their own coordinates, give the exact photo → model-input map.  Their composition maps
    canonical → model input for that face; the frame is the robust average (:func:`fit_frame`).  A
    deepface detection is used when its box holds the eye midpoint of exactly one of our faces.
    """
    from nullswap.faces.detect import detect_faces, load_image, plausible_faces
    from nullswap.faces.registry_photos import raw_photo

    client = deepface_detector(detector, cascades)
    maps: dict[int, list[np.ndarray]] = {size: [] for size in sizes}
    for archive, member in photos:
        image = load_image(raw_photo(archive, member))
        ours = plausible_faces(detect_faces(image, "mtcnn"))
        for box, crop_maps in deepface_crop_maps(client, detector, np.ascontiguousarray(image[..., ::-1]), sizes):
            inside = [f for f in ours if box[0] <= f.landmarks[:2, 0].mean() <= box[2]
                      and box[1] <= f.landmarks[:2, 1].mean() <= box[3]]
            if len(inside) != 1 or len(crop_maps) != len(sizes):
                continue
            for size in sizes:
                maps[size].append(canonical_to_crop(inside[0].landmarks, crop_maps[size]))
    return {size: fit_frame(maps[size], size, f"deepface_{detector}") for size in sizes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nullswap.recognizers.deepface_backend",
                                     description="Fit deepface's crop as fixed frames on the registry photos.")
    parser.add_argument("--detector", default="opencv", help="deepface detector back end (opencv, fastmtcnn)")
    parser.add_argument("--cascades", default=None, help="folder with OpenCV's Haar cascades (opencv only)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for size, fit in derive_frames(args.detector, cascades=args.cascades).items():
        print(fit.summary())
        print(f"  Template('{fit.name}', {size}, np.array({np.round(fit.points, 4).tolist()}))")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
