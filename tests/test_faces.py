"""Detection, alignment and paste-back on real registry photos, and clear errors on bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from nullswap.faces import (
    AlignedFace,
    FaceInputError,
    ImageTooSmallError,
    NoFaceError,
    UnreadableImageError,
    align_faces,
    align_largest,
    crop_mask,
    detect_faces,
    get_detector,
    load_image,
    paste_back,
)
from nullswap.faces.align import warp_to_crop
from nullswap.faces.templates import CANONICAL_256

FR = "face_recognition-1.3.0/tests/test_images/"


@pytest.fixture(scope="module")
def obama_path(registry_photo):
    return registry_photo("face_recognition", FR + "obama.jpg")


@pytest.fixture(scope="module")
def obama_photo(obama_path) -> np.ndarray:
    return load_image(obama_path)


@pytest.fixture(scope="module")
def obama_face(obama_photo) -> AlignedFace:
    return align_largest(obama_photo)


def landmark_error(points: np.ndarray) -> np.ndarray:
    """Per-landmark distance (px) from the canonical template."""
    return np.linalg.norm(points - CANONICAL_256.points, axis=1)


def test_landmarks_come_in_harness_order_as_seen_in_the_image(obama_photo):
    face = detect_faces(obama_photo)[0]
    left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks
    assert left_eye[0] < nose[0] < right_eye[0]
    assert mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    assert face.score > 0.99


def test_alignment_puts_the_landmarks_on_the_canonical_template(obama_face):
    assert obama_face.crop.shape == (256, 256, 3) and obama_face.crop.dtype == np.uint8
    # The similarity fit leaves only the difference in face shape from the template.
    assert landmark_error(obama_face.crop_landmarks).mean() < 8.0
    # Detecting again on the crop finds the landmarks where the template puts them (eyes within 6 px).
    again = detect_faces(obama_face.crop)[0].landmarks
    error = landmark_error(again)
    assert error[:2].max() < 6.0, error
    assert error.mean() < 8.0, error


@pytest.mark.parametrize("detector", ["mtcnn", "dlib"])
def test_both_detector_back_ends_agree_on_the_landmarks(obama_photo, detector):
    reference = detect_faces(obama_photo, "mtcnn")[0]
    face = max(detect_faces(obama_photo, detector), key=lambda d: d.size)
    eyes_apart = reference.eye_distance
    assert np.linalg.norm(face.landmarks[:2] - reference.landmarks[:2], axis=1).max() < 0.08 * eyes_apart


def test_group_photo_gives_every_face_left_to_right(registry_photo):
    photo = load_image(registry_photo("insightface", "insightface/data/images/t1.jpg"))
    faces = align_faces(photo)
    assert len(faces) == 6  # the table scene has six people; background false hits are dropped
    centres = [f.box[0] + f.box[2] for f in faces]
    assert centres == sorted(centres)
    for face in faces:
        assert landmark_error(face.crop_landmarks).mean() < 12.0  # turned heads fit the template less well


def test_detection_on_a_shrunk_copy_maps_back_to_full_resolution(obama_photo):
    full = detect_faces(obama_photo)[0]
    shrunk = detect_faces(obama_photo, max_side=500)[0]
    assert np.abs(shrunk.landmarks - full.landmarks).max() < 0.1 * full.eye_distance
    assert np.abs(shrunk.box - full.box).max() < 0.15 * full.size


@pytest.mark.parametrize("texture", ["brick", "grass", "gravel"])
def test_a_photo_without_a_face_raises_no_face_error(texture):
    image = getattr(skdata, texture)()
    with pytest.raises(NoFaceError, match="no face found"):
        align_largest(image)
    assert align_faces(image) == []


def test_no_face_error_names_the_file(tmp_path):
    path = tmp_path / "wall.png"
    Image.fromarray(skdata.brick()).save(path)
    with pytest.raises(NoFaceError, match=r"wall\.png"):
        align_largest(path)


def test_a_file_that_is_not_an_image_raises_a_clear_error(tmp_path):
    path = tmp_path / "holiday.jpg"
    path.write_bytes(b"this is not a JPEG at all" * 10)
    with pytest.raises(UnreadableImageError, match=r"holiday\.jpg") as info:
        load_image(path)
    assert "damaged" in str(info.value)
    assert isinstance(info.value, FaceInputError)


def test_a_truncated_photo_raises_a_clear_error(tmp_path, obama_path):
    path = tmp_path / "cut.jpg"
    path.write_bytes(obama_path.read_bytes()[:20_000])
    with pytest.raises(UnreadableImageError, match=r"cut\.jpg"):
        load_image(path)


def test_a_missing_file_says_it_does_not_exist(tmp_path):
    with pytest.raises(UnreadableImageError, match="does not exist"):
        load_image(tmp_path / "nowhere.jpg")


def test_a_tiny_image_raises_image_too_small(tmp_path):
    path = tmp_path / "thumb.png"
    Image.fromarray(np.full((20, 24, 3), 128, np.uint8)).save(path)
    with pytest.raises(ImageTooSmallError, match=r"24×20 pixels.*at least 32×32"):
        align_faces(path)
    with pytest.raises(ImageTooSmallError):
        detect_faces(np.zeros((31, 200, 3), np.uint8))


def test_exif_orientation_is_applied(tmp_path, obama_path):
    upright = Image.open(obama_path).convert("RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # pixels stored turned a quarter to the left...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...with EXIF orientation 6: "turn 90° clockwise to view", as phones write it
    path = tmp_path / "phone.jpg"
    stored.save(path, exif=exif, quality=95)
    image = load_image(path)
    assert image.shape[:2] == (upright.height, upright.width)
    assert np.abs(image.astype(float) - np.asarray(upright, float)).mean() < 3.0  # upright again
    face = align_largest(image)
    left_eye, right_eye = face.landmarks[:2]
    assert abs(right_eye[1] - left_eye[1]) < 0.1 * face.eye_distance  # eyes level: upright face


def test_rgba_greyscale_and_16_bit_photos_load_as_rgb_and_align(tmp_path, registry_photo, obama_path):
    rgba = load_image(registry_photo("face_recognition", FR + "32bit.png"))  # face_recognition's RGBA copy
    assert rgba.shape[2] == 3 and rgba.dtype == np.uint8
    assert len(align_faces(rgba)) == 1

    grey = np.asarray(Image.open(obama_path).convert("L"))
    path16 = tmp_path / "grey16.png"
    Image.fromarray(grey.astype(np.uint16) * 257).save(path16)  # 16-bit greyscale PNG
    assert Image.open(path16).mode.startswith("I")
    loaded = load_image(path16)
    assert loaded.shape[2] == 3 and np.array_equal(loaded[..., 0], grey)  # full range kept, not clipped
    assert len(align_faces(loaded)) == 1
    assert len(align_faces(grey)) == 1  # a 2-D array is greyscale too

    colour = np.asarray(Image.open(obama_path).convert("RGB"))
    path48 = tmp_path / "rgb16.png"
    cv2.imwrite(str(path48), colour[..., ::-1].astype(np.uint16) * 257)  # 16 bits per channel
    assert np.abs(load_image(path48).astype(int) - colour).max() <= 1


def test_paste_back_changes_only_pixels_under_the_mask(obama_photo, obama_face):
    rng = np.random.default_rng(0)
    # A smooth perturbation, like a protector's (white per-pixel noise would not survive resampling).
    noise = cv2.GaussianBlur(rng.normal(0.0, 1.0, obama_face.crop.shape).astype(np.float32), (0, 0), 3.0)
    noise = np.clip(np.round(noise / noise.std() * 6.0), -15, 15)
    protected = np.clip(obama_face.crop + noise, 0, 255).astype(np.uint8)
    change = protected.astype(float) - obama_face.crop
    for clean in (None, obama_face.crop):
        result = paste_back(obama_photo, protected, obama_face.matrix, clean_crop=clean)
        assert result.shape == obama_photo.shape and result.dtype == np.uint8
        footprint = (
            cv2.warpAffine(
                crop_mask(), cv2.invertAffineTransform(obama_face.matrix), obama_photo.shape[1::-1]
            )
            > 0
        )
        assert np.array_equal(result[~footprint], obama_photo[~footprint])  # bit-identical outside
        changed = np.any(result != obama_photo, axis=2)
        assert changed[footprint].mean() > 0.5  # the face region did change
        # Cutting the face out again carries the perturbation through the round trip.
        recut = warp_to_crop(result, obama_face.matrix, 256).astype(float)
        inner = slice(32, 224)
        carried = (recut - obama_face.crop)[inner, inner]
        # Replacing resamples the face twice (blur ~1.7 grey levels); adding the change keeps the photo.
        assert np.corrcoef(carried.ravel(), change[inner, inner].ravel())[0, 1] > (
            0.8 if clean is None else 0.99
        )
        assert np.abs(recut - protected)[inner, inner].mean() < (2.5 if clean is None else 0.5)
        # ...and the face is still found where it was.
        again = align_largest(result)
        assert np.abs(again.landmarks - obama_face.landmarks).max() < 0.1 * obama_face.eye_distance


def test_pasting_back_the_clean_crop_as_a_change_is_a_no_op(obama_photo, obama_face):
    result = paste_back(obama_photo, obama_face.crop, obama_face.matrix, clean_crop=obama_face.crop)
    assert np.array_equal(result, obama_photo)


def test_the_mask_feathers_to_zero_at_the_crop_edge():
    mask = crop_mask(256, 0.08)
    assert mask.shape == (256, 256) and mask.dtype == np.float32
    assert mask[0].max() == 0.0 and mask[:, -1].max() == 0.0
    assert mask[128, 128] == 1.0
    assert np.all(np.diff(mask[128, :128]) >= 0)


def test_the_shared_detector_is_built_once():
    assert get_detector("mtcnn") is get_detector("mtcnn")
    with pytest.raises(KeyError, match="unknown face detector"):
        get_detector("nope")
