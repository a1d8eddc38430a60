"""`nullswap protect` loses nothing: unique names, outputs never re-read, refusals before any work,
a report written as the run goes, photos written back as the same kind of file, per-photo seeds."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from nullswap.faces.align import align_face, paste_back
from nullswap.faces.detect import detect_faces, get_detector
from nullswap.protect import NullSwapCloak, find_faces, main, paste_region, protect_files
from nullswap.protect_plan import make_plan, photo_seed
from tests.protect_helpers import BIDEN, OBAMA, face_rgb, tree, write_tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return write_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "last.pt")


@pytest.fixture(scope="module")
def obama(registry_photo) -> np.ndarray:
    return face_rgb(registry_photo(*OBAMA))


@pytest.fixture(scope="module")
def biden(registry_photo) -> np.ndarray:
    return face_rgb(registry_photo(*BIDEN), 300)


def run(paths, out, checkpoint, *extra) -> int:
    return main([*map(str, paths), "-o", str(out), "--checkpoint", str(checkpoint), *extra])


def report_of(out) -> dict:
    return json.loads((out / "protect_report.json").read_text())


def by_name(report: dict) -> dict[str, dict]:
    return {item["source"].rsplit("/", 1)[-1]: item for item in report["photos"]}


# ----------------------------------------------------------------------------------------------
# The three failures of issue 11, reproduced
# ----------------------------------------------------------------------------------------------
def test_two_photos_with_one_stem_are_both_protected_under_names_that_keep_their_extension(
        checkpoint, obama, biden, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(obama).save(photos / "a.jpg", quality=95)
    Image.fromarray(biden).save(photos / "a.png")
    out = tmp_path / "out"
    assert run([photos], out, checkpoint) == 0
    entries = by_name(report_of(out))
    assert entries["a.jpg"]["status"] == entries["a.png"]["status"] == "protected"
    assert entries["a.jpg"]["output"].endswith("a.jpg_protected.png")
    assert entries["a.png"]["output"].endswith("a.png_protected.png")
    assert sorted(p.name for p in out.glob("*.png")) == ["a.jpg_protected.png", "a.png_protected.png"]


def test_an_output_folder_inside_the_input_folder_is_never_read_as_input(checkpoint, obama, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(obama).save(photos / "obama.jpg", quality=95)
    out = photos / "protected"
    assert run([photos], out, checkpoint) == 0
    assert run([photos], out, checkpoint) == 0
    assert [p.name for p in out.rglob("*.png")] == ["obama_protected.png"]
    assert [item["source"] for item in report_of(out)["photos"]] == [str((photos / "obama.jpg").resolve())]


def test_outputs_beside_the_originals_are_not_protected_again_on_a_second_run(checkpoint, obama, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(obama).save(photos / "obama.jpg", quality=95)
    assert run([photos], photos, checkpoint) == 0
    assert run([photos], photos, checkpoint) == 0
    assert sorted(p.name for p in photos.iterdir()) == ["obama.jpg", "obama_protected.png", "protect_report.json"]
    report = report_of(photos)
    assert len(report["photos"]) == 1
    assert report["excluded"][0]["reason"].startswith("an output of an earlier run")


def test_a_setting_that_would_overwrite_an_original_is_refused_before_anything_is_written(
        checkpoint, obama, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(obama).save(photos / "obama.png")
    Image.fromarray(obama).save(photos / "other.jpg")
    before = tree(photos)
    assert run([photos], photos, checkpoint, "--suffix", "", "--overwrite") == 2
    error = capsys.readouterr().err
    assert "would overwrite an input photo" in error and "obama.png" in error and "nothing was written" in error
    assert tree(photos) == before            # no output, no report, originals intact


def test_a_user_file_in_the_way_is_left_alone_and_reported(checkpoint, obama, tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    out.mkdir()
    Image.fromarray(obama).save(photos / "obama.jpg", quality=95)
    (out / "obama_protected.png").write_bytes(b"someone else's file")
    assert run([photos], out, checkpoint) == 1
    assert (out / "obama_protected.png").read_bytes() == b"someone else's file"
    assert by_name(report_of(out))["obama.jpg"]["status"] == "output_exists"


# ----------------------------------------------------------------------------------------------
# The report is written as the run goes
# ----------------------------------------------------------------------------------------------
def test_a_run_that_stops_part_way_leaves_a_report_naming_every_photo(checkpoint, obama, biden, tmp_path,
                                                                      monkeypatch):
    import nullswap.protect as protect

    photos = tmp_path / "photos"
    photos.mkdir()
    for name, image in (("1.png", obama), ("2.png", biden), ("3.png", obama[:, ::-1])):
        Image.fromarray(np.ascontiguousarray(image)).save(photos / name)
    real = protect.protect_photo
    calls = []

    def crash_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(protect, "protect_photo", crash_on_second)
    cloak = NullSwapCloak.from_checkpoint(checkpoint, device="cpu")
    with pytest.raises(RuntimeError, match="power cut"):
        protect_files([photos], tmp_path / "out", cloak)
    report = report_of(tmp_path / "out")
    assert report["complete"] is False
    assert {name: e["status"] for name, e in by_name(report).items()} == {
        "1.png": "protected", "2.png": "working", "3.png": "pending"}
    assert by_name(report)["2.png"]["output"].endswith("2_protected.png")   # named before any write


# ----------------------------------------------------------------------------------------------
# Photos come back as the same kind of file
# ----------------------------------------------------------------------------------------------
def _face_changed(original: np.ndarray, protected: np.ndarray) -> bool:
    return bool(np.any(original != protected))


def test_alpha_is_copied_and_the_cloak_goes_into_the_colour_channels(checkpoint, obama, tmp_path):
    alpha = np.full(obama.shape[:2], 255, np.uint8)
    alpha[:, :40] = 0
    alpha[-30:] = 128
    Image.fromarray(np.dstack([obama, alpha])).save(tmp_path / "rgba.png")
    assert run([tmp_path / "rgba.png"], tmp_path / "out", checkpoint) == 0
    saved = np.asarray(Image.open(tmp_path / "out" / "rgba_protected.png"))
    assert saved.shape == (*obama.shape[:2], 4)
    assert np.array_equal(saved[..., 3], alpha)
    assert _face_changed(obama, saved[..., :3])


def test_sixteen_bit_colour_stays_sixteen_bit_and_untouched_pixels_keep_every_bit(checkpoint, obama, tmp_path):
    rng = np.random.default_rng(0)
    deep = obama.astype(np.uint16) * 257 + rng.integers(0, 200, obama.shape).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), deep[..., ::-1])
    assert run([tmp_path / "deep.png"], tmp_path / "out", checkpoint) == 0
    saved = cv2.imread(str(tmp_path / "out" / "deep_protected.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert saved.dtype == np.uint16 and saved.shape == deep.shape
    same = np.all(saved == deep, axis=-1)
    assert 0.3 < same.mean() < 1.0            # face changed, the rest bit-identical at 16 bits
    assert by_name(report_of(tmp_path / "out"))["deep.png"]["photo"]["bit_depth"] == 16


def test_greyscale_stays_greyscale_and_the_report_says_what_happened_to_the_cloak(checkpoint, obama, tmp_path):
    grey = np.asarray(Image.fromarray(obama).convert("L"))
    Image.fromarray(grey).save(tmp_path / "grey.png")
    assert run([tmp_path / "grey.png"], tmp_path / "out", checkpoint) == 0
    saved = Image.open(tmp_path / "out" / "grey_protected.png")
    assert saved.mode == "L" and _face_changed(grey, np.asarray(saved))
    notes = by_name(report_of(tmp_path / "out"))["grey.png"]["notes"]
    assert any("greyscale kept" in note for note in notes)


def test_cmyk_is_converted_to_srgb_and_the_report_says_so(checkpoint, obama, tmp_path):
    Image.fromarray(obama).convert("CMYK").save(tmp_path / "print.jpg", quality=95)
    assert run([tmp_path / "print.jpg"], tmp_path / "out", checkpoint) == 0
    assert Image.open(tmp_path / "out" / "print_protected.png").mode == "RGB"
    notes = by_name(report_of(tmp_path / "out"))["print.jpg"]["notes"]
    assert any(note.startswith("CMYK") for note in notes)


def test_exif_orientation_is_honoured_and_metadata_follows_the_explicit_option(checkpoint, obama, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6                              # "rotate 90° clockwise to view"
    exif[0x010F] = "TestCamera"                   # Make
    stored = Image.fromarray(obama).transpose(Image.Transpose.ROTATE_90)   # as a camera stores it
    stored.save(tmp_path / "turned.jpg", quality=95, exif=exif.tobytes())
    assert run([tmp_path / "turned.jpg"], tmp_path / "strip", checkpoint) == 0
    assert run([tmp_path / "turned.jpg"], tmp_path / "keep", checkpoint, "--metadata", "keep") == 0
    stripped = Image.open(tmp_path / "strip" / "turned_protected.png")
    kept = Image.open(tmp_path / "keep" / "turned_protected.png")
    assert stripped.size == kept.size == (obama.shape[1], obama.shape[0])      # saved upright
    assert by_name(report_of(tmp_path / "strip"))["turned.jpg"]["faces"] == 1
    assert not stripped.getexif()
    assert kept.getexif()[0x010F] == "TestCamera" and kept.getexif()[0x0112] == 1


def test_photos_above_the_pixel_budget_get_a_clear_error_and_are_not_decoded(checkpoint, obama, tmp_path):
    Image.fromarray(obama).save(tmp_path / "big.png")
    assert run([tmp_path / "big.png"], tmp_path / "out", checkpoint, "--max-megapixels", "0.1") == 1
    entry = by_name(report_of(tmp_path / "out"))["big.png"]
    assert entry["status"] == "too_large"
    assert "megapixels" in entry["message"] and "--max-megapixels" in entry["message"]
    assert not (tmp_path / "out" / "big_protected.png").exists()


# ----------------------------------------------------------------------------------------------
# Large photos, region paste, seeds
# ----------------------------------------------------------------------------------------------
def test_detecting_on_a_downscaled_copy_finds_the_face_where_full_resolution_does(registry_photo):
    photo = np.asarray(Image.open(registry_photo(*OBAMA)).convert("RGB"))
    full = find_faces(photo, get_detector("mtcnn"), None)
    small = find_faces(photo, get_detector("mtcnn"), 400)
    assert len(full) == len(small) == 1
    width = full[0].box[2] - full[0].box[0]
    assert np.abs(full[0].landmarks - small[0].landmarks).max() < 0.03 * width   # within 3 % of the face


def test_pasting_on_the_face_region_gives_the_same_pixels_as_pasting_on_the_whole_photo(obama):
    detection = detect_faces(obama, get_detector("mtcnn"))[0]
    crop, matrix = align_face(obama, detection.landmarks)
    changed = np.clip(crop.astype(int) + np.random.default_rng(1).integers(-6, 7, crop.shape), 0, 255).astype(np.uint8)
    from nullswap.faces.align import AlignedFace

    face = AlignedFace(crop, matrix, detection.landmarks, detection.box, detection.score)
    in_place = obama.copy()
    paste_region(in_place, changed, face)
    whole = paste_back(obama, changed, matrix, clean_crop=crop)
    # OpenCV's fixed-point warp may round a handful of pixels one grey level apart
    assert np.abs(in_place.astype(int) - whole.astype(int)).max() <= 1
    assert np.array_equal(np.any(in_place != obama, axis=-1), np.any(whole != obama, axis=-1))


def test_the_noise_seed_comes_from_the_photo_content_and_the_user_seed(checkpoint, canonical_faces):
    a, b = "a" * 64, "b" * 64
    assert photo_seed(a, 0) == photo_seed(a, 0)
    assert len({photo_seed(a, 0), photo_seed(b, 0), photo_seed(a, 1)}) == 3
    cloak = NullSwapCloak.from_checkpoint(checkpoint, device="cpu")
    crop = canonical_faces["obama"][None]
    assert torch.equal(cloak(crop, seed=photo_seed(a, 0)), cloak(crop, seed=photo_seed(a, 0)))
    assert not torch.equal(cloak(crop, seed=photo_seed(a, 0)), cloak(crop, seed=photo_seed(b, 0)))


def test_the_same_photo_under_two_names_gives_the_same_protected_pixels(checkpoint, obama, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(obama).save(photos / "one.png")
    Image.fromarray(obama).save(photos / "two.png")
    assert run([photos], tmp_path / "out", checkpoint) == 0
    one, two = (np.asarray(Image.open(tmp_path / "out" / f"{n}_protected.png")) for n in ("one", "two"))
    assert np.array_equal(one, two) and not np.array_equal(one, obama)
    entries = by_name(report_of(tmp_path / "out"))
    assert entries["one.png"]["seed"] == entries["two.png"]["seed"]


def test_the_plan_names_colliding_relative_paths_under_two_input_folders_apart(obama, tmp_path):
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        Image.fromarray(obama).save(tmp_path / folder / "a.png")
    plan = make_plan([tmp_path / "x", tmp_path / "y"], tmp_path / "out", "_protected")
    names = [p.target.name for p in plan.photos]
    assert len(set(names)) == 2 and all(n.startswith("a.png-") and n.endswith("_protected.png") for n in names)
