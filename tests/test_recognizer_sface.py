"""SFace: the repaired graph, its torch conversion, and both back ends on real aligned faces."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

import nullswap.recognizers as recognizers
from nullswap import weights
from nullswap.recognizers.convert import onnx_to_torch
from nullswap.recognizers.convert.onnx_to_torch import OnnxConversionError
from nullswap.recognizers.sface import COSINE_THRESHOLD

OBAMA = ("obama", "obama2", "obama3")
TOLERANCE = 1e-4


def _quiet_session(model: onnx.ModelProto | str) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    source = model if isinstance(model, str) else model.SerializeToString()
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def sface_path():
    try:
        return weights.path("sface_int8bq")
    except weights.MissingWeightsError as exc:
        pytest.skip(f"SFace weights not prepared (make models): {exc}")


@pytest.fixture(scope="module")
def sface(sface_path):
    return recognizers.load("sface")


@pytest.fixture(scope="module")
def sface_onnx(sface_path):
    return recognizers.load("sface-onnx")


@pytest.fixture(scope="module")
def faces(canonical_faces):
    names = sorted(canonical_faces)
    return names, torch.stack([canonical_faces[n] for n in names])


@pytest.fixture(scope="module")
def frames(sface, faces):
    """The real faces in SFace's own frame (ArcFace 112) as the recognizer warps them, rounded to
    8-bit so that OpenCV (which takes uint8 crops) sees exactly the same pixels."""
    with torch.no_grad():
        return (sface.to_input_frame(faces[1]) * 255.0).round().clamp(0, 255) / 255.0


@pytest.fixture(scope="module")
def features(sface, sface_onnx, frames):
    """Raw (unnormalised) features of ``frames`` from the torch model and from onnxruntime."""
    with torch.no_grad():
        return sface.embed(frames), sface_onnx.embed(frames)


# -------------------------------------------------------------------------------------- the graph
def test_shipped_graph_cannot_run_but_the_repaired_one_is_plain_fp32(sface_path):
    shipped = onnx_to_torch.load_onnx(sface_path)
    image = np.zeros((1, 3, 112, 112), np.float32)
    with pytest.raises(ValueError, match="missing from input feed"):
        _quiet_session(shipped).run(None, {"data": image})

    repaired = onnx_to_torch.repair_int8bq(shipped)
    ops = onnx_to_torch.graph_ops(repaired)
    assert set(ops) == {"Sub", "Mul", "Conv", "BatchNormalization", "PRelu", "Constant", "Dropout",
                        "Flatten", "Gemm"}
    assert ops["Conv"] == 27 and ops["PRelu"] == 27 and ops["BatchNormalization"] == 29
    assert [i.name for i in repaired.graph.input] == ["data"]
    assert all(init.data_type == onnx.TensorProto.FLOAT for init in repaired.graph.initializer)
    (features,) = _quiet_session(repaired).run(None, {"data": image})
    assert features.shape == (1, 128) and np.isfinite(features).all()


def test_folded_weights_equal_the_block_dequantisation_done_by_hand(sface_path):
    shipped = onnx_to_torch.load_onnx(sface_path)
    init = {i.name: numpy_helper.to_array(i) for i in shipped.graph.initializer}
    folded = {i.name: numpy_helper.to_array(i) for i in onnx_to_torch.repair_int8bq(shipped).graph.initializer}
    # pre_fc1: int8 blocks of 64 along axis 1, one scale and zero point per block
    q = init["pre_fc1_weight_quantized"].astype(np.float32)
    scale = np.repeat(init["pre_fc1_weight_scales"], 64, axis=1)[:, : q.shape[1]]
    zero = np.repeat(init["pre_fc1_weight_zero_point"].astype(np.float32), 64, axis=1)[:, : q.shape[1]]
    np.testing.assert_array_equal(folded["pre_fc1_weight_dequantized"], (q - zero) * scale)
    # a depthwise kernel: dequantised in blocks of 9, then reshaped to (C, 1, 3, 3)
    q = init["conv_14_dw_conv2d_weight_quantized"].astype(np.float32)
    scale = np.repeat(init["conv_14_dw_conv2d_weight_scales"], 9, axis=1)
    zero = np.repeat(init["conv_14_dw_conv2d_weight_zero_point"].astype(np.float32), 9, axis=1)
    expected = ((q - zero) * scale).reshape(init["conv_14_dw_conv2d_weight_shape"])
    np.testing.assert_array_equal(folded["conv_14_dw_conv2d_weight_reshaped"], expected)


# -------------------------------------------------------------------------------------- the models
def test_recognizers_are_registered_with_their_contract(sface, sface_onnx):
    assert {"sface", "sface-onnx"} <= set(recognizers.available())
    for model, differentiable in ((sface, True), (sface_onnx, False)):
        facts = model.describe()
        assert facts["embedding_dim"] == 128 and facts["input_size"] == 112
        assert facts["template"] == "arcface" and facts["threshold"] == COSINE_THRESHOLD == 0.363
        assert facts["differentiable"] is differentiable and facts["weights"] == ["sface_int8bq"]


def test_converted_sface_matches_onnxruntime_on_real_faces(features):
    torch_features, onnx_features = features
    diff = (torch_features - onnx_features).abs().max().item()
    print(f"max |torch - onnxruntime| on {len(torch_features)} real faces: {diff:.2e} "
          f"(largest feature {onnx_features.abs().max().item():.2f})")
    assert diff <= TOLERANCE


def test_converted_sface_matches_opencv_face_recognizer_sf(sface, sface_path, frames, features):
    """OpenCV's FaceRecognizerSF takes a BGR uint8 crop and swaps it to RGB: the same crop in RGB
    [0, 1] must give the same features from the torch model, and the opposite order must not."""
    opencv = cv2.FaceRecognizerSF.create(str(onnx_to_torch.repaired_onnx(sface_path)), "")
    crops = (frames * 255.0).round().to(torch.uint8)  # (B, 3, 112, 112) RGB
    bgr = [np.ascontiguousarray(c.permute(1, 2, 0).numpy()[..., ::-1]) for c in crops]
    reference = torch.from_numpy(np.concatenate([opencv.feature(img) for img in bgr]))
    diff = (features[0] - reference).abs().max().item()
    with torch.no_grad():
        swapped = (sface.embed(frames[:2].flip(1)) - reference[:2]).abs().max().item()
    print(f"max |torch - cv2.FaceRecognizerSF| on {len(crops)} real faces: {diff:.2e}; "
          f"with channels swapped: {swapped:.2f}")
    assert diff <= TOLERANCE
    assert swapped > 0.1


def test_gradients_reach_the_canonical_crop(sface, canonical_faces):
    crop = canonical_faces["obama"][None].clone().requires_grad_(True)
    with torch.no_grad():
        anchor = sface(canonical_faces["obama2"][None])
    similarity = F.cosine_similarity(sface(crop), anchor).sum()
    similarity.backward()
    assert crop.grad is not None and torch.isfinite(crop.grad).all()
    assert crop.grad.abs().sum() > 0
    # the gradient points somewhere useful: a small step along it raises the similarity
    with torch.no_grad():
        stepped = (crop + 2e-3 * crop.grad.sign()).clamp(0, 1)
        assert F.cosine_similarity(sface(stepped), anchor).item() > similarity.item()


def test_sface_onnx_is_a_black_box(sface_onnx, canonical_faces):
    crop = canonical_faces["obama"][None].clone().requires_grad_(True)
    assert not sface_onnx(crop).requires_grad


def test_genuine_pairs_score_above_impostors_and_opencvs_threshold(sface_onnx, faces, features):
    names, batch = faces
    obama = [names.index(n) for n in OBAMA]
    others = [i for i in range(len(names)) if i not in obama]
    with torch.no_grad():
        from_forward = sface_onnx(batch)  # the public path: canonical crops in, unit vectors out
    assert torch.allclose(from_forward.norm(dim=1), torch.ones(len(names)), atol=1e-5)
    for label, embeddings in (("sface", F.normalize(features[0], dim=1)), ("sface-onnx", from_forward)):
        cos = embeddings @ embeddings.T
        genuine = torch.stack([cos[i, j] for i in obama for j in obama if i < j])
        impostor = cos[obama][:, others]
        print(f"{label}: genuine {[round(v, 3) for v in genuine.tolist()]}, "
              f"Obama vs others max {impostor.max().item():.3f} mean {impostor.mean().item():.3f}")
        assert genuine.min() > COSINE_THRESHOLD > impostor.max()
        assert genuine.min() - impostor.max() > 0.3


# -------------------------------------------------------------------------------------- failures
def test_missing_weights_raise_missing_weights_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NULLSWAP_HOME", str(tmp_path))
    monkeypatch.delenv("NULLSWAP_WEIGHT_SFACE_INT8BQ", raising=False)
    for name in ("sface", "sface-onnx"):
        with pytest.raises(weights.MissingWeightsError, match=r"face_recognition_sface_2021dec_int8bq\.onnx"):
            recognizers.load(name)


def test_a_corrupt_weight_file_is_reported_not_loaded(tmp_path, monkeypatch, sface_path):
    monkeypatch.setenv("NULLSWAP_HOME", str(tmp_path))
    monkeypatch.delenv("NULLSWAP_WEIGHT_SFACE_INT8BQ", raising=False)
    damaged = weights.MANIFEST["sface_int8bq"].cache_path
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(sface_path.read_bytes()[: 1 << 20])  # a truncated download
    with pytest.raises(weights.MissingWeightsError, match="sha256 differs"):
        recognizers.load("sface")


def test_a_corrupt_onnx_file_gives_a_clear_conversion_error(tmp_path, sface_path):
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(sface_path.read_bytes()[:100_000])
    with pytest.raises(OnnxConversionError, match="corrupt"):
        onnx_to_torch.load_converted(truncated)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not a protobuf")
    with pytest.raises(OnnxConversionError, match=r"garbage\.onnx"):
        onnx_to_torch.load_onnx(garbage)


def test_conversion_is_cached_by_sha256_and_a_damaged_cache_is_rebuilt(tmp_path, monkeypatch, sface_path,
                                                                       frames):
    monkeypatch.setenv("NULLSWAP_HOME", str(tmp_path))
    source = tmp_path / "sface.onnx"
    shutil.copyfile(sface_path, source)
    sha = weights.MANIFEST["sface_int8bq"].sha256
    first = onnx_to_torch.load_converted(source, sha256=sha)
    cached = list((tmp_path / "weights" / "converted").glob(f"*{sha[:16]}*.pt"))
    assert len(cached) == 1
    source.unlink()  # a cache hit needs neither the ONNX file nor ONNX parsing
    second = onnx_to_torch.load_converted(source, sha256=sha)
    with torch.no_grad():
        assert torch.equal(first(frames[:1] * 255), second(frames[:1] * 255))
    cached[0].write_bytes(b"damaged")
    shutil.copyfile(sface_path, source)
    third = onnx_to_torch.load_converted(source, sha256=sha)
    with torch.no_grad():
        assert torch.equal(first(frames[:1] * 255), third(frames[:1] * 255))


# -------------------------------------------------------------------------------------- the converter
def _small_graph() -> onnx.ModelProto:
    """A graph with the converter's other ops (bias Conv, Relu, Add, Reshape, MatMul, Gemm with transB=0,
    Div, Identity), to check them against onnxruntime beyond what SFace uses."""
    rng = np.random.default_rng(0)

    def const(name: str, shape: tuple[int, ...]) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)

    inits = [const("w", (4, 3, 3, 3)), const("b", (4,)), const("bias", (1, 4, 1, 1)), const("m", (64, 8)),
             const("g", (8, 5)), const("c", (5,)), const("two", ()),
             numpy_helper.from_array(np.array([0, -1], np.int64), "shape")]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c1"], ["r"]),
        helper.make_node("Add", ["bias", "r"], ["a"]),
        helper.make_node("Reshape", ["a", "shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "m"], ["mm"]),
        helper.make_node("Gemm", ["mm", "g", "c"], ["gm"], alpha=0.5, beta=2.0),
        helper.make_node("Div", ["gm", "two"], ["d"]),
        helper.make_node("Identity", ["d"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "small", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT,
                                                                             ["n", 3, 8, 8])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", 5])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_converter_reproduces_onnxruntime_on_its_other_ops():
    model = _small_graph()
    x = np.random.default_rng(1).standard_normal((3, 3, 8, 8)).astype(np.float32)
    (expected,) = _quiet_session(model).run(None, {"x": x})
    module = onnx_to_torch.convert(model)
    assert {n for n, _ in module.named_parameters()} >= {"layers.n000_Conv.weight", "layers.n000_Conv.bias"}
    with torch.no_grad():
        np.testing.assert_allclose(module(torch.from_numpy(x)).numpy(), expected, atol=1e-5)


def test_converter_names_an_unsupported_op():
    graph = helper.make_graph([helper.make_node("Softmax", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])])
    with pytest.raises(OnnxConversionError, match="'Softmax' is not supported"):
        onnx_to_torch.convert(helper.make_model(graph))
