"""dlib's face-recognition ResNet: the PyTorch port reads dlib's file and reproduces dlib's C++."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nullswap import weights
from nullswap.faces.dlib_finder import DlibFaceFinder
from nullswap.faces.templates import DLIB_CHIP_150
from nullswap.recognizers import load
from nullswap.recognizers.convert.dlib_format import (
    DlibFormatError,
    parse_network,
    read_face_recognition_resnet,
    validate_face_recognition_resnet,
)
from nullswap.recognizers.dlib_resnet import (
    DLIB_COSINE_THRESHOLD,
    DLIB_DISTANCE_THRESHOLD,
    converted_cache_path,
    derive_from_registry_photos,
    load_rgb,
)

NEEDED = ("dlib_resnet", "dlib_shape_predictor_5", "dlib_shape_predictor_68")
pytestmark = pytest.mark.skipif(
    any(weights.find(name) is None for name in NEEDED),
    reason="dlib model files not prepared (run `make models`)",
)

PHOTOS = {
    "obama": ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama.jpg"),
    "obama2": ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama2.jpg"),
    "obama3": ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama3.jpg"),
    "biden": ("face_recognition", "face_recognition-1.3.0/tests/test_images/biden.jpg"),
    "t1": ("insightface", "insightface/data/images/t1.jpg"),
}


def _tensor(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0


@pytest.fixture(scope="module")
def faces() -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Per photo: (dlib's own 150 chip, the harness's canonical 256 crop) for every detected face."""
    finder = DlibFaceFinder()
    found = {}
    for key, (archive, member) in PHOTOS.items():
        image = load_rgb(archive, member)
        found[key] = [(finder.chip(image, face), finder.canonical_crop(image, face)) for face in finder(image)]
    assert [len(found[k]) for k in PHOTOS] == [1, 1, 1, 1, 6]
    return found


@pytest.fixture(scope="module")
def port():
    return load("dlib")


@pytest.fixture(scope="module")
def cpp():
    return load("dlib-cpp")


def test_port_matches_dlib_cpp_on_real_chips(faces, port, cpp) -> None:
    chips = _tensor([chip for key in PHOTOS for chip, _ in faces[key]])
    with torch.no_grad():
        ours = port.embed(chips)
    theirs = cpp.embed(chips)
    diff = (ours - theirs).abs()
    print(f"dlib port vs C++ on {len(chips)} real chips: max |diff| {diff.max():.3g}, mean {diff.mean():.3g}")
    assert ours.shape == theirs.shape == (10, 128)
    assert diff.max().item() <= 1e-4
    # the descriptors are real identity descriptors, not unit vectors
    assert theirs.norm(dim=1).min() > 1.0


def test_parser_reads_the_anet_layout_and_input_normalisation() -> None:
    net = read_face_recognition_resnet(weights.path("dlib_resnet"))
    assert len(net.of_kind("con")) == 29 and len(net.of_kind("affine")) == 29
    assert net.input.attrs["nr"] == net.input.attrs["nc"] == 150
    means = [net.input.attrs[f"avg_{c}"] for c in ("red", "green", "blue")]
    np.testing.assert_allclose(means, [122.782, 117.001, 104.298], atol=1e-4)
    assert net.loss.attrs["distance_threshold"] == pytest.approx(DLIB_DISTANCE_THRESHOLD)
    assert net.of_kind("fc")[0].tensors["weights"].shape == (256, 128)


def test_parser_rejects_truncated_and_corrupt_files(tmp_path) -> None:
    data = weights.path("dlib_resnet").read_bytes()
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DlibFormatError, match="truncated"):
        read_face_recognition_resnet(truncated)
    with pytest.raises(DlibFormatError, match="truncated"):
        load("dlib", weights=truncated, cache=False)

    corrupt = bytearray(data)
    corrupt[0] = 0x7F  # the loss layer's version byte
    with pytest.raises(DlibFormatError, match="invalid integer control byte"):
        parse_network(bytes(corrupt), "corrupt.dat")
    with pytest.raises(DlibFormatError, match="unexpected bytes after the last layer"):
        parse_network(data + b"\x00", "padded.dat")
    with pytest.raises(DlibFormatError, match="not a dlib network file"):
        parse_network(b"\x89PNG\r\n\x1a\n" + bytes(64), "image.png")
    with pytest.raises(DlibFormatError):
        read_face_recognition_resnet(weights.path("dlib_shape_predictor_5"))


def test_validation_rejects_a_network_of_another_layout() -> None:
    net = parse_network(weights.path("dlib_resnet").read_bytes())
    del net.layers[5:13]  # drop one residual block
    with pytest.raises(DlibFormatError, match="not dlib's face-recognition ResNet"):
        validate_face_recognition_resnet(net)


