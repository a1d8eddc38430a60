"""insightface's ArcFace (``buffalo_l`` pack, ``w600k_r50.onnx``: ResNet-50 on WebFace600K, 512-D).

A black box run the way insightface runs it: the ONNX file is opened by ``insightface.model_zoo.
get_model`` (onnxruntime, CPU) and fed through the model's own ``get_feat``, which builds the blob with
``cv2.dnn.blobFromImages(images, 1 / input_std, (112, 112), input_mean, swapRB=True)`` — BGR images in
0–255 become RGB ``(x - 127.5) / 127.5`` for this graph (insightface reads mean and std off the graph).
The face is on insightface's own 112 ArcFace template (``face_align.norm_crop``), which is exactly
:data:`~nullswap.faces.templates.ARCFACE_112`, so the fixed frame here is not an approximation.

The file comes from :func:`nullswap.weights.path`; where only the ``buffalo_l.zip`` pack is present
(``insightface_buffalo_l``, e.g. after ``python -m nullswap.weights prepare insightface_buffalo_l``),
the member is extracted from it and verified.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import zipfile
from pathlib import Path

import numpy as np
import torch

from nullswap import weights
from nullswap.atomic import atomic_path
from nullswap.faces.templates import ARCFACE_112
from nullswap.recognizers.base import Recognizer
from nullswap.recognizers.registry import register_recognizer

WEIGHTS = "insightface_w600k_r50"
PACK = "insightface_buffalo_l"


def extract_from_pack(pack: Path, member_name: str, dest: Path) -> Path:
    """Copy the pack member whose file name is ``member_name`` to ``dest`` (atomically)."""
    with zipfile.ZipFile(pack) as archive:
        members = [m for m in archive.namelist() if Path(m).name == member_name]
        if len(members) != 1:
            raise weights.MissingWeightsError(f"{pack} holds {len(members)} files named {member_name}, expected 1")
        with atomic_path(dest) as part, archive.open(members[0]) as source, open(part, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    return dest


def model_file() -> Path:
    """The verified ``w600k_r50.onnx``: found directly, or extracted from a verified ``buffalo_l.zip``."""
    try:
        return weights.path(WEIGHTS)
    except weights.MissingWeightsError:
        pack = weights.find(PACK)
        if pack is None:
            raise
    entry = weights.MANIFEST[WEIGHTS]
    extract_from_pack(pack, entry.extra.get("member", entry.filename), entry.cache_path)
    return weights.path(WEIGHTS)  # verifies the extracted file's sha256


@register_recognizer("arcface-insightface")
class InsightfaceArcFace(Recognizer):
    """insightface buffalo_l ArcFace R50 through onnxruntime (not differentiable)."""

    name = "arcface-insightface"
    embedding_dim = 512
    input_size = 112
    template = ARCFACE_112
    differentiable = False
    threshold = None  # insightface publishes no verification threshold for this model
    weight_names = (WEIGHTS,)

    def __init__(self) -> None:
        super().__init__()
        try:
            from insightface.model_zoo import get_model
        except ImportError as exc:
            raise ImportError("arcface-insightface needs insightface and onnxruntime (pip install insightface)") from exc
        self.weights_path = model_file()
        model = get_model(str(self.weights_path), providers=["CPUExecutionProvider"])
        if model is None or getattr(model, "taskname", None) != "recognition":
            raise ValueError(f"insightface does not read {self.weights_path} as a recognition model")
        if tuple(model.input_size) != (self.input_size, self.input_size):
            raise ValueError(f"{self.weights_path} expects {model.input_size} inputs, not 112x112")
        self.model = model

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        # what norm_crop hands get_feat: BGR, HWC, 0-255 (kept as float: no extra rounding here)
        images = frames.detach().clamp(0.0, 1.0).flip(1).permute(0, 2, 3, 1).mul(255.0).cpu().numpy()
        features = self.model.get_feat([np.ascontiguousarray(image, dtype=np.float32) for image in images])
        return torch.from_numpy(np.asarray(features, dtype=np.float32)).to(frames.device)

    def describe(self) -> dict[str, object]:
        facts = super().describe()
        facts.update({
            "library": "insightface",
            "library_version": importlib.metadata.version("insightface"),
            "preprocessing": f"get_feat: RGB (x - {self.model.input_mean}) / {self.model.input_std}, x in 0-255",
            "threshold_source": "insightface publishes no verification threshold for buffalo_l",
            "weights_file": str(self.weights_path),
            "weights_sha256": weights.MANIFEST[WEIGHTS].sha256,
        })
        return facts
