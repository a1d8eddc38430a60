"""InfoSwap rehearsed against its real upstream code: the adapter, the runner and the driver, unchanged.

A copy of the InfoSwap tree (``$NULLSWAP_UPSTREAM_SOURCES/infoswap/``) gets the upstream's own networks —
``Backbone128(50, 0.6, 'ir_se')``, ``AII512()``, ``UnetDecoder512()``, ``IIB(...)`` — with random initial
weights, saved where ``inference_demo.py`` loads them (``swappers/rehearsal/build_infoswap.py``) and marked
as stand-ins.  The detector is the upstream's real MTCNN (its weights are committed upstream), so the faces
are real faces of the offline sample.  The pinned environment (torch 1.4, Python 3.7) cannot be built here:
the builder and the driver run under **the project's own interpreter** (torch 2.x), and what breaks there is
fixed in the driver (see its docstring).  The swaps are meaningless images: only the plumbing is checked.

Cost on 2 idle cores: about 8 s to build the weights (1.1 GB), 5 s per driver start, 8.5 s per swapped
512-px pair, 3 GB peak; six swaps and five driver starts in all.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import swappers
from nullswap import standin
from nullswap.images import from_uint8, to_uint8
from nullswap.upstream import rehearsal
from swappers._external import resize
from swappers.infoswap import SPEC

pytestmark = pytest.mark.upstream

BUILDER = Path(swappers.__file__).resolve().parent / "rehearsal" / "build_infoswap.py"
#: faces of the offline sample's test split that the upstream's MTCNN finds (it is handed BGR pixels, as
#: upstream reads them with cv2; on some other faces of the set it finds none — itself a finding)
SOURCE, TARGET, SECOND_SOURCE, SECOND_TARGET = (
    "face_recognition/obama2/0",
    "face_api/sample1/0",
    "insightface/Tom_Hanks_54745/0",
    "face_api/sample1/1",
)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = rehearsal.missing_reason("infoswap")
    if reason:
        pytest.skip(f"InfoSwap rehearsal needs its upstream tree: {reason}")
    return rehearsal.prepare_standin(
        SPEC, rehearsal.source_tree("infoswap"), tmp_path_factory.mktemp("infoswap") / "checkout",
        rehearsal.project_python(), BUILDER, options={"ib_mode": "smooth"},
    )


@pytest.fixture(scope="module")
def faces(sample_test) -> dict[str, torch.Tensor]:
    """Canonical crops (3, 256, 256) in [0, 1] by key, plus a face-less grey square."""
    crops = {key: torch.from_numpy(image).permute(2, 0, 1).float() / 255.0
             for key, image in zip(sample_test.keys, sample_test.images)}
    crops["grey"] = torch.full((3, 256, 256), 0.5)
    return crops


def load(checkout: Path, tmp_path: Path, **options: object) -> swappers.Swapper:
    """The real adapter on the stand-in checkout, run by the project's own interpreter on the CPU."""
    return swappers.load("infoswap", checkout=checkout, python=rehearsal.project_python(), accept_unpinned=True,
                         device="cpu", root=tmp_path / "upstream", timeout=900, **options)


def pairs(faces: dict[str, torch.Tensor], *names: tuple[str, str]) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.stack([faces[s] for s, _ in names]), torch.stack([faces[t] for _, t in names])


