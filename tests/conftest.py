"""Shared fixtures: real face photographs (from package registries) aligned to the canonical frame."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from nullswap.assets import AssetError
from nullswap.data.sources import raw_photo
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
