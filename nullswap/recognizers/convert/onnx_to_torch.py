"""Repair shipped ONNX recognizers and convert them into differentiable torch modules.

OpenCV Zoo ships SFace as a block-quantised int8 graph (``*_int8bq.onnx``) that neither onnxruntime
nor OpenCV runs as it is: besides the image, its graph inputs list 145 initializers and the 29 fp32
weights that quantisation replaced, which no node reads but onnxruntime still demands to be fed (and
OpenCV rejects a net with several inputs).  :func:`repair_int8bq` drops those stale inputs and folds the ``DequantizeLinear``/``Reshape`` chains
of the quantised weights into plain fp32 initializers, which gives an ordinary fp32 graph that
onnxruntime and OpenCV's DNN module run and that :func:`convert` turns into torch.

The converter is deliberately small: one torch module per ONNX op that such recognizers use, weights
as real ``nn.Parameter``s, and a graph walker that runs the nodes in their (topological) ONNX order.
An op it does not know raises :class:`OnnxConversionError` naming it, instead of guessing.

:func:`load_converted` caches the result under ``$NULLSWAP_HOME/weights/converted/`` keyed by the
source file's sha256, so that only the first load pays for parsing and folding.  The cache holds the
node list (plain Python values) and the state dict, and is read back with ``weights_only=True``.
"""

from __future__ import annotations

import copy
import logging
import math
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator
from torch import nn

from nullswap.assets import cache_root, sha256_of
from nullswap.atomic import atomic_path

log = logging.getLogger(__name__)

#: bump when the converter's output changes, so that old caches are not reused
CONVERTER_VERSION = 1
#: ops whose outputs are folded into initializers when all their inputs are constant
FOLDABLE_OPS = frozenset({"DequantizeLinear", "Reshape"})


class OnnxConversionError(ValueError):
    """The ONNX file cannot be read, repaired or converted; the message says which and why."""


# --------------------------------------------------------------------------------------------------
# Reading and repairing
# --------------------------------------------------------------------------------------------------
def load_onnx(path: str | os.PathLike[str]) -> onnx.ModelProto:
    """Parse an ONNX file, turning protobuf's terse failures into an error that names the file."""
    path = Path(path)
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf raises DecodeError, RuntimeError, ... depending on the damage
        raise OnnxConversionError(f"{path} is not a readable ONNX model ({type(exc).__name__}: {exc}); "
                                  "the file is corrupt or truncated: delete it and fetch it again") from exc
    if not model.graph.node:
        raise OnnxConversionError(f"{path} parsed as ONNX but holds no graph nodes; the file is corrupt")
    return model


def repair_int8bq(model: onnx.ModelProto) -> onnx.ModelProto:
    """A plain fp32 copy of a block-quantised OpenCV Zoo graph that onnxruntime accepts.

    Two repairs: (1) graph inputs that are initializers, or that no node reads (the fp32 weights the
    quantiser replaced), are dropped, leaving only the real image input; (2) every ``DequantizeLinear``
    or ``Reshape`` node whose inputs are all constant is evaluated once with ONNX's reference
    evaluator and replaced by an fp32 initializer.  Initializers left unused are removed."""
    model = copy.deepcopy(model)
    graph = model.graph
    initializer_names = {init.name for init in graph.initializer}
    consumed = {name for node in graph.node for name in node.input}
    real_inputs = [i for i in graph.input if i.name not in initializer_names and i.name in consumed]
    if not real_inputs:
        raise OnnxConversionError("the graph has no input that is neither an initializer nor unused")
    del graph.input[:]
    graph.input.extend(real_inputs)

    constant = set(initializer_names)
    folded_nodes = []
    for node in graph.node:
        if node.op_type in FOLDABLE_OPS and all(name in constant for name in node.input if name):
            folded_nodes.append(node)
            constant.update(node.output)
    if folded_nodes:
        folded = _evaluate_constant_nodes(model, folded_nodes)
        remaining = [node for node in graph.node if node not in folded_nodes]
        del graph.node[:]
        graph.node.extend(remaining)
        for name, value in folded.items():
            graph.initializer.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))

    used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise OnnxConversionError(f"the repaired graph does not validate: {exc}") from exc
    return model


