"""The paper's evaluators as their libraries ship them: deepface (ArcFace, Facenet, Facenet512, VGG-Face,
SFace), facenet-pytorch (InceptionResnetV1 / VGGFace2) and insightface (buffalo_l ArcFace).

None of their weights reach an offline machine, so the tests here stop at the weights boundary:

* with the files absent, ``load`` raises :class:`MissingWeightsError` saying which file, where, which
  sha256 (or that none is published) and from where;
* **shape checks**: the libraries' own network classes with *random* initial weights, written to a
  temporary file that the manifest is pointed at, exercise our loading code, our preprocessing, output
  shapes and gradient flow, and compare with the library's own inference path on the same network.
  A random network says nothing about faces; these objects exist only inside the tests;
* the fixed frames are checked against deepface's own cropping of real photos;
* tests marked ``paper`` need the real files and skip with the reason when they are absent; they run
  unchanged on a machine whose caches hold them.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import zipfile

import cv2
import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper

import nullswap.recognizers as recognizers
from nullswap import weights
from nullswap.assets import sha256_of
from nullswap.faces.detect import load_image
from nullswap.faces.registry_photos import raw_photo
from nullswap.faces.templates import (
    ARCFACE_112,
    CANONICAL_256,
    DEEPFACE_ARCFACE_112,
    FACENET_160,
    VGGFACE_224,
    template_to_template,
)

pytest.importorskip("deepface", reason="deepface is not installed")

#: recognizer → its weight-manifest entry
PAPER = {
    "arcface": "deepface_arcface",
    "facenet": "deepface_facenet",
    "facenet512": "deepface_facenet512",
    "vggface": "deepface_vggface",
    "sface-deepface": "deepface_sface",
    "facenet-vggface2": "facenet_vggface2",
    "arcface-insightface": "insightface_w600k_r50",
}
#: deepface torch back ends: recognizer → (deepface model name, output size)
DEEPFACE_TORCH = {"arcface": ("ArcFace", 512), "facenet": ("Facenet", 128),
                  "facenet512": ("Facenet512", 512), "vggface": ("VGG-Face", 4096)}
FACES = ("obama", "obama2", "biden")


@pytest.fixture(scope="module")
def faces(canonical_faces) -> torch.Tensor:
    """Three real faces in the canonical frame: Obama twice (two photographs) and Biden."""
    return torch.stack([canonical_faces[name] for name in FACES])


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty cache, and no entry looking in the libraries' caches: the weights are surely absent."""
    monkeypatch.setenv("NULLSWAP_HOME", str(tmp_path / "home"))
    for entry in set(PAPER.values()) | {"insightface_buffalo_l"}:
        monkeypatch.delenv(f"NULLSWAP_WEIGHT_{entry.upper()}", raising=False)
        monkeypatch.setitem(weights.MANIFEST, entry, dataclasses.replace(
            weights.MANIFEST[entry], library_paths=(str(tmp_path / "library" / entry),)))
    return tmp_path


def _stand_in(monkeypatch, entry: str, path, unpinned: bool = False) -> None:
    """Point manifest ``entry`` at a test file (and drop its pinned sha256 when the file is a stand-in)."""
    monkeypatch.setenv(f"NULLSWAP_WEIGHT_{entry.upper()}", str(path))
    if unpinned:
        monkeypatch.setitem(weights.MANIFEST, entry, dataclasses.replace(weights.MANIFEST[entry], sha256=None))


def _random_deepface_network(model: str) -> torch.nn.Module:
    """deepface's own torch class for ``model`` with random initial weights (shape checks only)."""
    from deepface.models.facial_recognition.pytorch import ArcFace, Facenet, VGGFace

    torch.manual_seed(0)
    builders = {"ArcFace": ArcFace.base_model, "Facenet": lambda: Facenet.InceptionResNetV1(128),
                "Facenet512": lambda: Facenet.InceptionResNetV1(512), "VGG-Face": VGGFace.base_model}
    return builders[model]().eval()