@pytest.fixture(scope="module")
def first_run(checkout: Path, faces, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Real faces swapped, a face-less source and a face-less target, in one driver call, with a dot in TMPDIR."""
    tmp = tmp_path_factory.mktemp("run")
    tmpdir = tmp / "job.123"  # a cluster-style scratch name: the upstream cuts its output path at the first dot
    tmpdir.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(tmpdir))
        swapper = load(checkout, tmp)
        sources, targets = pairs(faces, (SOURCE, TARGET), ("grey", SECOND_SOURCE), (SECOND_SOURCE, "grey"),
                                 (SECOND_SOURCE, SECOND_TARGET))
        result = swapper.swap(sources, targets)
    return {"swapper": swapper, "result": result, "targets": targets, "tmpdir": tmpdir}


def test_real_faces_are_swapped_and_face_less_images_are_no_face(first_run):
    result, targets = first_run["result"], first_run["targets"]
    assert result.status == ["ok", "no_face", "no_face", "ok"], result.messages
    assert "no face in the source" in result.messages[1] and "no face in the target" in result.messages[2]
    assert result.images.shape == targets.shape and result.images.dtype == torch.float32
    assert float(result.images.min()) >= 0.0 and float(result.images.max()) <= 1.0
    for i in (0, 3):  # the random generator's face is pasted into the target: the face region changed ...
        centre = (slice(None), slice(96, 192), slice(80, 176))
        assert (result.images[i][centre] - targets[i][centre]).abs().mean() > 0.02
        corner = (slice(None), slice(0, 16), slice(0, 16))  # ... the far corner did not
        assert (result.images[i][corner] - targets[i][corner]).abs().mean() < 0.02


def test_the_rehearsal_ran_the_upstream_under_the_projects_interpreter_on_the_cpu(first_run):
    info = first_run["swapper"].last_info
    assert info["executable"] == sys.executable and info["torch"] == torch.__version__
    assert info["device"] == "cpu" and info["mtcnn_device"] == "cpu"  # the runner hid every GPU from its MTCNN
    assert info["inference_log_handlers"] == 0  # the FileHandler each upstream call opens is closed again
    log = (Path(info["run_dir"]) / "driver.log").read_text()
    assert "Can't parse 'p'" not in log  # the Poisson paste-back ran: OpenCV took the integer centres


def test_the_provenance_records_stand_in_weights_and_the_unpinned_checkout(first_run, checkout: Path):
    described = first_run["swapper"].describe()
    assert described["pin"] == {"expected": SPEC.commit, "found": None, "pinned": False, "accepted_unpinned": True}
    files = {Path(r["file"]).relative_to(checkout).as_posix() for r in described["standin_weights"]}
    assert files == {w.path for w in SPEC.weights_for(None, {"ib_mode": "smooth"})}
    assert all(r["reason"] == standin.RANDOM_WEIGHTS for r in described["standin_weights"])
    assert standin.reasons(described)  # what the results store looks for to refuse this outside a rehearsal
    marker = standin.read(checkout / "checkpoints_512/w_kernel_smooth/ckpt_ks_G.pth")
    assert marker["interpreter"] == rehearsal.PROJECT_INTERPRETER and marker["builder"] == BUILDER.name
    for layer in range(11):  # the committed readout statistics are kept; absent ones were generated and marked
        assert (checkout / f"modules/weights128/readout_layer{layer}.pth").is_file()


def test_a_dot_in_tmpdir_is_harmless_and_the_scratch_folder_is_removed(first_run):
    assert first_run["result"].status[0] == "ok"  # the upstream's result was found under a TMPDIR with a dot
    assert not list(first_run["tmpdir"].glob("infoswap-*"))


def test_face_less_images_are_refused_fast_without_the_upstreams_retry_loop(checkout: Path, faces, tmp_path: Path):
    swapper = load(checkout, tmp_path)
    result = swapper.swap(*pairs(faces, ("grey", SOURCE), (SOURCE, "grey")))
    assert result.status == ["no_face", "no_face"]
    # the upstream's own retry loop lowers the minimum face size until an allocation of gigabytes fails
    # (48 s, 6.7 GB peak on a face-less target); the driver stops at the upstream's first detection, so its
    # peak is that of loading the models (2.5 GB: each state dict is held twice while it loads)
    assert swapper.last_info["peak_rss_mb"] < 4000


def test_a_pair_whose_upstream_code_raises_fails_alone_and_the_same_seed_gives_the_same_swap(
    checkout: Path, faces, tmp_path: Path, first_run
):
    """A wide photo (512 x 4100) whose face touches its edge: OpenCV refuses the upstream's Poisson paste,
    and the upstream's Laplacian fallback (``utils.laplacian_blending``) only knows sides up to 4096, so the
    upstream raises ``IndexError`` for this pair; the pairs before and after it go on.  The adapter only
    sends square frames, so the pairs go through the adapter's own runner, the first one exactly as the
    adapter sends it: with the same seed, its swap is the first run's, whatever pairs follow it."""
    swapper = load(checkout, tmp_path)

    def frame(name: str) -> np.ndarray:
        return to_uint8(resize(faces[name][None], swapper.frame_size))[0]

    wide = np.zeros((512, 4100, 3), np.uint8)
    wide[:, -512 + 150:] = frame(SECOND_SOURCE)[:, : 512 - 150]  # the face cut by the right edge
    result = swapper.runner.run(
        {"square": frame(SOURCE), "wide": frame(SOURCE), "after": frame("grey")},
        swapper.options,
        targets={"square": frame(TARGET), "wide": wide, "after": frame(SECOND_TARGET)},
        timeout=900, seed=0, device="cpu",
    ).by_id()
    assert result["wide"].status == "failed" and result["wide"].message.startswith("IndexError")
    assert result["square"].status == "ok" and result["square"].image.shape == (512, 512, 3)
    assert result["after"].status == "no_face"  # the loop went on after the pair that raised
    again = resize(from_uint8([result["square"].image]), 256)[0]  # back to the crop, as the adapter does
    assert torch.equal(again, first_run["result"].images[0])


def test_a_rehearsal_table3_with_the_infoswap_stand_in_is_flagged_and_headed_as_one(
    checkout: Path, sample_test, tmp_path: Path
):
    """Table 3's own code path (plan, swaps, cells, store, tables) with the InfoSwap stand-in as its row and
    two cheap protector columns, written to a temporary rehearsal folder."""
    from benchmarks import table3
    from benchmarks.workspace import Components

    keys = [SOURCE, TARGET, SECOND_SOURCE, SECOND_TARGET]
    faces = sample_test.subset([sample_test.keys.index(k) for k in keys])
    infoswap = {"checkout": str(checkout), "python": str(rehearsal.project_python()), "accept_unpinned": True,
                "device": "cpu", "root": str(tmp_path / "upstream"), "timeout": 900}
    cfg = {
        "experiment": "t3-rehearsal", "output_root": str(tmp_path / "out"), "rehearsal": True,
        "dataset": {"name": "sample", "split": "test"},
        "protectors": ["clean", "noise"], "protector_options": {"noise": {"target_psnr": 35.0}},
        "swappers": ["infoswap"], "swapper_options": {"infoswap": infoswap},
        "recognizers": ["dlib"], "pairs": {"n": 1, "seed": 0}, "seed": 0, "device": "cpu", "batch_size": 16,
    }
    report = table3.run(cfg, components=Components(load_dataset=lambda _: faces), check_registries=True)
    assert len(report.computed) == 2
    cells = [json.loads(p.read_text()) for p in (tmp_path / "out" / "t3-rehearsal" / "cells").rglob("*.json")]
    assert len(cells) == 2 and all(c["rehearsal"]["reasons"] for c in cells)
    assert all(c["provenance"]["swapper"]["environment"]["variant"] == "project interpreter" for c in cells)
    table = (tmp_path / "out" / "t3-rehearsal" / "tables" / "table3.md").read_text()
    assert standin.REHEARSAL_HEADER in table.splitlines()[2]
    print(f"\n--- rehearsal Table 3 ({tmp_path / 'out' / 't3-rehearsal' / 'tables' / 'table3.md'}) ---\n{table}")