def _evaluate_constant_nodes(model: onnx.ModelProto, nodes: Sequence[onnx.NodeProto]) -> dict[str, np.ndarray]:
    """Run ``nodes`` (whose inputs are all initializers or earlier ``nodes``) with ONNX's reference
    evaluator, and return each output that is not itself only an intermediate of the chain."""
    outputs = [name for node in nodes for name in node.output]
    sub = onnx.helper.make_model(
        onnx.helper.make_graph(
            list(nodes), "constant_folding", [],
            [onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None) for name in outputs],
            list(model.graph.initializer),
        ),
        opset_imports=list(model.opset_import),
        ir_version=model.ir_version,
    )
    values = ReferenceEvaluator(sub).run(outputs, {})
    return dict(zip(outputs, values))


def free_batch_dimension(model: onnx.ModelProto, name: str = "batch") -> onnx.ModelProto:
    """A copy whose graph inputs and outputs take any batch size (the shipped graph fixes it at 1).

    The recorded intermediate shapes (``value_info``) carry the old batch of 1 too; they are dropped
    and left to the runtime's own shape inference."""
    model = copy.deepcopy(model)
    del model.graph.value_info[:]
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].Clear()
            dims[0].dim_param = name
    return model


def graph_ops(model: onnx.ModelProto) -> Counter[str]:
    """How many nodes of each op type the graph has."""
    return Counter(node.op_type for node in model.graph.node)


# --------------------------------------------------------------------------------------------------
# One torch module per ONNX op
# --------------------------------------------------------------------------------------------------
class Conv(nn.Module):
    """ONNX ``Conv`` for 2-D images with symmetric explicit padding (what such recognizers use)."""

    def __init__(self, attrs: dict[str, Any], weight: torch.Tensor, bias: torch.Tensor | None = None):
        super().__init__()
        if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", ""):
            raise OnnxConversionError(f"Conv auto_pad={attrs['auto_pad']} is not supported")
        if weight.ndim != 4:
            raise OnnxConversionError(f"only 2-D Conv is supported, got a weight of shape {tuple(weight.shape)}")
        pads = list(attrs.get("pads", [0, 0, 0, 0]))
        if pads[:2] != pads[2:]:
            raise OnnxConversionError(f"asymmetric Conv padding {pads} is not supported")
        self.stride = tuple(attrs.get("strides", [1, 1]))
        self.padding = tuple(pads[:2])
        self.dilation = tuple(attrs.get("dilations", [1, 1]))
        self.groups = int(attrs.get("group", 1))
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias) if bias is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class BatchNorm(nn.Module):
    """ONNX ``BatchNormalization`` in inference form: always the stored statistics, whatever
    ``train()`` says, because the exported network is a fixed function (its statistics are weights)."""

    def __init__(self, attrs: dict[str, Any], scale: torch.Tensor, bias: torch.Tensor,
                 mean: torch.Tensor, var: torch.Tensor):
        super().__init__()
        self.eps = float(attrs.get("epsilon", 1e-5))
        self.weight = nn.Parameter(scale)
        self.bias = nn.Parameter(bias)
        self.register_buffer("running_mean", mean)
        self.register_buffer("running_var", var)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=False, eps=self.eps)


