"""The shared external runner, end to end against a stand-in upstream built here.

The stand-in is a real git repository with a tiny module, its own virtual environment (created with
``python -m venv --without-pip``; a ``.pth`` line lends it this interpreter's numpy and Pillow so that
nothing is installed) and a driver that speaks our file protocol.  The drivers of the three external
adapters (DF-RAP in both of its modes) are then run in the same way up to their weights boundary, which
is as far as they go without the upstream checkouts and checkpoints.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import baselines
from baselines._external import ExternalProtector
from benchmarks import setup as upstream_setup
from nullswap import standin as standin_marks
from nullswap.upstream import (
    ExternalRunError,
    ExternalRunner,
    ExternalTimeout,
    MissingUpstreamWeights,
    UpstreamNotReady,
    UpstreamSpec,
    WeightSpec,
    rehearsal,
)
from nullswap.upstream.runner import driver_device

STANDIN_MODULE = '''
"""A stand-in upstream: brightens images by a gain read from its weight file."""
import numpy as np


def brighten(image, gain):
    return np.clip(image.astype(np.int16) + int(gain), 0, 255).astype(np.uint8)
'''

STANDIN_DRIVER = """
import os
import subprocess
import sys
import time

from driver_protocol import Driver

with Driver() as drv:
    drv.require_weights(["weights/gain.txt"], hint="the stand-in gain file")
    import standin  # the upstream module, found in the checkout
    drv.info["cwd"] = os.getcwd()
    if drv.options.get("crash"):
        raise RuntimeError("upstream exploded: " + drv.options["crash"])
    if drv.options.get("hang"):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        with open(drv.options["hang"], "w") as handle:
            handle.write(str(child.pid))
        time.sleep(120)
    if drv.options.get("no_status"):
        os._exit(0)
    if drv.options.get("report_env"):
        drv.info["env"] = {k: os.environ.get(k) for k in ("PATH", "CUDA_VISIBLE_DEVICES", "CUDA_HOME", "STANDIN_HOME")}
        drv.info["device"] = drv.request.get("device")
    gain = int(open("weights/gain.txt").read())
    if drv.options.get("batch"):
        import numpy as np

        def work(chunk):
            if any(item["id"] in drv.options.get("poison_ids", []) for item, _ in chunk):
                raise ValueError("batch of " + str(len(chunk)) + " holds a poisoned image")
            for item, image in chunk:
                if item["id"] in drv.options.get("nan_ids", []):
                    drv.write(item, np.full(image.shape, np.nan))
                else:
                    drv.write(item, standin.brighten(image, gain))

        with drv.guard(*drv.items()):
            drv.in_batches(list(drv.images()), drv.options["batch"], work)
        raise SystemExit(0)
    for item, image in drv.images():
        with drv.guard(item):
            if item["id"] in drv.options.get("raise_ids", []):
                raise ValueError("degenerate affine for " + item["id"])
            if item["id"] in drv.options.get("fail_ids", []):
                drv.fail(item, "no face found by the stand-in")
            else:
                drv.write(item, standin.brighten(image, gain))
"""


def _git(cwd: Path, *args: str) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.org",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.org",
    )
    return subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


def make_checkout(path: Path, files: dict[str, str]) -> str:
    """A git repository holding ``files``; returns its HEAD commit."""
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    _git(path, "init", "-q")
    _git(path, "add", ".")
    _git(path, "commit", "-q", "-m", "stand-in upstream")
    return _git(path, "rev-parse", "HEAD")


def make_env(path: Path) -> Path:
    """A venv of its own (no pip: fast) that borrows this interpreter's numpy and Pillow via a .pth line."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = path / "lib" / version / "site-packages"
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return path / "bin" / "python"


@pytest.fixture(scope="module")
def env_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_env(tmp_path_factory.mktemp("env") / "env")


