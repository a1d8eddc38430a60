"""`nullswap protect` on real, unaligned photos: outputs, untouched originals, resume and bad input."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

import baselines
from nullswap.faces.registry_photos import raw_photo
from nullswap.model import ModelConfig, NullSwapGenerator
from nullswap.protect import NullSwapCloak, main
from nullswap.train import CHECKPOINT_FORMAT

TINY = dict(width=16, id_blocks=1, perturbation_blocks=1, feature_blocks=1)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A generator whose residual head is scaled up so that its change is visible after rounding."""
    torch.manual_seed(0)
    generator = NullSwapGenerator(ModelConfig(**TINY))
    with torch.no_grad():
        generator.cloak_image[-1].weight.mul_(50)
    path = tmp_path_factory.mktemp("ckpt") / "last.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "generator": generator.state_dict(), "recognizers": ["dlib"],
                "config": {"model": dict(TINY), "train": {"resolution": 128}}}, path)
    return path


@pytest.fixture
def photo_folder(tmp_path):
    folder = tmp_path / "photos"
    (folder / "group").mkdir(parents=True)
    shutil.copy(raw_photo("face_recognition", "face_recognition-1.3.0/tests/test_images/obama.jpg"),
                folder / "obama.jpg")
    shutil.copy(raw_photo("insightface", "insightface/data/images/t1.jpg"), folder / "group" / "t1.jpg")
    (folder / "notes.jpg").write_text("not an image")
    from skimage import data

    Image.fromarray(data.coffee()).save(folder / "coffee.png")
    return folder


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_protecting_a_folder_writes_pngs_and_a_report_and_never_touches_originals(checkpoint, photo_folder, tmp_path):
    before = {p: digest(p) for p in photo_folder.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    code = main([str(photo_folder), "-o", str(out), "--checkpoint", str(checkpoint)])
    assert code == 1      # some inputs were not photos of faces: reported, not fatal
    assert {p: digest(p) for p in photo_folder.rglob("*") if p.is_file()} == before
    report = json.loads((out / "protect_report.json").read_text())
    status = {item["source"].rsplit("/", 1)[-1]: item for item in report["photos"]}
    assert status["obama.jpg"]["status"] == "protected" and status["obama.jpg"]["faces"] == 1
    assert status["t1.jpg"]["status"] == "protected" and status["t1.jpg"]["faces"] == 6
    assert status["notes.jpg"]["status"] == "unreadable"
    assert status["coffee.png"]["status"] == "no_face"
    assert (out / "group" / "t1_protected.png").is_file()


def test_only_face_regions_change_and_the_rest_of_the_photo_is_bit_identical(checkpoint, photo_folder, tmp_path):
    out = tmp_path / "out"
    main([str(photo_folder / "obama.jpg"), "-o", str(out), "--checkpoint", str(checkpoint)])
    original = np.asarray(Image.open(photo_folder / "obama.jpg").convert("RGB"))
    protected = np.asarray(Image.open(out / "obama_protected.png"))
    assert protected.shape == original.shape
    changed = np.any(protected != original, axis=-1)
    assert changed.any()
    _, xs = np.nonzero(changed)
    box = json.loads((out / "protect_report.json").read_text())["photos"][0]["boxes"][0]
    width = box[2] - box[0]
    assert xs.min() > box[0] - width and xs.max() < box[2] + width
    assert changed.mean() < 0.5


def test_a_second_run_skips_finished_photos(checkpoint, photo_folder, tmp_path, capsys):
    out = tmp_path / "out"
    main([str(photo_folder / "obama.jpg"), "-o", str(out), "--checkpoint", str(checkpoint)])
    stamp = (out / "obama_protected.png").stat().st_mtime_ns
    assert main([str(photo_folder / "obama.jpg"), "-o", str(out), "--checkpoint", str(checkpoint)]) == 0
    assert "1 skipped_existing" in capsys.readouterr().out
    assert (out / "obama_protected.png").stat().st_mtime_ns == stamp


def test_a_missing_checkpoint_says_how_to_get_one(tmp_path, capsys):
    assert main([str(tmp_path), "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert "make demo" in capsys.readouterr().err


def test_cloaking_is_reproducible_for_a_seed_and_keeps_the_crop_shape(checkpoint, canonical_faces):
    crops = torch.stack([canonical_faces["obama"], canonical_faces["biden"]])
    a = NullSwapCloak.from_checkpoint(checkpoint, device="cpu", seed=3)(crops)
    b = NullSwapCloak.from_checkpoint(checkpoint, device="cpu", seed=3)(crops)
    assert a.shape == crops.shape and torch.equal(a, b)
    assert 0 < (a - crops).abs().max() <= 1


def test_nullswap_is_a_registered_protector(checkpoint, canonical_faces):
    protector = baselines.load("nullswap", checkpoint=checkpoint, device="cpu")
    out = protector.protect(canonical_faces["obama"][None])
    assert out.shape == (1, 3, 256, 256)
    assert protector.describe()["threat_model"] == "black-box"
