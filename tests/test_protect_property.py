"""Property: whatever folder a user points `nullswap protect` at — mixed names and formats, names that
differ only in case or extension, duplicate photos, damaged files, the output folder beside, inside or
equal to the input, an empty suffix, --overwrite, nested inputs, a second run — no input file ever
changes, and every input photo appears in the report exactly once (or the run is refused and nothing
at all is written)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from nullswap.protect import main
from tests.protect_helpers import OBAMA, face_rgb, tree, write_tiny_checkpoint

FORMATS = {".jpg": "JPEG", ".JPG": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".PNG": "PNG", ".webp": "WEBP",
           ".tif": "TIFF"}
FOLDERS = ("", "sub", "sub/deep", "Sub")
STEMS = ("a", "A", "b", "a.jpg", "a_protected", "photo 1", "é")

file_spec = st.tuples(st.sampled_from(FOLDERS), st.sampled_from(STEMS), st.sampled_from(sorted(FORMATS)),
                      st.sampled_from(("face", "noise", "junk", "duplicate")))
scenario = st.fixed_dictionaries({
    "files": st.lists(file_spec, min_size=1, max_size=6),
    "out": st.sampled_from(("beside", "inside", "inside_deep", "same")),
    "suffix": st.sampled_from(("_protected", "", "-p")),
    "overwrite": st.booleans(),
    "inputs": st.sampled_from(("folder", "folder_and_subfolder", "files_twice")),
})


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return write_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "last.pt")


@pytest.fixture(scope="module")
def small_face(registry_photo) -> np.ndarray:
    return face_rgb(registry_photo(*OBAMA), 200)


def _write(path: Path, kind: str, index: int, face: np.ndarray, first: Path | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "junk":
        path.write_bytes(b"not an image " * (index + 1))
    elif kind == "duplicate" and first is not None:
        path.write_bytes(first.read_bytes())
    else:
        pixels = face if kind == "face" else np.random.default_rng(index).integers(0, 256, (48, 64, 3), np.uint8)
        Image.fromarray(pixels).save(path, format=FORMATS[path.suffix])


def _build(root: Path, files, face: np.ndarray) -> list[Path]:
    made: list[Path] = []
    for index, (folder, stem, ext, kind) in enumerate(files):
        path = root / "photos" / folder / f"{stem}{ext}"
        if path in made:
            continue
        _write(path, kind, index, face, made[0] if made else None)
        made.append(path)
    return made


def _command(root: Path, made: list[Path], case: dict, checkpoint: Path) -> list[str]:
    photos = root / "photos"
    out = {"beside": root / "out", "inside": photos / "protected", "inside_deep": photos / "sub" / "out",
           "same": photos}[case["out"]]
    inputs = {"folder": [photos], "folder_and_subfolder": [photos, photos / "sub"],
              "files_twice": made + made[:1]}[case["inputs"]]
    args = [*map(str, inputs), "-o", str(out), "--checkpoint", str(checkpoint), f"--suffix={case['suffix']}"]
    return [*args, "--overwrite"] if case["overwrite"] else args


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=scenario)
@example(case={"files": [("", "a", ".png", "face"), ("sub", "b", ".jpg", "noise")], "out": "same", "suffix": "",
               "overwrite": True, "inputs": "folder"})           # the overwrite of issue 11: refused
@example(case={"files": [("", "a", ".jpg", "face"), ("", "a", ".png", "duplicate"), ("", "A", ".png", "noise"),
                         ("sub", "a", ".png", "junk"), ("Sub", "a", ".png", "face")],
               "out": "inside", "suffix": "_protected", "overwrite": False, "inputs": "folder_and_subfolder"})
def test_no_input_changes_and_every_input_is_reported_exactly_once(case, checkpoint, small_face,
                                                                    tmp_path_factory):
    root = tmp_path_factory.mktemp("case")
    made = _build(root, case["files"], small_face)
    (root / "photos" / "sub").mkdir(parents=True, exist_ok=True)
    originals = {str(p): tree(p.parent)[p.name] for p in made}
    command = _command(root, made, case, checkpoint)
    for attempt in (1, 2):
        before = tree(root)
        code = main(command)
        event(f"run {attempt} exit code {code}")
        assert {str(p): tree(p.parent)[p.name] for p in made} == originals, f"an input changed (run {attempt})"
        if code == 2:
            assert tree(root) == before, "a refused run wrote something"
            continue
        assert code in (0, 1)
        out = Path(command[command.index("-o") + 1])
        report = json.loads((out / "protect_report.json").read_text())
        sources = [item["source"] for item in report["photos"]]
        for item in report["photos"]:
            event(f"run {attempt} status {item['status']}")
        assert sorted(sources) == sorted(str(p.resolve()) for p in made), "inputs and report entries differ"
        outputs = [item["output"] for item in report["photos"] if item["status"] == "protected"]
        assert len(set(outputs)) == len(outputs) and all(Path(o).is_file() for o in outputs)
        assert not set(outputs) & set(originals)