@pytest.fixture
def standin(tmp_path: Path, env_python: Path, monkeypatch: pytest.MonkeyPatch) -> ExternalRunner:
    checkout = tmp_path / "upstream" / "standin" / "checkout"
    head = make_checkout(checkout, {"standin.py": STANDIN_MODULE, "weights/gain.txt": "7\n"})
    driver = tmp_path / "drive_standin.py"
    driver.write_text(STANDIN_DRIVER)
    spec = UpstreamSpec(
        name="standin",
        repo_url=f"file://{checkout}",
        commit=head,
        env_kind="venv",
        env_spec=tmp_path / "requirements.txt",
        driver=driver,
        weights=(WeightSpec("weights/gain.txt", "https://example.org/gain.txt", note="stand-in weight"),),
    )
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return ExternalRunner(spec, tmp_path / "upstream", python=env_python)


def pictures(n: int = 3, size: int = 32) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 240, (size, size, 3), dtype=np.uint8) for _ in range(n)]


def test_runner_round_trips_images_through_the_upstream_environment(
    standin: ExternalRunner, env_python: Path
):
    images = pictures()
    result = standin.run(images, {}, timeout=60)
    assert [item.status for item in result.items] == ["ok"] * 3
    for item, image in zip(result.items, images):
        np.testing.assert_array_equal(item.image, np.clip(image.astype(int) + 7, 0, 255))
    assert result.info["executable"] == str(env_python)  # the upstream's python, not ours
    assert Path(result.info["cwd"]).resolve() == standin.checkout.resolve()
    assert {p.name for p in result.run_dir.iterdir()} >= {"request.json", "status.json", "driver.log"}
    assert list(Path(tempfile.gettempdir()).iterdir()) == []  # the PNG folders were removed


def test_runner_keeps_the_callers_ids_and_reports_per_image_failures(standin: ExternalRunner):
    images = dict(zip(["alice", "bob", "carol"], pictures()))
    result = standin.run(images, {"fail_ids": ["bob"]}, timeout=60).by_id()
    assert result["alice"].ok and result["carol"].ok
    assert not result["bob"].ok and result["bob"].image is None
    assert "no face found" in result["bob"].message


def test_an_item_that_raises_fails_alone_with_its_message(standin: ExternalRunner):
    images = dict(zip(["alice", "bob", "carol"], pictures()))
    result = standin.run(images, {"raise_ids": ["bob"]}, timeout=60)
    by_id = result.by_id()
    assert by_id["alice"].ok and by_id["carol"].ok
    assert by_id["bob"].status == "failed" and by_id["bob"].message == "ValueError: degenerate affine for bob"
    assert "Traceback" in result.log_path.read_text()


def test_a_batch_that_fails_is_retried_item_by_item_so_only_the_bad_image_fails(standin: ExternalRunner):
    images = dict(zip(["a", "b", "c", "d", "e"], pictures(5)))
    result = standin.run(images, {"batch": 2, "poison_ids": ["b"], "nan_ids": ["e"]}, timeout=60)
    by_id = result.by_id()
    assert [by_id[k].ok for k in "abcd"] == [True, False, True, True]
    assert by_id["b"].message == "ValueError: batch of 1 holds a poisoned image"  # its own, alone
    # a float output with NaN is refused by the protocol instead of being rounded into a picture
    assert by_id["e"].status == "failed" and "non-finite output: 3072 of 3072 values" in by_id["e"].message
    assert "retrying b alone" in result.log_path.read_text()


def test_a_failing_upstream_raises_a_clean_error_with_the_log_tail(standin: ExternalRunner):
    with pytest.raises(ExternalRunError) as caught:
        standin.run(pictures(1), {"crash": "bad tensor shape"}, timeout=60)
    message = str(caught.value)
    assert "exited with status 1" in message and "upstream exploded: bad tensor shape" in message
    assert caught.value.log_path.is_file() and "RuntimeError" in caught.value.log_path.read_text()


def test_a_timeout_kills_the_whole_process_group(standin: ExternalRunner, tmp_path: Path):
    pid_file = tmp_path / "child.pid"
    start = time.monotonic()
    with pytest.raises(ExternalTimeout, match="timeout"):
        standin.run(pictures(1), {"hang": str(pid_file)}, timeout=3)
    assert time.monotonic() - start < 30
    child = int(pid_file.read_text())
    time.sleep(0.2)
    alive = Path(f"/proc/{child}").exists() and "Z" not in Path(f"/proc/{child}/stat").read_text().split()[2]
    assert not alive, "the driver's child process survived the timeout"


