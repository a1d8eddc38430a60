"""The paper's networks with random weights, saved where the weight manifest looks and marked as stand-ins.

Each is built from the library's *own* class — deepface's ArcFace (ResNet34), Facenet (Inception-ResNet-v1,
128-D) and VGG-Face (VGG-16 with its fc8), torchvision's AlexNet under LPIPS — so that the loaders' strict
``load_state_dict`` and the whole forward path run exactly as with the published files.  deepface's SFace
is an ONNX graph that only OpenCV Zoo publishes; its stand-in is a small random graph with the same
interface (``[N, 3, 112, 112]`` RGB 0–255 in, 128 numbers out), run by deepface's own ``SFaceClient``.
CMUA's universal perturbation gets a random one within its ε.

Every file is marked with :func:`nullswap.standin.mark` (a ``<file>.standin.json`` beside it), so the sha256
check (``python -m nullswap.weights list`` says STAND-IN), the recognizer sanity gate and the results store
all know it for what it is: accepted only by ``rehearsal=true`` runs, whose every table is headed
"REHEARSAL — random weights, not results".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from nullswap import standin, weights

#: who marked the stand-ins (recorded in each marker)
MADE_BY = "benchmarks.rehearsal.standins (make rehearse-paper)"


@dataclass
class StandIn:
    entry: str
    path: Path
    what: str


def _save_state(network: torch.nn.Module, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(network.state_dict(), path)


def deepface_network(model: str) -> torch.nn.Module:
    """deepface's own torch class for ``model`` (ArcFace, Facenet, VGG-Face), randomly initialised."""
    from deepface.models.facial_recognition.pytorch import ArcFace, Facenet, VGGFace

    builders = {"ArcFace": ArcFace.base_model, "Facenet": lambda: Facenet.InceptionResNetV1(dimension=128),
                "VGG-Face": VGGFace.base_model}
    return builders[model]()


def sface_graph(path: Path, seed: int = 0) -> None:
    """A random ONNX graph with deepface's SFace interface: input ``data`` [N, 3, 112, 112], output 128-D."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    conv = numpy_helper.from_array(rng.normal(0, 0.05, (32, 3, 7, 7)).astype(np.float32), "conv_w")
    fc = numpy_helper.from_array(rng.normal(0, 0.05, (128, 32)).astype(np.float32), "fc_w")
    bias = numpy_helper.from_array(np.zeros(128, np.float32), "fc_b")
    nodes = [
        helper.make_node("Conv", ["data", "conv_w"], ["c"], strides=[4, 4], pads=[3, 3, 3, 3]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["fc1"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "sface_standin",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 112, 112])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, ["N", 128])],
        initializer=[conv, fc, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def build(seed: int = 0) -> list[StandIn]:
    """Every stand-in the paper's setting reads, at each entry's cache path in ``$NULLSWAP_HOME``, marked."""
    import torchvision

    torch.manual_seed(seed)
    made: list[StandIn] = []

    def mark(entry: str, what: str) -> None:
        path = weights.MANIFEST[entry].cache_path
        standin.mark(path, made_by=MADE_BY, entry=entry, network=what)
        made.append(StandIn(entry, path, what))

    for entry, model in (("deepface_arcface", "ArcFace"), ("deepface_facenet", "Facenet"),
                         ("deepface_vggface", "VGG-Face")):
        _save_state(deepface_network(model), weights.MANIFEST[entry].cache_path)
        mark(entry, f"deepface {model}, random initial weights")
    sface_graph(weights.MANIFEST["deepface_sface"].cache_path, seed)
    mark("deepface_sface", "random ONNX graph with deepface SFace's interface")
    _save_state(torchvision.models.alexnet(weights=None), weights.MANIFEST["lpips_alexnet_backbone"].cache_path)
    mark("lpips_alexnet_backbone", "torchvision AlexNet, random initial weights (LPIPS backbone)")
    perturbation = (torch.rand(3, 256, 256) * 2 - 1) * 0.05  # CMUA's [-1, 1] units, its ε 0.05
    path = weights.MANIFEST["cmua_perturbation"].cache_path
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(perturbation, path)
    mark("cmua_perturbation", "uniform random perturbation within CMUA's ε")
    return made


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.rehearsal.standins --celebahq DIR --lfw DIR``: the stand-in data layouts and
    weights, in ``$NULLSWAP_HOME`` (a private one: ``make rehearse-paper`` sets it)."""
    import argparse

    from benchmarks.rehearsal import layouts

    parser = argparse.ArgumentParser(prog="python -m benchmarks.rehearsal.standins", description=main.__doc__)
    parser.add_argument("--celebahq", type=Path, required=True, help="where to write the CelebA-HQ layout")
    parser.add_argument("--lfw", type=Path, required=True, help="where to write the LFW layout")
    args = parser.parse_args(argv)
    faces = layouts.rehearsal_faces()
    celebahq = layouts.write_celebahq(args.celebahq, faces, layouts.choose_splits(faces))
    lfw = layouts.write_lfw(args.lfw, faces)
    print(f"CelebA-HQ layout: {celebahq.describe()} (from the {faces.name} faces) in {args.celebahq}")
    print(f"LFW layout: {lfw.describe()} in {args.lfw}")
    for made in build():
        print(f"stand-in {made.entry}: {made.path} ({made.what})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