def _flatten_graph(path, input_name: str = "data") -> None:
    """A stand-in ONNX graph whose 'embedding' is its own input, flattened: it shows exactly what a
    back end feeds the network (channel order, range, normalisation)."""
    node = helper.make_node("Flatten", [input_name], ["features"], axis=1)
    graph = helper.make_graph(
        [node], "input_probe",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", 3, 112, 112])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 3 * 112 * 112])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


# --------------------------------------------------------------------------------------------------
# The weights boundary
# --------------------------------------------------------------------------------------------------
def test_every_paper_recognizer_is_registered():
    assert set(PAPER) <= set(recognizers.available())


@pytest.mark.parametrize("name", sorted(PAPER))
def test_missing_weights_error_names_file_path_hash_and_source(isolated, name):
    entry = weights.MANIFEST[PAPER[name]]
    with pytest.raises(weights.MissingWeightsError) as caught:
        recognizers.load(name)
    message = str(caught.value)
    assert entry.filename in message
    assert str(entry.cache_path) in message
    assert (entry.sha256 in message) if entry.sha256 else ("no sha256 is published" in message)
    url = entry.urls[0] if entry.urls else weights.MANIFEST["insightface_buffalo_l"].urls[0]
    assert url in message
    assert entry.licence in message


def test_manifest_points_at_the_caches_the_libraries_use():
    home = os.environ.get("DEEPFACE_HOME", "~")
    for entry in ("deepface_arcface", "deepface_facenet", "deepface_facenet512", "deepface_vggface",
                  "deepface_sface"):
        item = weights.MANIFEST[entry]
        assert item.library_paths[0].startswith(home) and item.library_paths[0].endswith(
            f".deepface/weights/{item.filename}")
    assert weights.MANIFEST["facenet_vggface2"].library_paths[0].endswith("checkpoints/20180402-114759-vggface2.pt")
    assert weights.MANIFEST["insightface_w600k_r50"].library_paths == ("~/.insightface/models/buffalo_l/w600k_r50.onnx",)


def test_a_file_that_is_not_deepface_weights_is_refused_with_the_way_to_fix_it(tmp_path, monkeypatch):
    bogus = tmp_path / "arcface_weights.pth"
    torch.save({"conv.weight": torch.zeros(3)}, bogus)
    _stand_in(monkeypatch, "deepface_arcface", bogus)
    with pytest.raises(weights.MissingWeightsError, match="does not hold deepface's ArcFace weights"):
        recognizers.load("arcface")


# --------------------------------------------------------------------------------------------------
# deepface: preprocessing, thresholds, shape checks against deepface's own inference path
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("normalization", ["base", "raw", "Facenet", "Facenet2018", "VGGFace", "VGGFace2",
                                           "ArcFace"])
def test_deepface_input_matches_deepface_normalize_input(faces, normalization):
    from deepface.modules.preprocessing import normalize_input

    from nullswap.recognizers.deepface_backend import deepface_input

    frames = faces[:2]
    ours = deepface_input(frames, normalization).permute(0, 2, 3, 1).numpy()
    for i, frame in enumerate(frames):
        bgr = np.ascontiguousarray(frame.permute(1, 2, 0).numpy()[None, ..., ::-1], dtype=np.float32)
        theirs = normalize_input(bgr.copy(), normalization)[0]
        np.testing.assert_allclose(ours[i], theirs, rtol=1e-5, atol=1e-4)


def test_unknown_normalization_is_refused():
    from nullswap.recognizers.deepface_backend import deepface_input

    with pytest.raises(ValueError, match="unknown deepface normalization"):
        deepface_input(torch.zeros(1, 3, 8, 8), "imagenet")


def _deepface_shape_check(name, faces, tmp_path, monkeypatch):
    """Load ``name`` around a random-init copy of deepface's network; compare with deepface's client."""
    model, dim = DEEPFACE_TORCH[name]
    network = _random_deepface_network(model)
    stand_in = tmp_path / weights.MANIFEST[PAPER[name]].filename
    torch.save(network.state_dict(), stand_in)
    _stand_in(monkeypatch, PAPER[name], stand_in)

    recognizer = recognizers.load(name)
    from deepface.config.threshold import thresholds

    facts = recognizer.describe()
    assert recognizer.threshold == pytest.approx(1.0 - thresholds[model]["cosine"])
    assert facts["weights_sha256"] == sha256_of(stand_in) and facts["weights_sha256_published"] is None
    assert facts["library"] == "deepface" and facts["library_version"] == importlib.metadata.version("deepface")
    assert f"thresholds['{model}']['cosine']" in facts["threshold_source"]

    inputs = faces.clone().requires_grad_(True)
    embeddings = recognizer(inputs)
    assert embeddings.shape == (len(faces), dim)
    torch.testing.assert_close(embeddings.norm(dim=1), torch.ones(len(faces)))
    (embeddings[0] @ embeddings[1]).backward()
    assert inputs.grad is not None and torch.isfinite(inputs.grad).all() and inputs.grad.abs().sum() > 0

    # deepface's own client around the same network, fed what DeepFace.represent feeds it (BGR [0, 1])
    module = importlib.import_module(
        {"ArcFace": "deepface.models.facial_recognition.pytorch.ArcFace",
         "VGG-Face": "deepface.models.facial_recognition.pytorch.VGGFace"}.get(
            model, "deepface.models.facial_recognition.pytorch.Facenet"))
    client_class = {"ArcFace": "ArcFaceClient", "Facenet": "FaceNet128dClient",
                    "Facenet512": "FaceNet512dClient", "VGG-Face": "VggFaceClient"}[model]
    client = getattr(module, client_class).__new__(getattr(module, client_class))
    client.model = module.VggFaceDescriptor(network) if model == "VGG-Face" else network
    client.device = torch.device("cpu")
    with torch.no_grad():
        frames = recognizer.to_input_frame(faces)
        ours = F.normalize(recognizer.embed(frames), dim=1).numpy()
    bgr = np.ascontiguousarray(frames.permute(0, 2, 3, 1).numpy()[..., ::-1])
    theirs = np.asarray(client.forward(bgr), dtype=np.float32)
    theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    return recognizer


@pytest.mark.parametrize("name", ["arcface", "facenet", "facenet512"])
def test_shape_check_deepface_torch_backend_with_random_init_weights(name, faces, tmp_path, monkeypatch):
    torch.set_num_threads(1)
    recognizer = _deepface_shape_check(name, faces, tmp_path, monkeypatch)
    assert recognizer.differentiable and recognizer.describe()["normalization"] == "base"


@pytest.mark.slow
def test_shape_check_deepface_vggface_with_random_init_weights(faces, tmp_path, monkeypatch):
    recognizer = _deepface_shape_check("vggface", faces, tmp_path, monkeypatch)
    assert recognizer.network.model.fc8 is None  # the 2622-way classifier is not kept


def test_shape_check_deepface_sface_feeds_deepface_predict(faces, tmp_path, monkeypatch):
    """deepface's SFaceClient.predict sees BGR [0, 1] and hands the graph RGB uint8 values."""
    probe = tmp_path / "face_recognition_sface_2021dec.onnx"
    _flatten_graph(probe)
    _stand_in(monkeypatch, "deepface_sface", probe, unpinned=True)
    recognizer = recognizers.load("sface-deepface")
    assert not recognizer.differentiable and recognizer.template is DEEPFACE_ARCFACE_112
    frames = recognizer.to_input_frame(faces)
    fed = recognizer.embed(frames).reshape(len(faces), 3, 112, 112)
    bgr = frames.permute(0, 2, 3, 1).numpy()[..., ::-1]
    expected = (bgr * 255).astype(np.uint8)[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32)
    np.testing.assert_array_equal(fed.numpy(), expected)
    from deepface.config.threshold import thresholds

    assert recognizer.threshold == pytest.approx(1.0 - thresholds["SFace"]["cosine"])


def test_deepface_frames_are_one_crop_at_three_sides():
    """deepface resizes one crop for every model: the three frames agree up to scale (< 0.5 px)."""
    for frame in (FACENET_160, VGGFACE_224):
        np.testing.assert_allclose(DEEPFACE_ARCFACE_112.points * frame.size / 112, frame.points, atol=0.5)
    for frame in (DEEPFACE_ARCFACE_112, FACENET_160, VGGFACE_224):
        # deepface's crop is tighter than the canonical one: the whole model frame lies inside it
        inverse = np.linalg.inv(np.vstack([template_to_template(CANONICAL_256, frame), [0, 0, 1]]))
        side = frame.size - 1
        corners = np.array([[0, 0, 1], [side, 0, 1], [0, side, 1], [side, side, 1]], dtype=np.float64)
        inside = (inverse @ corners.T)[:2]
        assert (inside > 0).all() and (inside < CANONICAL_256.size - 1).all(), (frame.size, inside)


def test_coordinate_image_recovers_deepface_crop_geometry():
    """The maps the frames were fitted from reproduce deepface's real crops of a real photo."""
    from deepface.modules import detection, preprocessing

    from nullswap.recognizers.deepface_backend import deepface_crop_maps, deepface_detector

    torch.set_num_threads(1)
    photo = load_image(raw_photo("face_recognition", "face_recognition-1.3.0/tests/test_images/obama.jpg"))
    bgr = np.ascontiguousarray(photo[..., ::-1])
    found = deepface_crop_maps(deepface_detector("fastmtcnn", None), "fastmtcnn", bgr, (112,))
    crops = detection.extract_faces(bgr, detector_backend="fastmtcnn", align=True)
    assert len(found) == len(crops) >= 1
    for (_box, maps), crop in zip(found, crops):
        real = preprocessing.resize_image(np.ascontiguousarray(crop["face"][:, :, ::-1]), (112, 112))[0]
        mapped = cv2.warpAffine(bgr.astype(np.float32) / 255.0, maps[112], (112, 112), flags=cv2.INTER_LINEAR)
        inside = cv2.erode((real.max(axis=-1) > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        assert inside.mean() > 0.5
        assert np.abs(real - mapped)[inside].mean() < 0.01  # bilinear vs deepface's cubic + linear
        assert np.corrcoef(real[inside].ravel(), mapped[inside].ravel())[0, 1] > 0.995


@pytest.mark.slow
def test_deepface_fastmtcnn_frame_is_reproduced_from_real_photos():
    from nullswap.recognizers.deepface_backend import DEEPFACE_FASTMTCNN_112, derive_frames

    fit = derive_frames("fastmtcnn", sizes=(112,))[112]
    np.testing.assert_allclose(fit.points, DEEPFACE_FASTMTCNN_112.points, atol=0.05)
    assert np.median(fit.errors_px) < 0.1 * 112


@pytest.mark.slow
def test_deepface_opencv_frames_are_reproduced_from_real_photos():
    from nullswap.recognizers.deepface_backend import derive_frames, find_cascades

    try:
        find_cascades(None)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    fits = derive_frames("opencv")
    for frame in (DEEPFACE_ARCFACE_112, FACENET_160, VGGFACE_224):
        np.testing.assert_allclose(fits[frame.size].points, frame.points, atol=0.05)


# --------------------------------------------------------------------------------------------------
# facenet-pytorch
# --------------------------------------------------------------------------------------------------
def test_shape_check_facenet_pytorch_with_random_init_weights(faces, tmp_path, monkeypatch):
    from facenet_pytorch import InceptionResnetV1
    from facenet_pytorch.models.mtcnn import fixed_image_standardization

    torch.set_num_threads(1)
    torch.manual_seed(0)
    network = InceptionResnetV1(pretrained=None).eval()
    state = network.state_dict()
    state.update({"logits.weight": torch.randn(8631, 512), "logits.bias": torch.zeros(8631)})  # like the file
    stand_in = tmp_path / "20180402-114759-vggface2.pt"
    torch.save(state, stand_in)
    _stand_in(monkeypatch, "facenet_vggface2", stand_in, unpinned=True)

    recognizer = recognizers.load("facenet-vggface2")
    assert not hasattr(recognizer.network, "logits")
    inputs = faces.clone().requires_grad_(True)
    embeddings = recognizer(inputs)
    assert embeddings.shape == (len(faces), 512)
    (embeddings[0] @ embeddings[2]).backward()
    assert torch.isfinite(inputs.grad).all() and inputs.grad.abs().sum() > 0
    with torch.no_grad():
        frames = recognizer.to_input_frame(faces)
        theirs = network(fixed_image_standardization(frames * 255.0))  # facenet-pytorch's own path
        torch.testing.assert_close(recognizer(faces), theirs, atol=1e-5, rtol=1e-4)
    assert recognizer.describe()["library"] == "facenet-pytorch"


def test_facenet_pytorch_frame_keeps_mtcnn_stretch():
    """The canonical → MTCNN-crop map is affine (the box is stretched to a square), and it puts the
    canonical landmarks exactly on the frame's points."""
    from nullswap.recognizers.facenet_backend import FACENET_PYTORCH_160, affine_matrix

    matrix = affine_matrix(CANONICAL_256.points, FACENET_PYTORCH_160.points)
    mapped = (matrix @ np.hstack([CANONICAL_256.points, np.ones((5, 1))]).T).T
    np.testing.assert_allclose(mapped, FACENET_PYTORCH_160.points, atol=1e-3)  # points kept to 4 decimals
    x_scale, y_scale = np.hypot(*matrix[:, 0]), np.hypot(*matrix[:, 1])
    assert x_scale / y_scale > 1.2


@pytest.mark.slow
def test_facenet_pytorch_frame_is_reproduced_from_real_photos():
    from nullswap.recognizers.facenet_backend import FACENET_PYTORCH_160, derive_frame

    fit = derive_frame()
    np.testing.assert_allclose(fit.points, FACENET_PYTORCH_160.points, atol=0.05)


# --------------------------------------------------------------------------------------------------
# insightface
# --------------------------------------------------------------------------------------------------
def test_shape_check_insightface_feeds_get_feat_its_own_normalisation(faces, tmp_path, monkeypatch):
    pytest.importorskip("insightface", reason="insightface is not installed")
    probe = tmp_path / "w600k_r50.onnx"
    _flatten_graph(probe, "input.1")
    _stand_in(monkeypatch, "insightface_w600k_r50", probe, unpinned=True)
    recognizer = recognizers.load("arcface-insightface")
    assert recognizer.template is ARCFACE_112 and not recognizer.differentiable
    frames = recognizer.to_input_frame(faces)
    fed = recognizer.embed(frames).reshape(len(faces), 3, 112, 112)
    torch.testing.assert_close(fed, (frames * 255.0 - 127.5) / 127.5, atol=1e-4, rtol=0)  # RGB, ±1


def test_insightface_model_is_extracted_from_the_buffalo_l_pack(isolated, monkeypatch):
    pytest.importorskip("insightface", reason="insightface is not installed")
    probe = isolated / "probe.onnx"
    _flatten_graph(probe, "input.1")
    pack = isolated / "buffalo_l.zip"
    with zipfile.ZipFile(pack, "w") as archive:
        archive.write(probe, "w600k_r50.onnx")
        archive.writestr("det_10g.onnx", b"not used")
    _stand_in(monkeypatch, "insightface_buffalo_l", pack, unpinned=True)
    monkeypatch.setitem(weights.MANIFEST, "insightface_w600k_r50", dataclasses.replace(
        weights.MANIFEST["insightface_w600k_r50"], sha256=None))
    recognizer = recognizers.load("arcface-insightface")
    assert recognizer.weights_path == weights.MANIFEST["insightface_w600k_r50"].cache_path
    assert recognizer.weights_path.read_bytes() == probe.read_bytes()


# --------------------------------------------------------------------------------------------------
# The real weights (research machines): skipped here, run unchanged where the caches hold them
# --------------------------------------------------------------------------------------------------
@pytest.mark.paper
@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_recognizer_separates_real_identities(name, canonical_faces):
    if weights.find(PAPER[name]) is None and not (
        name == "arcface-insightface" and weights.find("insightface_buffalo_l") is not None
    ):
        source = "insightface_buffalo_l" if name == "arcface-insightface" else PAPER[name]
        pytest.skip(f"{name}: weights absent ({weights.MANIFEST[PAPER[name]].filename}); where the internet "
                    f"is reachable: python -m nullswap.weights prepare {source}")
    torch.set_num_threads(2)
    recognizer = recognizers.load(name)
    names = ["obama", "obama2", "obama3", "biden", *sorted(k for k in canonical_faces if k.startswith("t1_"))]
    embeddings = recognizer(torch.stack([canonical_faces[n] for n in names]))
    similarity = embeddings @ embeddings.T
    same = [similarity[i, j].item() for i in range(3) for j in range(i + 1, 3)]
    different = [similarity[i, j].item() for i in range(3) for j in range(3, len(names))]
    assert min(same) > max(different), (name, same, max(different))
    assert recognizer.describe()["weights_sha256"]