def test_a_driver_that_writes_no_status_is_an_error(standin: ExternalRunner):
    with pytest.raises(ExternalRunError, match=r"no valid status\.json"):
        standin.run(pictures(1), {"no_status": True}, timeout=60)


def test_a_checkout_at_another_commit_is_refused(standin: ExternalRunner):
    spec = dataclasses.replace(standin.spec, commit="0123456789abcdef0123456789abcdef01234567")
    runner = ExternalRunner(spec, standin.root, python=standin.python)
    with pytest.raises(UpstreamNotReady, match="pinned commit is 0123456789abcdef"):
        runner.run(pictures(1))


def test_a_copy_that_is_not_a_git_checkout_is_refused_unless_accepted_as_unpinned(
    standin: ExternalRunner, tmp_path: Path
):
    import shutil

    copy = tmp_path / "copy-of-the-tree"
    shutil.copytree(standin.checkout, copy, ignore=shutil.ignore_patterns(".git"))
    refused = ExternalRunner(standin.spec, standin.root, checkout=copy, python=standin.python)
    with pytest.raises(UpstreamNotReady, match="not a git checkout") as caught:
        refused.run(pictures(1))
    assert "accept_unpinned" in str(caught.value)
    accepted = ExternalRunner(standin.spec, standin.root, checkout=copy, python=standin.python, accept_unpinned=True)
    result = accepted.run(pictures(1), timeout=60)
    assert result.items[0].ok
    assert accepted.describe()["pin"] == {
        "expected": standin.spec.commit, "found": None, "pinned": False, "accepted_unpinned": True,
    }
    assert "UNPINNED checkout accepted: not a git checkout" in result.log_path.read_text()
    assert standin.describe()["pin"]["pinned"] is True


def test_a_marked_stand_in_weight_runs_as_a_stand_in_and_is_never_locked(standin: ExternalRunner):
    weight = standin.checkout / "weights" / "gain.txt"
    standin_marks.mark(weight, made_by="the rehearsal")
    assert standin.weight_ok(standin.spec.weights[0]) == (True, "stand-in (random weights: rehearsal)")
    standin.run(pictures(1), timeout=60)
    assert not standin.lock_path.exists(), "a stand-in's sha256 must not be locked in place of the real file's"
    assert standin.describe()["standin_weights"] == [standin_marks.record(weight)]
    weight.write_text("5\n")  # the published file replaces the stand-in
    assert standin.weight_ok(standin.spec.weights[0])[1].startswith("sha256")
    assert "standin_weights" not in standin.describe()


def test_the_driver_runs_with_its_environment_first_on_path_and_the_gpus_its_device_allows(
    standin: ExternalRunner, monkeypatch: pytest.MonkeyPatch
):
    spec = dataclasses.replace(standin.spec, env_vars={"STANDIN_HOME": "{checkout}/home"})
    runner = ExternalRunner(spec, standin.root, python=standin.python)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5")
    info = runner.run(pictures(1), {"report_env": True}, timeout=60, device="cuda:1").info
    assert info["env"]["PATH"].split(os.pathsep)[0] == str(standin.python.parent)
    assert info["env"]["CUDA_VISIBLE_DEVICES"] == "5" and info["device"] == "cuda:0"
    assert info["env"]["STANDIN_HOME"] == f"{standin.checkout}/home"
    info = runner.run(pictures(1), {"report_env": True}, timeout=60, device="cpu").info
    assert info["env"]["CUDA_VISIBLE_DEVICES"] == "" and info["device"] == "cpu"


def test_requested_devices_map_to_what_the_driver_process_may_see():
    assert driver_device("auto", "0,1") == ("auto", None)
    assert driver_device("cpu", None) == ("cpu", "")
    assert driver_device("cuda:1", None) == ("cuda:0", "1")
    assert driver_device("cuda:1", "2,3") == ("cuda:0", "3")
    with pytest.raises(ValueError, match="shows 1"):
        driver_device("cuda:1", "2")


