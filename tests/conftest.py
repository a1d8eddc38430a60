"""Shared fixtures: real face photographs (from package registries) aligned to the canonical frame."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from nullswap.assets import AssetError
from nullswap.faces.registry_photos import raw_photo
from nullswap.faces.templates import CANONICAL_256, similarity_matrix
from nullswap.faces.warp import warp_affine

#: name → (registry archive, member, whether the photo shows several people)
REAL_PHOTOS = {
    "obama": ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama.jpg", False),
    "obama2": ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama2.jpg", False),
    "obama3": ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama3.jpg", False),
    "biden": ("face_recognition", "face_recognition-1.3.0/tests/test_images/biden.jpg", False),
    "t1": ("insightface", "insightface/data/images/t1.jpg", True),
}
#: MTCNN probability below which a detection is not taken as a face (drops background false hits)
MIN_FACE_PROBABILITY = 0.95
#: photos are searched at most this large: 4× faster on the big ones, landmarks within ~3 px of a
#: full-resolution search (faces here are 110–600 px wide)
DETECTION_SIDE = 1024


def align_to_canonical(image: np.ndarray, landmarks: np.ndarray) -> torch.Tensor:
    """RGB uint8 photo + five landmarks → (3, 256, 256) float crop in the canonical frame."""
    matrix = similarity_matrix(landmarks, CANONICAL_256.points)
    photo = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255.0
    return warp_affine(photo, matrix, CANONICAL_256.size)[0].clamp(0.0, 1.0)


@pytest.fixture(scope="session")
def canonical_faces() -> dict[str, torch.Tensor]:
    """Real faces in the canonical 256 frame, RGB [0, 1]: 'obama', 'obama2', 'obama3' (one person in
    three photographs), 'biden', and 't1_0'..'t1_5' (six other people, left to right in t1.jpg)."""
    from facenet_pytorch import MTCNN

    detector = MTCNN(keep_all=True, device="cpu")
    faces: dict[str, torch.Tensor] = {}
    for name, (archive, member, group) in REAL_PHOTOS.items():
        try:
            path = raw_photo(archive, member)
        except AssetError as exc:
            pytest.skip(f"real face photos unavailable (no cache and no registry access): {exc}")
        photo = Image.open(path).convert("RGB")
        scale = min(1.0, DETECTION_SIDE / max(photo.size))
        small = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.BILINEAR)
        with torch.no_grad():
            boxes, probs, points = detector.detect(np.asarray(small), landmarks=True)
        keep = [] if probs is None else [i for i, p in enumerate(probs) if p >= MIN_FACE_PROBABILITY]
        assert keep, f"MTCNN found no face in {member}"
        boxes = np.asarray(boxes, dtype=np.float64)[keep] / scale
        points = np.asarray(points, dtype=np.float64)[keep] / scale
        image = np.asarray(photo)
        if group:
            for index, i in enumerate(np.argsort(boxes[:, 0])):
                faces[f"{name}_{index}"] = align_to_canonical(image, points[i])
        else:
            largest = int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
            faces[name] = align_to_canonical(image, points[largest])
    return faces


# --------------------------------------------------------------------------------------------------
# The offline sample set (nullswap.data.sample): built once into the cache, then loaded in ~0.5 s.
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sample_manifest() -> dict:
    """The offline sample set's manifest (the set is built on first use: ~30 s, archives cached)."""
    from nullswap.data.sample_build import build_sample

    try:
        folder = build_sample(progress=False)
    except AssetError as exc:
        pytest.skip(
            f"offline sample set cannot be built (registry archives neither cached nor reachable): {exc}"
        )
    return json.loads((folder / "manifest.json").read_text())


@pytest.fixture(scope="session")
def sample_all(sample_manifest):
    """Every original face of the offline sample (46 real faces, FaceSet of uint8 256² crops)."""
    from nullswap.data.sample import load_sample

    return load_sample("all")


@pytest.fixture(scope="session")
def sample_train(sample_manifest):
    """Train split of the offline sample (identities disjoint from the test split)."""
    from nullswap.data.sample import load_sample

    return load_sample("train")


@pytest.fixture(scope="session")
def sample_test(sample_manifest):
    """Test split originals (includes the three Obama photos and the same-person pairs)."""
    from nullswap.data.sample import load_sample

    return load_sample("test")


@pytest.fixture(scope="session")
def sample_test_views(sample_manifest):
    """Test split with each face followed by its transformed, re-detected views (keys ``<key>@vN``)."""
    from nullswap.data.sample import load_sample

    return load_sample("test", views=True)


@pytest.fixture(scope="session")
def aligned_obama(sample_all):
    """The three Obama photographs as a FaceSet (one identity, three independent photos)."""
    return sample_all.subset([i for i, who in enumerate(sample_all.identities) if who == "obama"], "obama")


@pytest.fixture(scope="session")
def aligned_face(aligned_obama) -> np.ndarray:
    """One real aligned face: uint8 (256, 256, 3), obama.jpg in the canonical frame."""
    return aligned_obama.images[aligned_obama.keys.index("face_recognition/obama/0")]


@pytest.fixture(scope="session")
def registry_photo():
    """``registry_photo(archive, member) -> Path`` of a raw registry photo; skips when unreachable."""

    def get(archive: str, member: str):
        try:
            return raw_photo(archive, member)
        except AssetError as exc:
            pytest.skip(f"real face photos unavailable (no cache and no registry access): {exc}")

    return get

