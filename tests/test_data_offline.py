"""The offline set: the sample plus every other real registry face, split by whole identities.

Most checks read the real built set (``make offline-data``, a few minutes on 2 cores); they skip with
that instruction when the cache does not hold it, so ``make test`` never waits for the build.  The
split rules and the video reader are also checked on small synthetic inputs that need no build.
"""

from __future__ import annotations

import json
import re

import cv2
import numpy as np
import pytest

from nullswap.assets import sha256_of
from nullswap.data.cached_set import base_key, is_view
from nullswap.data.load import load_dataset
from nullswap.data.offline import is_built, load_offline
from nullswap.data.offline_build import (
    OFFLINE,
    OfflineBuildError,
    assign_offline_split,
    build_offline,
    video_frames,
)
from nullswap.data.offline_sources import (
    ALL_ARCHIVES,
    JOHNS,
    OFFLINE_EXCLUDED,
    OFFLINE_PHOTOS,
    OFFLINE_VIDEOS,
    raw_file,
)
from nullswap.data.sample_build import SAMPLE
from nullswap.faces import detect_faces
from nullswap.faces.templates import CANONICAL_256

SHA256 = re.compile(r"^[0-9a-f]{64}$")
VIDEO_IDENTITIES = {v.identity for v in OFFLINE_VIDEOS}
JOHN_IDENTITIES = {person.lower() for person in JOHNS}


@pytest.fixture(scope="module")
def offline_manifest() -> dict:
    if not is_built():
        pytest.skip(
            "the offline set is not built for the current configuration: run `make offline-data` "
            "(python -m nullswap.data.offline, a few minutes on 2 cores)"
        )
    return json.loads(OFFLINE.manifest_path.read_text())


@pytest.fixture(scope="module")
def offline_all(offline_manifest):
    return load_offline("all")


@pytest.fixture(scope="module")
def offline_train(offline_manifest):
    return load_dataset({"name": "offline", "split": "train"}, split="train")


@pytest.fixture(scope="module")
def offline_test(offline_manifest):
    return load_dataset({"name": "offline", "split": "test"}, split="test")


def photos_per_identity(manifest: dict) -> dict[str, set[str]]:
    """Identity → distinct photo files (video frames excluded: they are one recording)."""
    photos: dict[str, set[str]] = {}
    for face in manifest["faces"]:
        if face["view"] == "original" and face["kind"] == "photo":
            photos.setdefault(face["identity"], set()).add(face["member"])
    return photos


# --------------------------------------------------------------------------------------------------
# Split rules (synthetic records: no build needed)
# --------------------------------------------------------------------------------------------------
def record(identity, member, collection="offline", split=None, train_only=False):
    return {"identity": identity, "member": member, "collection": collection, "split": split,
            "train_only": train_only}


def test_split_rules_in_order_sample_then_train_only_then_multi_photo_then_hash():
    faces = [
        record("obama", "obama.jpg", "sample", "test"),
        record("obama", "obama4_crop.jpg"),                         # a new photo of a sample identity
        record("someone", "t1.jpg", "sample", "train"),
        record("franck", "franck.mp4", train_only=True),
        record("franck", "franck_02221.jpg", train_only=True),      # several files, but one recording
        record("john_simm", "a.jpg"),
        record("john_simm", "b.jpg"),
        *(record(f"single_{i}", f"s{i}.jpg") for i in range(9)),
    ]
    split, rule = assign_offline_split(faces)
    assert (split["obama"], rule["obama"]) == ("test", "sample")
    assert (split["someone"], rule["someone"]) == ("train", "sample")
    assert (split["franck"], rule["franck"]) == ("train", "train_only")
    assert (split["john_simm"], rule["john_simm"]) == ("test", "multi_photo")
    singles = [f"single_{i}" for i in range(9)]
    assert sum(split[s] == "test" for s in singles) == 3 and {rule[s] for s in singles} == {"hash_third"}
    # Deterministic whatever the order of the records.
    assert assign_offline_split(list(reversed(faces)))[0] == split


def test_a_train_only_identity_that_the_sample_tests_is_refused():
    faces = [record("obama", "obama.jpg", "sample", "test"), record("obama", "clip.mp4", train_only=True)]
    with pytest.raises(OfflineBuildError, match="obama"):
        assign_offline_split(faces)