def test_a_cpu_run_of_an_upstream_that_hard_codes_cuda_is_refused_before_it_starts(standin: ExternalRunner):
    runner = ExternalRunner(dataclasses.replace(standin.spec, requires_cuda=True), standin.root, python=standin.python)
    with pytest.raises(UpstreamNotReady, match="runs only on a CUDA device"):
        runner.run(pictures(1), device="cpu")
    modal = ExternalRunner(dataclasses.replace(standin.spec, requires_cuda=("simswap",)), standin.root,
                           python=standin.python)
    modal.check_device("cpu", "stargan")
    with pytest.raises(UpstreamNotReady, match="in mode 'simswap'"):
        modal.check_device("cpu", "simswap")


def test_missing_weights_are_named_before_anything_runs(standin: ExternalRunner):
    (standin.checkout / "weights" / "gain.txt").unlink()
    with pytest.raises(MissingUpstreamWeights) as caught:
        standin.run(pictures(1))
    message = str(caught.value)
    assert "weights/gain.txt" in message and "https://example.org/gain.txt" in message
    assert "python -m benchmarks.setup standin" in message
    assert not (standin.home / "runs").exists()


def test_a_weight_that_changes_after_first_use_is_refused(standin: ExternalRunner):
    standin.run(pictures(1), timeout=60)  # records the sha256 it first sees
    (standin.checkout / "weights" / "gain.txt").write_text("9\n")
    with pytest.raises(MissingUpstreamWeights, match="sha256 differs"):
        standin.run(pictures(1))


def test_the_driver_itself_stops_at_the_weights_boundary(standin: ExternalRunner):
    runner = ExternalRunner(
        dataclasses.replace(standin.spec, weights=()), standin.root, python=standin.python
    )
    (runner.checkout / "weights" / "gain.txt").unlink()
    with pytest.raises(MissingUpstreamWeights, match=r"missing weight file weights/gain\.txt"):
        runner.run(pictures(1), timeout=60)


