"""`nullswap protect --verify`: per face, the clean↔protected identity cosine through independent
re-detection, printed as a table and stored in the report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from nullswap.faces.detect import detect_faces, get_detector
from nullswap.protect import main
from nullswap.verify import Verifier, format_table
from tests.protect_helpers import OBAMA, face_rgb, write_tiny_checkpoint


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier(["dlib"], "cpu", trained_against=["dlib"])


@pytest.fixture(scope="module")
def obama(registry_photo) -> np.ndarray:
    return face_rgb(registry_photo(*OBAMA))


def test_an_unchanged_photo_is_reported_as_still_matched(verifier, obama):
    box = detect_faces(obama, get_detector("mtcnn"))[0].box
    (row,) = verifier.check(obama, obama.copy(), [box])
    assert row["redetected"] == {"clean": True, "protected": True}
    assert row["cosine"]["dlib"] > 0.999 and row["still_matched"]["dlib"] is True


def test_a_face_the_independent_detector_cannot_find_is_reported_not_guessed(verifier, obama):
    box = detect_faces(obama, get_detector("mtcnn"))[0].box
    blank = np.full_like(obama, 128)
    (row,) = verifier.check(obama, blank, [box])
    assert row["redetected"] == {"clean": True, "protected": False} and "cosine" not in row
    assert "not re-detected (protected)" in format_table([("x.png", [row])], verifier)


def test_verify_prints_a_table_and_stores_it_in_the_report(obama, tmp_path, capsys):
    checkpoint = write_tiny_checkpoint(tmp_path / "last.pt")
    Image.fromarray(obama).save(tmp_path / "obama.png")
    code = main([str(tmp_path / "obama.png"), "-o", str(tmp_path / "out"), "--checkpoint", str(checkpoint),
                 "--verify", "--verify-recognizers", "dlib"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "identity cosine clean vs protected" in printed and "obama.png" in printed
    report = json.loads((tmp_path / "out" / "protect_report.json").read_text())
    (entry,) = report["photos"]
    (face,) = entry["verify"]
    assert set(face["cosine"]) == {"dlib"} and -1.0 <= face["cosine"]["dlib"] <= 1.0
    assert report["settings"]["verify"]["detector"] == "dlib"
    assert report["settings"]["verify"]["recognizers"]["dlib"]["seen_in_training"] is True