def test_video_reader_takes_a_bounded_evenly_spaced_sample(tmp_path):
    path = tmp_path / "counter.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    for i in range(50):
        writer.write(np.full((48, 64, 3), i * 5, np.uint8))
    writer.release()
    frames = list(video_frames(path, 6))
    indices = [i for i, _, _ in frames]
    assert indices == [0, 10, 20, 29, 39, 49]
    assert all(total == 50 for _, total, _ in frames)
    # Frame i was painted grey level 5·i: the reader returned the frames it says it did.
    assert [round(f.mean() / 5) for _, _, f in frames] == indices
    assert len(list(video_frames(path, 500))) == 50  # never more than the video has


def test_an_unreadable_video_is_named_in_the_error(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"not a video")
    with pytest.raises(OfflineBuildError, match=r"broken\.mp4"):
        list(video_frames(path, 5))


def test_source_lists_are_consistent():
    listed = {(p.archive, p.member) for p in OFFLINE_PHOTOS} | {(v.archive, v.member) for v in OFFLINE_VIDEOS}
    assert not listed & set(OFFLINE_EXCLUDED)
    assert all(archive in ALL_ARCHIVES for archive, _ in listed)
    assert all(SHA256.match(a.sha256) for a in ALL_ARCHIVES.values())
    keys = [f"{p.archive}/{p.stem}" for p in OFFLINE_PHOTOS]
    assert len(keys) == len(set(keys)), "two photos would share face keys"
    assert sum(len(stems) for stems in JOHNS.values()) == 54  # 5 × 11, less one byte-identical copy
    assert all(10 <= len(stems) <= 11 for stems in JOHNS.values())
    assert all(0 < v.frames <= 150 for v in OFFLINE_VIDEOS)  # bounded: the build stays minutes


# --------------------------------------------------------------------------------------------------
# The built set
# --------------------------------------------------------------------------------------------------
def test_split_keeps_whole_identities_on_one_side(offline_all, offline_train, offline_test):
    assert len(offline_train) + len(offline_test) == len(offline_all)
    assert not set(offline_train.identities) & set(offline_test.identities)
    assert set(offline_train.keys) | set(offline_test.keys) == set(offline_all.keys)


def test_real_multi_photo_identities_are_test_and_recordings_are_train(offline_manifest, offline_test,
                                                                        offline_train):
    photos = photos_per_identity(offline_manifest)
    test_ids, train_ids = set(offline_test.identities), set(offline_train.identities)
    assert test_ids >= JOHN_IDENTITIES
    assert all(len(photos[j]) >= 10 for j in JOHN_IDENTITIES)
    assert len(photos["obama"]) == 4 and "obama" in test_ids
    assert {"justin_bieber", "nicolas_cage", "sean_connery", "albert_einstein", "bryan_cranston"} <= test_ids
    assert VIDEO_IDENTITIES | {"facetorch_woman"} <= train_ids
    train_only = {f["identity"] for f in offline_manifest["faces"] if f.get("train_only")}
    for who, files in photos.items():
        if len(files) >= 2 and who not in train_only:
            assert who in test_ids, f"{who} has {len(files)} photos but is not a test identity"
    counts = offline_manifest["counts"]
    assert counts["test_identities_with_2_photos"] == sum(len(photos[w]) >= 2 for w in test_ids)
    # The five Johns, Obama, Bieber, Cage, Connery, Einstein, Cranston and the sample's three pairs.
    assert counts["test_identities_with_2_photos"] == 14
    assert (counts["train_faces"], counts["test_faces"]) == (519, 110)  # as listed in docs/datasets.md


def test_the_sample_is_contained_unchanged_with_its_split(offline_manifest, sample_manifest):
    offline_faces = {f["key"]: f for f in offline_manifest["faces"]}
    folder = OFFLINE.manifest_path.parent
    for face in sample_manifest["faces"]:
        copy = offline_faces[face["key"]]
        assert (copy["split"], copy["identity"], copy["collection"]) == (face["split"], face["identity"], "sample")
        assert sha256_of(folder / copy["file"]) == sha256_of(
            SAMPLE.directory / face["file"]
        )
    assert offline_manifest["sample_config_hash"] == sample_manifest["config_hash"]