def test_setup_check_names_every_missing_piece(
    standin: ExternalRunner, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(upstream_setup, "known_upstreams", lambda: {"standin": standin.spec})
    (standin.checkout / "weights" / "gain.txt").unlink()
    code = upstream_setup.main(["standin", "--root", str(standin.root), "--check"])
    out = capsys.readouterr().out
    assert code == 1
    assert "environment missing" in out and "-m venv" in out  # the default env path was never built
    assert "weights/gain.txt" in out and "https://example.org/gain.txt" in out


# --------------------------------------------------------------------------------------------------
# The frame logic of external protectors, through the stand-in
# --------------------------------------------------------------------------------------------------
def test_an_external_protector_brings_the_upstream_change_back_to_the_canonical_crop(standin: ExternalRunner):
    # an adapter whose upstream works at 128 px, like Initiative's generator
    adapter = type(
        "StandinProtector", (ExternalProtector,), {"name": "standin", "frame_size": 128, "spec": standin.spec}
    )
    protector = adapter(root=standin.root, python=standin.python, timeout=60)
    clean = torch.from_numpy(np.stack(pictures(2, 256))).permute(0, 3, 1, 2).float() / 255.0
    protected = protector.protect(clean)
    assert protected.shape == clean.shape
    # the stand-in adds 7/255 in its 128 frame; upsampling a constant delta keeps it constant
    np.testing.assert_allclose((protected - clean).numpy(), 7 / 255, atol=0.5 / 255 + 1e-6)
    assert all(row["linf_255"] == 7 for row in protector.last_stats)
    assert protector.last_status == ["ok", "ok"]


def _standin_adapter(standin: ExternalRunner, bound: float | None = None) -> type[ExternalProtector]:
    def frame_bound(self):
        return None if bound is None else (bound, f"{bound * 255:.0f}/255 by construction")

    return type("StandinProtector", (ExternalProtector,), {
        "name": "standin", "frame_size": 128, "spec": standin.spec, "frame_bound": frame_bound,
        "default_options": {"fail_ids": [], "raise_ids": []},
    })


def test_an_image_the_driver_fails_comes_back_clean_and_its_neighbours_protected(standin: ExternalRunner):
    protector = _standin_adapter(standin)(root=standin.root, python=standin.python, timeout=60,
                                          raise_ids=["000001"], chunk=2)
    clean = torch.from_numpy(np.stack(pictures(3, 256))).permute(0, 3, 1, 2).float() / 255.0
    protected = protector.protect(clean)
    assert protector.last_status == ["ok", "failed", "ok"]
    assert "ValueError: degenerate affine for 000001" in protector.last_messages[1]
    assert torch.equal(protected[1], clean[1])
    assert float((protected[0] - clean[0]).abs().max()) > 6 / 255 and float((protected[2] - clean[2]).abs().max()) > 0


def test_an_image_whose_change_in_the_frame_breaks_the_declared_bound_fails_with_the_numbers(
    standin: ExternalRunner,
):
    clean = torch.from_numpy(np.stack(pictures(2, 256))).permute(0, 3, 1, 2).float() / 255.0
    kept = _standin_adapter(standin, bound=7 / 255)(root=standin.root, python=standin.python, timeout=60)
    kept.protect(clean)
    assert kept.last_status == ["ok", "ok"]  # the stand-in adds exactly 7/255: within its bound
    broken = _standin_adapter(standin, bound=5 / 255)(root=standin.root, python=standin.python, timeout=60)
    out = broken.protect(clean)
    assert broken.last_status == ["failed", "failed"] and torch.equal(out, clean)
    assert "change 7.00/255 in its 128px frame exceeds the 5.00/255 (+0.5 rounding) it promises" in (
        broken.last_messages[0])


# --------------------------------------------------------------------------------------------------
# The real adapters: what a user sees, and their drivers up to the weights boundary
# --------------------------------------------------------------------------------------------------
ADAPTERS = {
    # name: (mode, a weight path the driver must name)
    "initiative": (None, "checkpoints/30000-PG-005.ckpt"),
    "antiforgery": (None, "stargan_celeba_256/models/200000-G.ckpt"),
    "dfrap": ("simswap", "SimSwap/arcface_model/arcface_checkpoint.tar"),
    "dfrap-stargan": ("stargan", "checkpoints/stargan_celeba_256/models/200000-G.ckpt"),
}


@pytest.mark.parametrize("key", list(ADAPTERS))
def test_an_adapter_without_its_checkout_says_how_to_get_everything(key: str, tmp_path: Path):
    name, (mode, weight) = key.split("-")[0], ADAPTERS[key]
    with pytest.raises(UpstreamNotReady) as caught:
        baselines.load(name, root=tmp_path, **({"mode": mode} if mode else {}))
    message = str(caught.value)
    spec = baselines.load(name, root=tmp_path, check=False, **({"mode": mode} if mode else {})).spec
    assert spec.repo_url in message and spec.commit in message
    assert f"git clone {spec.repo_url}" in message and f"python -m benchmarks.setup {name}" in message
    assert weight in message
    for entry in spec.weights_for(mode):
        assert entry.url in message


@pytest.mark.parametrize("key", list(ADAPTERS))
def test_an_adapter_driver_runs_up_to_its_weights_boundary(key: str, tmp_path: Path, env_python: Path):
    name, (mode, weight) = key.split("-")[0], ADAPTERS[key]
    checkout = tmp_path / "checkout"
    head = make_checkout(checkout, {"README.md": "checkout without weights\n"})
    protector = baselines.load(
        name,
        checkout=checkout,
        python=env_python,
        check=False,
        timeout=120,
        **({"mode": mode} if mode else {}),
    )
    # the pinned commit cannot exist in a local stand-in repository: pin this one, leave the weights to the driver
    protector.runner = ExternalRunner(
        dataclasses.replace(protector.spec, commit=head, weights=()),
        tmp_path,
        checkout=checkout,
        python=env_python,
    )
    clean = torch.rand(1, 3, 256, 256)
    with pytest.raises(MissingUpstreamWeights) as caught:
        protector.protect(clean)
    assert f"missing weight file {weight}" in str(caught.value)


def test_the_readiness_check_asks_for_exactly_the_files_the_options_make_the_driver_load(
    standin: ExternalRunner,
):
    spec = dataclasses.replace(
        standin.spec,
        weights=(
            *standin.spec.weights,
            WeightSpec("weights/compress.pt", "https://example.org/c", when={"compress": True}),
            WeightSpec("{checkpoint}", "https://example.org/ckpt"),
        ),
    )
    runner = ExternalRunner(spec, standin.root, python=standin.python)
    (runner.checkout / "weights" / "mine.pt").write_text("x")
    _, missing = runner.problems(None, {"compress": False, "checkpoint": "weights/mine.pt"})
    assert missing == []
    _, missing = runner.problems(None, {"compress": True, "checkpoint": "weights/other.pt"})
    assert len(missing) == 2
    assert "weights/compress.pt" in missing[0] and "weights/other.pt (absent)" in missing[1]


# --------------------------------------------------------------------------------------------------
# The rehearsal floor: a copy of an upstream tree, random-weight stand-ins built by a builder script
# --------------------------------------------------------------------------------------------------
STANDIN_BUILDER = """
import argparse
import json
import os
import sys

import standin  # the upstream module, found because the copy is on sys.path

parser = argparse.ArgumentParser()
parser.add_argument("--report", required=True)
parser.add_argument("--options", default="{}")
parser.add_argument("--mode", default=None)
args = parser.parse_args()
options = json.loads(args.options)
os.makedirs("weights", exist_ok=True)
with open("weights/gain.txt", "w") as handle:
    handle.write(str(options.get("gain", 3)) + "\\n")
with open(args.report, "w") as handle:
    json.dump({"weights": ["weights/gain.txt"],
               "facts": {"cwd": os.getcwd(), "python": sys.executable,
                         "module": os.path.abspath(standin.__file__)}}, handle)
"""


@pytest.fixture
def standin_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of upstream trees (not git checkouts, as a user's download would be) holding ``standin/``."""
    sources = tmp_path / "sources"
    (sources / "standin").mkdir(parents=True)
    (sources / "standin" / "standin.py").write_text(STANDIN_MODULE)
    (sources / "standin" / ".gitignore").write_text("weights/\n")
    monkeypatch.setenv(rehearsal.SOURCES_VARIABLE, str(sources))
    return sources


def test_the_sources_folder_comes_from_the_environment_and_a_missing_tree_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv(rehearsal.SOURCES_VARIABLE, raising=False)
    assert rehearsal.sources_root() is None
    assert "NULLSWAP_UPSTREAM_SOURCES is not set" in rehearsal.missing_reason("initiative")
    monkeypatch.setenv(rehearsal.SOURCES_VARIABLE, str(tmp_path / "nowhere"))
    assert rehearsal.sources_root() is None and "is not a folder" in rehearsal.missing_reason("initiative")
    (tmp_path / "trees" / "initiative").mkdir(parents=True)
    monkeypatch.setenv(rehearsal.SOURCES_VARIABLE, str(tmp_path / "trees"))
    assert rehearsal.sources_root() == tmp_path / "trees"
    assert rehearsal.source_tree("initiative") == tmp_path / "trees" / "initiative"
    assert rehearsal.missing_reason("initiative") is None
    assert rehearsal.source_tree("dfrap") is None and "has no dfrap/ tree" in rehearsal.missing_reason("dfrap")


def test_a_stand_in_is_built_in_a_copy_by_the_builder_and_marked(
    standin: ExternalRunner, standin_sources: Path, tmp_path: Path, env_python: Path
):
    builder = tmp_path / "build_standin.py"
    builder.write_text(STANDIN_BUILDER)
    dest = tmp_path / "rehearsal" / "checkout"
    checkout = rehearsal.prepare_standin(
        standin.spec, standin_sources / "standin", dest, env_python, builder, options={"gain": 5}
    )
    assert checkout == dest and (checkout / ".gitignore").is_file()
    assert not (standin_sources / "standin" / "weights").exists(), "nothing is written into the sources"
    facts = standin_marks.read(checkout / "weights" / "gain.txt")
    assert facts is not None and facts["reason"] == standin_marks.RANDOM_WEIGHTS
    # the builder ran with the given python, in the copy, importing the upstream module from the copy
    assert facts["python"] == str(env_python) and facts["interpreter"] == str(env_python)
    assert Path(facts["cwd"]).resolve() == checkout.resolve()
    assert Path(facts["module"]).resolve() == (checkout / "standin.py").resolve()
    assert facts["builder"] == "build_standin.py" and facts["upstream"] == "standin"

    runner = ExternalRunner(standin.spec, tmp_path / "root", checkout=checkout, python=env_python,
                            accept_unpinned=True)
    result = runner.run(pictures(1), timeout=60)
    np.testing.assert_array_equal(result.items[0].image, np.clip(pictures(1)[0].astype(int) + 5, 0, 255))
    described = runner.describe()
    assert described["pin"]["pinned"] is False and described["pin"]["accepted_unpinned"] is True
    assert [r["reason"] for r in described["standin_weights"]] == ["random weights: rehearsal"]
    assert not runner.lock_path.exists()


def test_a_stand_in_is_never_prepared_inside_the_sources_or_over_an_existing_folder(
    standin: ExternalRunner, standin_sources: Path, tmp_path: Path, env_python: Path
):
    builder = tmp_path / "build_standin.py"
    builder.write_text(STANDIN_BUILDER)
    with pytest.raises(rehearsal.RehearsalError, match="inside the sources folder"):
        rehearsal.prepare_standin(standin.spec, standin_sources / "standin", standin_sources / "copy",
                                  env_python, builder)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "file").write_text("x")
    with pytest.raises(rehearsal.RehearsalError, match="not empty"):
        rehearsal.prepare_standin(standin.spec, standin_sources / "standin", taken, env_python, builder)


def test_a_builder_that_fails_or_forgets_a_declared_weight_is_reported_with_its_log(
    standin: ExternalRunner, standin_sources: Path, tmp_path: Path, env_python: Path
):
    broken = tmp_path / "build_broken.py"
    broken.write_text("raise SystemExit('cannot build the generator: shape mismatch')\n")
    with pytest.raises(rehearsal.RehearsalError, match="shape mismatch"):
        rehearsal.prepare_standin(standin.spec, standin_sources / "standin", tmp_path / "a", env_python, broken)
    forgetful = tmp_path / "build_forgetful.py"
    forgetful.write_text(
        "import argparse, json\n"
        "p = argparse.ArgumentParser(); p.add_argument('--report'); p.add_argument('--options')\n"
        "a = p.parse_args(); json.dump({'weights': []}, open(a.report, 'w'))\n"
    )
    with pytest.raises(rehearsal.RehearsalError, match=r"did not write weights/gain\.txt"):
        rehearsal.prepare_standin(standin.spec, standin_sources / "standin", tmp_path / "b", env_python,
                                  forgetful)


def test_a_stand_in_built_with_the_projects_own_python_says_so(
    standin: ExternalRunner, standin_sources: Path, tmp_path: Path
):
    builder = tmp_path / "build_standin.py"
    builder.write_text(STANDIN_BUILDER)
    checkout = rehearsal.prepare_standin(standin.spec, standin_sources / "standin", tmp_path / "c",
                                         rehearsal.project_python(), builder)
    assert standin_marks.read(checkout / "weights" / "gain.txt")["interpreter"] == rehearsal.PROJECT_INTERPRETER


def test_dfrap_asks_for_comgan_only_when_its_driver_will_load_it():
    spec = baselines.REGISTRY.get("dfrap").spec
    defaults = dict(baselines.REGISTRY.get("dfrap").default_options)
    with_comgan = {w.path for w in spec.weights_for("stargan", defaults)}
    without = {w.path for w in spec.weights_for("stargan", {**defaults, "comgan": False})}
    assert with_comgan - without == {"checkpoints/ComGAN/ComG_model.pt"}
    assert without == {"checkpoints/stargan_celeba_256/models/200000-G.ckpt"}
    assert spec.needs_cuda("simswap") and not spec.needs_cuda("stargan")
