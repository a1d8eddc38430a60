"""CelebA-HQ, LFW and plain-folder loaders on tiny trees of REAL faces laid out as the datasets publish them.

The trees hold offline sample crops written into the published folder structures, with small mapping,
identity, partition and split files, so every parsing and caching path runs on real photographs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from nullswap.data import DatasetNotFoundError, load_celebahq, load_folder, load_lfw
from nullswap.data.aligned_cache import dataset_cache_dir
from nullswap.faces import detect_faces
from nullswap.faces.templates import CANONICAL_256

# CelebA-HQ index → (CelebA file number, CelebA identity, sample face key).  File numbers fall in
# CelebA's train (≤ 162,770), val (≤ 182,637) and test ranges.
CELEBA_ROWS = {
    0: (190_001, 4242, "face_recognition/obama/0"),
    1: (1_001, 17, "face_recognition/biden/0"),
    2: (190_500, 4242, "face_recognition/obama2/0"),
    3: (170_000, 99, "insightface/t1/0"),
    4: (2_002, 17, "insightface/t1/2"),
    5: (200_000, 4242, "face_recognition/obama3/0"),
    6: (199_999, 8, "skimage/astronaut/0"),
}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Each test caches its aligned crops in its own folder, never in the user's cache."""
    monkeypatch.setenv("NULLSWAP_HOME", str(tmp_path / "home"))


def _face(sample_all, key: str) -> np.ndarray:
    return sample_all.images[sample_all.keys.index(key)]


def write_celebahq(root: Path, sample_all, *, partition: bool = True) -> Path:
    images = root / "CelebA-HQ-img"
    images.mkdir(parents=True)
    mapping = ["idx orig_idx orig_file"]
    identities = ["000001.jpg 2880", "000002.jpg 2937"]  # CelebA rows of images not in CelebA-HQ
    splits = ["000001.jpg 0", "000002.jpg 0"]
    for idx, (number, identity, key) in CELEBA_ROWS.items():
        Image.fromarray(_face(sample_all, key)).resize((1024, 1024), Image.Resampling.LANCZOS).save(
            images / f"{idx}.jpg", quality=92
        )
        mapping.append(f"{idx} {number - 1} {number:06d}.jpg")
        identities.append(f"{number:06d}.jpg {identity}")
        part = 0 if number <= 162_770 else (1 if number <= 182_637 else 2)
        splits.append(f"{number:06d}.jpg {part}")
    (root / "CelebA-HQ-to-CelebA-mapping.txt").write_text("\n".join(mapping) + "\n")
    (root / "Anno").mkdir()
    (root / "Anno" / "identity_CelebA.txt").write_text("\n".join(identities) + "\n")
    if partition:
        (root / "Eval").mkdir()
        (root / "Eval" / "list_eval_partition.txt").write_text("\n".join(splits) + "\n")
    return root


@pytest.fixture
def celebahq_root(tmp_path, sample_all) -> Path:
    return write_celebahq(tmp_path / "CelebAMask-HQ", sample_all)


def test_celebahq_test_split_has_celeba_identities(celebahq_root):
    faces = load_celebahq(celebahq_root, "test", progress=False)
    assert sorted(faces.keys, key=int) == ["0", "2", "5", "6"]
    assert dict(zip(faces.keys, faces.identities)) == {
        "0": "celeba_4242",
        "2": "celeba_4242",
        "5": "celeba_4242",
        "6": "celeba_8",
    }
    assert faces.images.shape == (4, 256, 256, 3)
    assert faces.notes["dataset"] == "CelebA-HQ" and faces.notes["split"] == "test"


@pytest.mark.parametrize(("split", "keys"), [("train", ["1", "4"]), ("val", ["3"]), ("all", list("0123456"))])
def test_celebahq_other_splits(celebahq_root, split, keys):
    faces = load_celebahq(celebahq_root, split, progress=False)
    assert sorted(faces.keys) == keys
    if split == "train":
        assert set(faces.identities) == {"celeba_17"}


def test_celebahq_without_a_partition_file_uses_celeba_boundaries(tmp_path, sample_all):
    root = write_celebahq(tmp_path / "noeval", sample_all, partition=False)
    faces = load_celebahq(root, "test", progress=False)
    assert sorted(faces.keys) == ["0", "2", "5", "6"]
    assert "boundaries" in str(faces.notes["partition"])


def test_celebahq_resize_lands_faces_on_the_canonical_template(celebahq_root):
    faces = load_celebahq(celebahq_root, "all", progress=False)
    for crop in faces.images:
        eyes = detect_faces(crop)[0].landmarks[:2]
        assert np.linalg.norm(eyes - CANONICAL_256.points[:2], axis=1).max() < 10.0