def test_loader_gives_canonical_uint8_crops_and_views_follow_their_face(offline_manifest, offline_test):
    assert offline_test.images.dtype == np.uint8 and offline_test.images.shape[1:] == (256, 256, 3)
    batch = offline_test.tensor([0, len(offline_test) - 1])
    assert batch.shape == (2, 3, 256, 256) and 0.0 <= float(batch.min()) <= float(batch.max()) <= 1.0
    assert not any(is_view(k) for k in offline_test.keys)
    with_views = load_dataset({"name": "offline", "views": True}, split="test")
    views = [k for k in with_views.keys if is_view(k)]
    assert len(views) >= 3 * len(offline_test)  # four recipes per face, a few fail to re-detect
    test_keys = set(offline_test.keys)
    for i, key in enumerate(with_views.keys):
        if is_view(key):
            assert base_key(key) in test_keys
            assert with_views.identities[i] == with_views.identities[with_views.keys.index(base_key(key))]
    assert "protocol_warning" in with_views.notes and "Johns" in with_views.notes["protocol_warning"]


def test_manifest_records_provenance_for_every_face(offline_manifest):
    checked = set()
    for face in offline_manifest["faces"]:
        assert face["source"].split(":")[0] in ("pypi", "npm", "installed") and "==" in face["source"]
        assert face["member"] and face["licence"] and face["identity"] and face["split"] in ("train", "test")
        assert SHA256.match(face["photo_sha256"])
        if face["source"].startswith("installed:"):
            continue
        assert face["archive_sha256"] == ALL_ARCHIVES[face["archive"]].sha256
        assert face["archive_file"] == ALL_ARCHIVES[face["archive"]].filename
        if face["collection"] == "offline" and (face["archive"], face["member"]) not in checked:
            checked.add((face["archive"], face["member"]))
            assert sha256_of(raw_file(face["archive"], face["member"])) == face["photo_sha256"]
    assert len(checked) >= 100
    excluded = {(e["archive"], e["member"]) for e in offline_manifest["excluded"]}
    assert not excluded & {(f["archive"], f["member"]) for f in offline_manifest["faces"]}


def test_video_frames_are_bounded_and_spread_over_each_recording(offline_manifest):
    for video in OFFLINE_VIDEOS:
        frames = sorted(
            f["frame"] for f in offline_manifest["faces"]
            if f["view"] == "original" and f["member"] == video.member
        )
        total = next(v["frames_in_video"] for v in offline_manifest["videos"] if v["member"] == video.member)
        assert 0.8 * min(video.frames, total) <= len(frames) <= video.frames, video.member
        assert frames[-1] - frames[0] >= 0.8 * (total - 1), video.member


def test_new_crops_are_aligned_real_faces(offline_manifest, offline_all):
    # A detector run again on the aligned crops finds the eyes where the canonical template puts them.
    new = [i for i, k in enumerate(offline_all.keys) if not k.startswith(("face_recognition/", "insightface/",
                                                                          "face_api/", "nsface/", "skimage/"))]
    chosen = [new[i] for i in np.linspace(0, len(new) - 1, 24).round().astype(int)]
    errors, missed = [], []
    for i in chosen:
        faces = detect_faces(offline_all.images[i], min_score=0.5)
        if not faces:
            missed.append(offline_all.keys[i])
            continue
        best = min(faces, key=lambda d: np.linalg.norm(d.centre - 128))
        errors.append(np.linalg.norm(best.landmarks[:2] - CANONICAL_256.points[:2], axis=1).mean())
    assert len(missed) <= 2, missed
    assert np.median(errors) < 5.0, np.round(errors, 1)


def test_a_second_build_does_nothing_and_says_so(offline_manifest, capsys):
    before = OFFLINE.manifest_path.stat().st_mtime_ns
    assert build_offline() == OFFLINE.manifest_path.parent
    assert OFFLINE.manifest_path.stat().st_mtime_ns == before
    assert "nothing to do" in capsys.readouterr().err


def test_training_reaches_the_offline_train_split_through_its_config(offline_manifest, offline_train):
    from nullswap import train as train_module

    cfg = train_module.compose(["data=offline"])
    assert cfg.data.name == "offline" and cfg.data.split == "train"
    faces = train_module.load_faces(cfg.data, split=cfg.data.split)
    assert faces.keys == offline_train.keys and len(faces) == offline_manifest["counts"]["train_faces"]