class PRelu(nn.Module):
    """ONNX ``PRelu``: the slope broadcasts against the input (e.g. shape (C, 1, 1) for NCHW)."""

    def __init__(self, attrs: dict[str, Any], slope: torch.Tensor):
        super().__init__()
        self.slope = nn.Parameter(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        slope = self.slope
        # one slope per channel (C, 1, …, 1) or a single one: torch's fused PReLU (same values), cheaper
        # forward and backward than the broadcast ``where`` below
        per_channel = slope.ndim == x.ndim - 1 and x.ndim >= 2 and slope.shape[0] == x.shape[1] \
            and all(size == 1 for size in slope.shape[1:])
        if per_channel or slope.numel() == 1:
            return F.prelu(x, slope.reshape(-1))
        return torch.where(x >= 0, x, x * slope)


class Gemm(nn.Module):
    """ONNX ``Gemm`` with constant B (and C): ``alpha * A' @ B' + beta * C``."""

    def __init__(self, attrs: dict[str, Any], b: torch.Tensor, c: torch.Tensor | None = None):
        super().__init__()
        self.alpha = float(attrs.get("alpha", 1.0))
        self.beta = float(attrs.get("beta", 1.0))
        self.trans_a = bool(attrs.get("transA", 0))
        self.trans_b = bool(attrs.get("transB", 0))
        self.weight = nn.Parameter(b)
        self.bias = nn.Parameter(c) if c is not None else None

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        a = a.t() if self.trans_a else a
        b = self.weight.t() if self.trans_b else self.weight
        y = self.alpha * (a @ b)
        return y if self.bias is None else y + self.beta * self.bias


class MatMul(nn.Module):
    """ONNX ``MatMul`` with a constant right operand."""

    def __init__(self, attrs: dict[str, Any], b: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(b)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return a @ self.weight


_BINARY = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div}


class Binary(nn.Module):
    """``Add``/``Sub``/``Mul``/``Div``; a constant operand (such as the input normalisation of
    SFace, ``(x - 127.5) * 0.0078125``) is kept as a buffer on its own side of the operator."""

    def __init__(self, op: str, constant: torch.Tensor | None = None, constant_first: bool = False):
        super().__init__()
        self.op = op
        self.constant_first = constant_first
        self.register_buffer("constant", constant)

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        if self.constant is None:
            a, b = args
        else:
            a, b = (self.constant, args[0]) if self.constant_first else (args[0], self.constant)
        return _BINARY[self.op](a, b)


class Flatten(nn.Module):
    """ONNX ``Flatten``: always 2-D, (prod(dims[:axis]), prod(dims[axis:]))."""

    def __init__(self, attrs: dict[str, Any]):
        super().__init__()
        self.axis = int(attrs.get("axis", 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        axis = self.axis + x.ndim if self.axis < 0 else self.axis
        return x.reshape(math.prod(x.shape[:axis]), -1)


class Reshape(nn.Module):
    """ONNX ``Reshape`` with a constant target shape (0 copies the input dimension, -1 is inferred)."""

    def __init__(self, attrs: dict[str, Any], shape: torch.Tensor):
        super().__init__()
        if attrs.get("allowzero", 0):
            raise OnnxConversionError("Reshape allowzero=1 is not supported")
        self.register_buffer("shape", shape.to(torch.int64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        target = [x.shape[i] if int(s) == 0 else int(s) for i, s in enumerate(self.shape.tolist())]
        return x.reshape(target)


class Relu(nn.Module):
    def __init__(self, attrs: dict[str, Any]):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x)


class Identity(nn.Module):
    """``Identity`` and inference-time ``Dropout`` (whose ratio and mode inputs are ignored)."""

    def __init__(self, attrs: dict[str, Any], *ignored: torch.Tensor | None):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _build_layer(op: str, attrs: dict[str, Any], constants: list[torch.Tensor | None]) -> nn.Module:
    """The torch module for one node; ``constants[i]`` is input ``i``'s value if it is constant."""
    if op in _BINARY:
        if constants[0] is not None and constants[1] is not None:
            raise OnnxConversionError(f"{op} of two constants should have been folded")
        constant_first = constants[0] is not None
        return Binary(op, constants[0] if constant_first else constants[1], constant_first)
    layers: dict[str, type[nn.Module]] = {
        "Conv": Conv, "BatchNormalization": BatchNorm, "PRelu": PRelu, "Gemm": Gemm, "MatMul": MatMul,
        "Flatten": Flatten, "Reshape": Reshape, "Relu": Relu, "Dropout": Identity, "Identity": Identity,
    }
    if op not in layers:
        raise OnnxConversionError(f"ONNX op '{op}' is not supported by the converter "
                                  f"(supported: {', '.join(sorted([*layers, *_BINARY]))})")
    weights = constants[1:]
    if op not in ("Dropout", "Identity") and any(w is None for w in weights):
        position = 2 + next(i for i, w in enumerate(weights) if w is None)
        raise OnnxConversionError(f"{op}: input {position} must be a constant (a weight) to be converted")
    return layers[op](attrs, *weights)


# --------------------------------------------------------------------------------------------------
# The graph as one module
# --------------------------------------------------------------------------------------------------
def _attributes(node: onnx.NodeProto) -> dict[str, Any]:
    """Node attributes as plain Python values (so that the node list can be cached safely)."""
    out: dict[str, Any] = {}
    for attr in node.attribute:
        value = onnx.helper.get_attribute_value(attr)
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, (list, tuple)):
            value = [v.decode() if isinstance(v, bytes) else v for v in value]
        elif not isinstance(value, (int, float, str)):
            raise OnnxConversionError(f"{node.op_type} attribute '{attr.name}' of type {type(value).__name__} "
                                      "is not supported")
        out[attr.name] = value
    return out


def _module_key(index: int, node: dict[str, Any]) -> str:
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in node["name"])
    return f"n{index:03d}_{name or node['op']}"


class OnnxGraphModule(nn.Module):
    """An ONNX graph as a torch module: ``nodes`` in topological order, one layer per node.

    ``nodes`` are plain dicts (op, name, inputs, outputs, attrs, constant input shapes), so the module
    can be rebuilt from a cache without ONNX: build it with placeholder constants, then load the
    state dict."""

    def __init__(self, nodes: list[dict[str, Any]], inputs: list[str], outputs: list[str],
                 constants: dict[str, torch.Tensor] | None = None):
        super().__init__()
        self.nodes = nodes
        self.input_names = list(inputs)
        self.output_names = list(outputs)
        self.layers = nn.ModuleDict()
        for index, node in enumerate(nodes):
            values: list[torch.Tensor | None] = []
            for position, name in enumerate(node["inputs"]):
                shape = node["constant_shapes"].get(position)
                if shape is None:
                    values.append(None)
                elif constants is not None:
                    values.append(constants[name].clone())
                else:
                    values.append(torch.empty(shape, dtype=torch.int64 if node["op"] == "Reshape" else torch.float32))
            self.layers[_module_key(index, node)] = _build_layer(node["op"], node["attrs"], values)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if len(inputs) != len(self.input_names):
            raise ValueError(f"expected {len(self.input_names)} inputs ({', '.join(self.input_names)}), "
                             f"got {len(inputs)}")
        env: dict[str, torch.Tensor] = dict(zip(self.input_names, inputs))
        for index, node in enumerate(self.nodes):
            args = [env[name] for position, name in enumerate(node["inputs"])
                    if name and position not in node["constant_shapes"]]
            result = self.layers[_module_key(index, node)](*args)
            env[node["outputs"][0]] = result
        outs = tuple(env[name] for name in self.output_names)
        return outs[0] if len(outs) == 1 else outs


def convert(model: onnx.ModelProto) -> OnnxGraphModule:
    """Convert an fp32 ONNX graph (after :func:`repair_int8bq` where needed) into a torch module."""
    graph = model.graph
    constants: dict[str, torch.Tensor] = {}
    for init in graph.initializer:
        constants[init.name] = torch.from_numpy(np.array(numpy_helper.to_array(init)))
    nodes: list[dict[str, Any]] = []
    for node in graph.node:
        if node.op_type == "Constant":  # a constant node is just a named constant: no layer
            value = onnx.helper.get_attribute_value(next(a for a in node.attribute if a.name == "value"))
            constants[node.output[0]] = torch.from_numpy(np.array(numpy_helper.to_array(value)))
            continue
        extra_outputs = [o for o in node.output[1:] if o]
        if extra_outputs and node.op_type != "Dropout":  # Dropout's optional mask output is never read
            raise OnnxConversionError(f"{node.op_type} '{node.name}' has several outputs; not supported")
        nodes.append({
            "op": node.op_type,
            "name": node.name,
            "inputs": list(node.input),
            "outputs": [node.output[0]],
            "attrs": _attributes(node),
            "constant_shapes": {i: list(constants[n].shape) for i, n in enumerate(node.input) if n in constants},
        })
    inputs = [i.name for i in graph.input if i.name not in constants]
    module = OnnxGraphModule(nodes, inputs, [o.name for o in graph.output], constants)
    for tensor in module.state_dict().values():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise OnnxConversionError("the converted weights contain NaN or infinity; the source is corrupt")
    return module.float()


# --------------------------------------------------------------------------------------------------
# Cached loading
# --------------------------------------------------------------------------------------------------
def converted_dir() -> Path:
    return cache_root() / "weights" / "converted"


def _cache_stem(source: Path, sha256: str) -> str:
    return f"{source.stem}-{sha256[:16]}-v{CONVERTER_VERSION}"


def _atomic_write(dest: Path, write: Any) -> None:
    """Write through a unique temporary file in ``dest``'s folder, then rename: concurrent loaders
    never see a half-written cache, and the last complete writer wins."""
    with atomic_path(dest) as temporary:
        write(temporary)


def repaired_onnx(source: str | os.PathLike[str], sha256: str | None = None) -> Path:
    """Path of the repaired fp32 graph of ``source`` (any batch size), made once and cached."""
    source = Path(source)
    sha256 = sha256 or sha256_of(source)
    dest = converted_dir() / f"{_cache_stem(source, sha256)}-fp32.onnx"
    if dest.is_file():
        try:
            onnx.checker.check_model(str(dest))
            return dest
        except Exception as exc:  # a damaged cache is rebuilt, never trusted
            log.warning("rebuilding damaged cache %s (%s)", dest, exc)
    model = free_batch_dimension(repair_int8bq(load_onnx(source)))
    _atomic_write(dest, lambda tmp: onnx.save(model, str(tmp)))
    return dest


def load_converted(source: str | os.PathLike[str], sha256: str | None = None) -> OnnxGraphModule:
    """The torch module of ONNX file ``source`` (repaired and converted), cached by sha256."""
    source = Path(source)
    sha256 = sha256 or sha256_of(source)
    dest = converted_dir() / f"{_cache_stem(source, sha256)}.pt"
    if dest.is_file():
        try:
            return _from_cache(dest, sha256)
        except Exception as exc:  # a damaged or foreign cache is rebuilt, never trusted
            log.warning("rebuilding damaged cache %s (%s)", dest, exc)
    module = convert(repair_int8bq(load_onnx(source)))
    payload = {
        "format": CONVERTER_VERSION,
        "source_sha256": sha256,
        "nodes": module.nodes,
        "inputs": module.input_names,
        "outputs": module.output_names,
        "state_dict": module.state_dict(),
    }
    _atomic_write(dest, lambda tmp: torch.save(payload, tmp))
    return module


def _from_cache(path: Path, sha256: str) -> OnnxGraphModule:
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format") != CONVERTER_VERSION or payload.get("source_sha256") != sha256:
        raise OnnxConversionError(f"{path} was made from another source or converter version")
    module = OnnxGraphModule(payload["nodes"], payload["inputs"], payload["outputs"])
    module.load_state_dict(payload["state_dict"], strict=True)
    return module