def test_celebahq_identity_and_image_limits(celebahq_root):
    repeated = load_celebahq(celebahq_root, "all", min_images_per_identity=2, progress=False)
    assert set(repeated.identities) == {"celeba_17", "celeba_4242"}
    first = load_celebahq(celebahq_root, "all", max_identities=1, progress=False)
    assert set(first.identities) == {"celeba_17"}  # identities in sorted order
    capped = load_celebahq(celebahq_root, "test", max_images=2, progress=False)
    assert len(capped) == 2


def test_celebahq_cache_is_reused_and_resumes_changed_files(celebahq_root, sample_all):
    load_celebahq(celebahq_root, "all", progress=False)
    log = dataset_cache_dir("celebahq") / "progress.jsonl"
    lines = log.read_text().count("\n")
    assert lines == len(CELEBA_ROWS)
    load_celebahq(celebahq_root, "all", progress=False)
    assert log.read_text().count("\n") == lines  # nothing redone
    # A replaced image file (different size) is processed again, alone.
    Image.fromarray(_face(sample_all, "insightface/t1/3")).resize((1024, 1024)).save(
        celebahq_root / "CelebA-HQ-img" / "3.jpg", quality=60
    )
    faces = load_celebahq(celebahq_root, "all", progress=False)
    assert log.read_text().count("\n") == lines + 1
    assert (dataset_cache_dir("celebahq") / "manifest.json").is_file() and len(faces) == len(CELEBA_ROWS)


def test_celebahq_damaged_image_is_recorded_not_fatal(celebahq_root):
    (celebahq_root / "CelebA-HQ-img" / "5.jpg").write_bytes(b"\xff\xd8 broken")
    faces = load_celebahq(celebahq_root, "test", progress=False)
    assert "5" not in faces.keys and len(faces) == 3
    assert faces.notes["failures"] == {"unreadable": 1}


def test_celebahq_missing_root_says_what_to_download_and_where(tmp_path, monkeypatch):
    monkeypatch.delenv("NULLSWAP_CELEBAHQ_ROOT", raising=False)
    with pytest.raises(DatasetNotFoundError) as info:
        load_celebahq(tmp_path / "nowhere")
    message = str(info.value)
    for needed in (
        "does not exist",
        "CelebAMask-HQ",
        "identity_CelebA.txt",
        "list_eval_partition.txt",
        "<root>/CelebA-HQ-img/0.jpg",
        "NULLSWAP_CELEBAHQ_ROOT",
    ):
        assert needed in message
    with pytest.raises(DatasetNotFoundError, match="no CelebA-HQ root given"):
        load_celebahq(None)


def test_celebahq_without_identity_file_names_it(celebahq_root):
    (celebahq_root / "Anno" / "identity_CelebA.txt").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"lacks identity_CelebA\.txt"):
        load_celebahq(celebahq_root)


# --------------------------------------------------------------------------------------------------
# LFW
# --------------------------------------------------------------------------------------------------
LFW_PEOPLE = {
    "Barack_Obama": ["face_recognition/obama/0", "face_recognition/obama2/0", "face_recognition/obama3/0"],
    "Joe_Biden": ["face_recognition/biden/0"],
    "Tom_Hanks": ["insightface/Tom_Hanks_54745/0"],
    "Eileen_Collins": ["skimage/astronaut/0"],
}


@pytest.fixture
def lfw_root(tmp_path, sample_all) -> Path:
    root = tmp_path / "lfw-data"
    for name, keys in LFW_PEOPLE.items():
        folder = root / "lfw" / name
        folder.mkdir(parents=True)
        for number, key in enumerate(keys, start=1):
            # LFW images are 250×250 with the face in the middle, other people at the edges.
            Image.fromarray(_face(sample_all, key)).resize((250, 250), Image.Resampling.LANCZOS).save(
                folder / f"{name}_{number:04d}.jpg", quality=90
            )
    wall = root / "lfw" / "Brick_Wall"
    wall.mkdir()
    Image.fromarray(skdata.brick()).convert("RGB").resize((250, 250)).save(wall / "Brick_Wall_0001.jpg")
    (root / "peopleDevTrain.txt").write_text("2\nBarack_Obama\t3\nBrick_Wall\t1\n")
    (root / "peopleDevTest.txt").write_text("2\nJoe_Biden\t1\nTom_Hanks\t1\n")
    (root / "people.txt").write_text("2\n2\nBarack_Obama\t3\nJoe_Biden\t1\n1\nTom_Hanks\t1\n")
    (root / "pairs.txt").write_text("1\t1\nBarack_Obama\t1\t3\nJoe_Biden\t1\tTom_Hanks\t1\n")
    return root


