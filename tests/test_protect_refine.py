"""`nullswap protect` beyond one pass and at camera-photo speed: `--refine`, the PNG level, the stage
timing in the report, `--verify`'s drop and threshold verdicts, and a start-up without torch dynamo."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from nullswap.faces.detect import detect_faces, get_detector
from nullswap.faces.photo import Photo, compose
from nullswap.protect import StageClock, main
from nullswap.verify import Verifier, format_table
from tests.protect_helpers import OBAMA, face_rgb, write_tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return write_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "last.pt")


@pytest.fixture(scope="module")
def obama(registry_photo) -> np.ndarray:
    return face_rgb(registry_photo(*OBAMA))


def report_of(folder):
    return json.loads((folder / "protect_report.json").read_text())


def test_refining_a_real_photo_keeps_each_face_inside_the_budget_and_says_so_in_the_report(checkpoint, obama,
                                                                                             tmp_path):
    Image.fromarray(obama).save(tmp_path / "obama.png")
    out = tmp_path / "out"
    assert main([str(tmp_path / "obama.png"), "-o", str(out), "--checkpoint", str(checkpoint),
                 "--refine", "2", "--psnr", "40", "--verify", "--verify-recognizers", "dlib"]) == 0
    report = report_of(out)
    (entry,) = report["photos"]
    (face,) = entry["refine"]
    assert face["refine_psnr"] >= 40.0 and face["refine_ssim"] >= 0.986
    assert report["settings"]["refine"]["steps"] == 2 and report["settings"]["refine"]["psnr"] == 40.0
    assert report["settings"]["refine"]["recognizers"] == ["dlib"]      # what the checkpoint was trained on
    assert set(entry["verify"][0]) >= {"cosine", "drop", "margin", "crossed"}


def test_every_png_level_writes_the_same_pixels_and_the_report_times_every_stage(checkpoint, obama, tmp_path):
    Image.fromarray(obama).save(tmp_path / "obama.jpg", quality=95)
    decoded = {}
    for level in (0, 9):
        out = tmp_path / f"out{level}"
        assert main([str(tmp_path / "obama.jpg"), "-o", str(out), "--checkpoint", str(checkpoint),
                     "--png-level", str(level)]) == 0
        report = report_of(out)
        assert report["settings"]["png_level"] == level
        decoded[level] = np.asarray(Image.open(out / "obama_protected.png"))
        stages = report["photos"][0]["timing"]["seconds"]
        assert set(StageClock.STAGES) - {"refine"} <= set(stages)
        assert all(value >= 0 for value in stages.values())
    assert np.array_equal(decoded[0], decoded[9])


def test_an_out_of_range_png_level_is_refused(checkpoint, obama, tmp_path):
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--checkpoint", str(checkpoint), "--png-level", "10"])


def test_composing_works_on_the_changed_window_only_and_gives_the_same_file_as_the_whole_photo(obama):
    photo = Photo(obama, obama, None, "RGB", "PNG")
    protected = obama.copy()
    protected[40:60, 100:130] = np.clip(protected[40:60, 100:130].astype(int) + 3, 0, 255).astype(np.uint8)
    colour, alpha, notes = compose(photo, protected)
    assert np.array_equal(colour, protected) and alpha is None and not notes
    grey = obama.mean(axis=-1).round().astype(np.uint8)
    grey_photo = Photo(np.repeat(grey[..., None], 3, axis=2), grey, None, "L", "PNG")
    changed = grey_photo.rgb.copy()
    changed[10:12, 10:12] = changed[10:12, 10:12] // 2
    colour, _, notes = compose(grey_photo, changed)
    assert colour.shape == grey.shape and np.array_equal(colour[12:, :], grey[12:, :]) and notes


def test_verify_gives_each_recognizer_s_drop_and_whether_its_threshold_was_crossed(obama):
    verifier = Verifier(["dlib"], "cpu", trained_against=["dlib"])
    box = detect_faces(obama, get_detector("mtcnn"))[0].box
    (row,) = verifier.check(obama, obama.copy(), [box])
    assert row["drop"]["dlib"] < 0.001 and row["crossed"]["dlib"] is False
    assert row["margin"]["dlib"] < 0                      # above the threshold: still the same person
    table = format_table([("obama.png", [row])], verifier)
    assert "still matched" in table and "--refine" in table    # the note says why and what to try


def test_loading_the_face_detector_does_not_import_torch_dynamo_and_torchvision_still_works():
    script = (
        "import sys\n"
        "from nullswap.faces.detect import get_detector\n"
        "get_detector('mtcnn')\n"
        "assert 'torch._dynamo' not in sys.modules, 'dynamo was imported'\n"
        "import torch\n"
        "from torchvision.ops import roi_align\n"
        "out = roi_align(torch.rand(1, 1, 8, 8), torch.tensor([[0.0, 0.0, 0.0, 4.0, 4.0]]), 2)\n"
        "import torch._dynamo.utils as real\n"
        "assert real.is_compile_supported('cpu') in (True, False) and out.shape == (1, 1, 2, 2)\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