def test_gradients_reach_the_canonical_crop_through_forward(faces, port) -> None:
    crop = _tensor([faces["obama"][0][1]]).requires_grad_(True)
    target = port(_tensor([faces["obama2"][0][1]])).detach()
    similarity = F.cosine_similarity(port(crop), target).sum()
    similarity.backward()
    grad = crop.grad
    assert grad is not None and torch.isfinite(grad).all()
    assert grad.abs().sum() > 0
    # the face (centre of the canonical crop) drives the embedding more than the far border
    assert grad[..., 64:192, 64:192].abs().mean() > 5 * grad[..., :16, :].abs().mean()
    assert port.differentiable and port(crop).shape == (1, 128)


def test_genuine_cosine_is_clearly_above_impostor_cosine(faces, port, cpp) -> None:
    crops = {key: _tensor([crop for _, crop in faces[key]]) for key in PHOTOS}
    with torch.no_grad():
        emb = {key: port(batch) for key, batch in crops.items()}
    obama = torch.cat([emb["obama"], emb["obama2"], emb["obama3"]])
    others = torch.cat([emb["biden"], emb["t1"]])
    genuine = (obama @ obama.T)[torch.triu_indices(3, 3, 1).unbind()]
    impostor = obama @ others.T
    print(f"dlib port on canonical crops: genuine cos {genuine.min():.3f}-{genuine.max():.3f}, "
          f"impostor cos {impostor.min():.3f}-{impostor.max():.3f}, threshold {DLIB_COSINE_THRESHOLD}")
    assert genuine.min() > DLIB_COSINE_THRESHOLD > impostor.max()
    # dlib's cosines are compressed (unrelated faces sit near 0.8), so the margin is a few hundredths
    assert genuine.min() - impostor.max() > 0.05
    # dlib's own rule on its own chips agrees: raw distance below 0.6 only for the Obama photos
    raw = cpp.embed(_tensor([faces[k][0][0] for k in ("obama", "obama2", "obama3", "biden")]))
    distances = torch.cdist(raw, raw)
    assert distances[:3, :3].max() < DLIB_DISTANCE_THRESHOLD < distances[3, :3].min()


def test_canonical_crops_through_the_template_match_dlibs_own_chips(faces, port, cpp) -> None:
    """DLIB_CHIP_150 places canonical crops where dlib's chip puts the face: the port on canonical
    crops gives nearly the C++ descriptors of dlib's own chips."""
    chips = _tensor([chip for key in PHOTOS for chip, _ in faces[key]])
    crops = _tensor([crop for key in PHOTOS for _, crop in faces[key]])
    with torch.no_grad():
        via_template = port(crops)
    direct = F.normalize(cpp.embed(chips), dim=1)
    agreement = (via_template * direct).sum(dim=1)
    print(f"cos(port on canonical crop, C++ on dlib chip): min {agreement.min():.3f}, mean {agreement.mean():.3f}")
    assert agreement.min() > 0.95
    assert port.template is DLIB_CHIP_150 and cpp.template is DLIB_CHIP_150


def test_missing_weights_raise_missing_weights_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NULLSWAP_HOME", str(tmp_path))
    monkeypatch.delenv("NULLSWAP_WEIGHT_DLIB_RESNET", raising=False)
    for name in ("dlib", "dlib-cpp"):
        with pytest.raises(weights.MissingWeightsError, match=r"dlib_face_recognition_resnet_model_v1\.dat"):
            load(name)


def test_parsed_weights_are_cached_by_sha256(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NULLSWAP_WEIGHT_DLIB_RESNET", str(weights.path("dlib_resnet")))
    monkeypatch.setenv("NULLSWAP_HOME", str(tmp_path))
    cached = converted_cache_path(weights.MANIFEST["dlib_resnet"].sha256)
    assert str(cached).startswith(str(tmp_path)) and not cached.exists()
    first = load("dlib")
    assert cached.is_file()
    second = load("dlib")
    x = torch.rand(2, 3, 150, 150)
    with torch.no_grad():
        assert torch.equal(first.embed(x), second.embed(x))
    assert sum(p.numel() for p in second.parameters()) == 5_614_592


def test_describe_records_dlibs_distance_rule(port, cpp) -> None:
    facts = port.describe()
    assert "0.6" in facts["distance_rule"] and facts["threshold"] == DLIB_COSINE_THRESHOLD
    assert facts["template"] == "dlib_chip" and facts["embedding_dim"] == 128
    assert cpp.describe()["differentiable"] is False


@pytest.mark.slow
def test_dlib_chip_template_is_reproduced_from_real_faces() -> None:
    fit = derive_from_registry_photos()
    print(f"re-derived chip template from {int(fit.kept.sum())}/{len(fit.kept)} faces: "
          f"spread {fit.spread_rms:.2f} px, chip check {fit.chip_error:.2f} grey levels")
    assert fit.chip_error < 2.0  # cv2 warp by dlib's chip geometry reproduces dlib.get_face_chip
    np.testing.assert_allclose(fit.points, DLIB_CHIP_150.points, atol=1e-3)