def test_lfw_people_folders_give_identities_and_record_detection_failures(lfw_root):
    faces = load_lfw(lfw_root, progress=False)
    assert faces.identities.count("Barack_Obama") == 3
    assert set(faces.identities) == set(LFW_PEOPLE)
    assert "Barack_Obama/Barack_Obama_0002.jpg" in faces.keys
    assert "Brick_Wall/Brick_Wall_0001.jpg" not in faces.keys
    assert faces.notes["failures"] == {"no_face": 1}
    manifest = (dataset_cache_dir("lfw") / "manifest.json").read_text()
    assert '"status": "no_face"' in manifest and "Brick_Wall_0001.jpg" in manifest
    for crop in faces.images:  # detected and aligned, not merely resized
        eyes = detect_faces(crop)[0].landmarks[:2]
        assert np.linalg.norm(eyes - CANONICAL_256.points[:2], axis=1).max() < 10.0


@pytest.mark.parametrize(
    ("split", "people"),
    [
        ("devtrain", {"Barack_Obama"}),
        ("devtest", {"Joe_Biden", "Tom_Hanks"}),
        ("people", {"Barack_Obama", "Joe_Biden", "Tom_Hanks"}),
        ("pairs", {"Barack_Obama", "Joe_Biden", "Tom_Hanks"}),
    ],
)
def test_lfw_split_files(lfw_root, split, people):
    faces = load_lfw(lfw_root, split, progress=False)
    assert set(faces.identities) == people
    if split == "pairs":  # only the images a pair mentions
        assert sorted(k for k in faces.keys if k.startswith("Barack")) == [
            "Barack_Obama/Barack_Obama_0001.jpg",
            "Barack_Obama/Barack_Obama_0003.jpg",
        ]


def test_lfw_identification_subset_keeps_people_with_several_images(lfw_root):
    faces = load_lfw(lfw_root, min_images_per_identity=2, progress=False)
    assert faces.identities == ["Barack_Obama"] * 3


def test_lfw_missing_root_and_split_file_give_helpful_errors(tmp_path, lfw_root, monkeypatch):
    monkeypatch.delenv("NULLSWAP_LFW_ROOT", raising=False)
    with pytest.raises(DatasetNotFoundError) as info:
        load_lfw(tmp_path / "absent")
    assert "lfw.tgz" in str(info.value) and "<root>/lfw/<Name>/<Name>_0001.jpg" in str(info.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetNotFoundError, match="no LFW people folders"):
        load_lfw(empty)
    (lfw_root / "pairs.txt").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"needs pairs\.txt"):
        load_lfw(lfw_root, "pairs")


# --------------------------------------------------------------------------------------------------
# Any folder
# --------------------------------------------------------------------------------------------------
def test_folder_with_person_subfolders(tmp_path, sample_all):
    root = tmp_path / "people"
    for person, keys in (("obama", LFW_PEOPLE["Barack_Obama"]), ("biden", LFW_PEOPLE["Joe_Biden"])):
        (root / person).mkdir(parents=True)
        for i, key in enumerate(keys):
            Image.fromarray(_face(sample_all, key)).save(root / person / f"{i}.png")
    faces = load_folder(root, "all", progress=False)
    assert sorted(faces.identities) == ["biden", "obama", "obama", "obama"]
    assert faces.notes["identity_rule"] == "sub-folder name"


def test_flat_folder_gives_one_identity_per_image(tmp_path, registry_photo):
    root = tmp_path / "flat"
    root.mkdir()
    for name in ("obama.jpg", "biden.jpg"):
        path = registry_photo("face_recognition", f"face_recognition-1.3.0/tests/test_images/{name}")
        (root / name).write_bytes(path.read_bytes())
    (root / "notes.txt").write_text("not an image")
    faces = load_folder(root, progress=False)
    assert sorted(faces.identities) == ["biden", "obama"]
    assert faces.notes["identity_rule"] == "one identity per image"


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_folder(tmp_path / "nope")
    (tmp_path / "blank").mkdir()
    with pytest.raises(DatasetNotFoundError, match="no images"):
        load_folder(tmp_path / "blank")
    with pytest.raises(ValueError, match="no 'test' split"):
        load_folder(tmp_path / "blank", "test")
