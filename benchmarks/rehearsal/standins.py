"""The paper's networks with random weights, saved where the weight manifest looks and marked as stand-ins.

Each is built from the library's *own* class — deepface's ArcFace (ResNet34), Facenet (Inception-ResNet-v1,
128-D) and VGG-Face (VGG-16 with its fc8), torchvision's AlexNet under LPIPS — so that the loaders' strict
``load_state_dict`` and the whole forward path run exactly as with the published files.  deepface's SFace
is an ONNX graph that OpenCV Zoo publishes; its stand-in is that graph (the architecture, from the offline
asset's copy) at fresh initial values, run by deepface's own ``SFaceClient``.
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
    """deepface's SFace network with fresh initial values, as ONNX: the OpenCV Zoo 2021dec graph itself, read
    from the offline asset's repaired fp32 copy (the same architecture, block-quantised by its publisher), with
    every learned tensor re-initialised as a framework initialises a new network — convolutions and the
    embedding layer He-normal, batch norms at scale 1, shift 0, mean 0, variance 1, PReLU slopes 0.25, biases
    0 — and the graph's own input normalisation constants kept."""
    import math

    import numpy as np
    import onnx
    from onnx import numpy_helper

    from nullswap.recognizers.convert.onnx_to_torch import repaired_onnx

    entry = weights.MANIFEST["sface_int8bq"]
    model = onnx.load(str(repaired_onnx(weights.path(entry.name), sha256=entry.sha256)))
    roles: dict[str, tuple[str, int]] = {}
    for node in model.graph.node:
        for index, name in enumerate(node.input):
            roles.setdefault(name, (node.op_type, index))
    rng = np.random.default_rng(seed)
    fresh_bn = {1: 1.0, 2: 0.0, 3: 0.0, 4: 1.0}  # scale, shift, running mean, running variance
    initializers = []
    for tensor in model.graph.initializer:
        array = numpy_helper.to_array(tensor)
        op, index = roles.get(tensor.name, ("", -1))
        if op in ("Conv", "Gemm") and index == 1:
            fan_in = math.prod(array.shape[1:])
            array = rng.normal(0.0, math.sqrt(2.0 / fan_in), array.shape)
        elif op == "Gemm" and index == 2:
            array = np.zeros_like(array)
        elif op == "BatchNormalization":
            array = np.full_like(array, fresh_bn[index])
        elif op == "PRelu":
            array = np.full_like(array, 0.25)
        initializers.append(numpy_helper.from_array(np.asarray(array, dtype=np.float32), tensor.name))
    del model.graph.initializer[:]
    model.graph.initializer.extend(initializers)
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
    mark("deepface_sface", "deepface SFace's ONNX graph (OpenCV Zoo 2021dec), fresh initial values")
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
