"""The five upstream swapper adapters, up to the weights boundary (no upstream checkout is available here).

Like the external baselines: without a checkout each adapter tells the user how to get every piece; with
a checkout (a local stand-in repository) and an environment, its real driver runs in that environment
and stops at the weights boundary, naming the first missing file.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import pytest
import torch
from test_external_runner import make_checkout, make_env

import swappers
from benchmarks import environments
from benchmarks import setup as upstream_setup
from nullswap.upstream import ExternalRunError, ExternalRunner, MissingUpstreamWeights, UpstreamNotReady
from nullswap.upstream import environment as upstream_env

#: name → (frame size, a weight file its driver must name first)
ADAPTERS = {
    "simswap": (512, "arcface_model/arcface_checkpoint.tar"),
    "infoswap": (512, "modules/model_128_ir_se50.pth"),
    "uniface": (256, "session/swap/checkpoints/500000.pt"),
    "e4s": (1024, "pretrained_ckpts/e4s/iteration_300000.pt"),
    "diffswap": (256, "checkpoints/diffswap.pth"),
}


@pytest.fixture(scope="module")
def env_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_env(tmp_path_factory.mktemp("env") / "env")


def test_every_adapter_is_registered_and_listed_by_setup():
    assert set(ADAPTERS) | {"landmark"} <= set(swappers.available())
    listed = upstream_setup.known_upstreams()
    for name in ADAPTERS:
        spec = listed[name]
        assert len(spec.commit) == 40 and spec.env_spec_path.is_file() and spec.driver_path.is_file()
        assert spec.weights and all(w.sha256 or "no sha256 published" in w.note for w in spec.weights)


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_an_adapter_without_its_checkout_says_how_to_get_everything(name: str, tmp_path: Path):
    with pytest.raises(UpstreamNotReady) as caught:
        swappers.load(name, root=tmp_path)
    message = str(caught.value)
    spec = swappers.REGISTRY.get(name).spec
    assert f"git clone {spec.repo_url}" in message and spec.commit in message
    assert f"python -m benchmarks.setup {name}" in message
    assert str(spec.env_spec_path) in message  # how to build the environment
    for weight in spec.weights_for(None, swappers.REGISTRY.get(name).default_options):  # what the defaults load
        assert weight.path in message and weight.url in message


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_an_adapter_driver_runs_up_to_its_weights_boundary(name: str, tmp_path: Path, env_python: Path):
    frame, first_weight = ADAPTERS[name]
    checkout = tmp_path / "checkout"
    head = make_checkout(checkout, {"README.md": "checkout without weights\n"})
    swapper = swappers.load(name, checkout=checkout, python=env_python, check=False, timeout=120)
    assert swapper.frame_size == frame
    # the pinned commit cannot exist in a local stand-in repository: pin this one, leave the weights to the driver
    swapper.runner = ExternalRunner(
        dataclasses.replace(swapper.spec, commit=head, weights=()), tmp_path, checkout=checkout, python=env_python
    )
    faces = torch.rand(2, 3, 256, 256)
    with pytest.raises(MissingUpstreamWeights) as caught:
        swapper.swap(faces, faces.flip(0))
    assert f"missing weight file {first_weight}" in str(caught.value)


def test_setup_check_reports_a_swapper_like_a_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code = upstream_setup.main(["uniface", "--root", str(tmp_path), "--check"])
    out = capsys.readouterr().out
    assert code == 1 and "== uniface: NOT READY" in out
    assert "checkout missing" in out and "conda env create" in out and "session/swap/checkpoints/500000.pt" in out


def test_unknown_driver_options_are_refused(tmp_path: Path):
    with pytest.raises(TypeError, match="unknown option"):
        swappers.load("simswap", root=tmp_path, check=False, colour="blue")


# --------------------------------------------------------------------------------------------------
# What each adapter asks of its upstream: devices, weights per option, build tools, environments
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["simswap", "uniface", "e4s", "diffswap"])
def test_a_swapper_whose_upstream_hard_codes_cuda_refuses_a_cpu_run_before_anything_runs(name: str, tmp_path: Path):
    with pytest.raises(UpstreamNotReady, match="runs only on a CUDA device"):
        swappers.load(name, root=tmp_path, check=False, device="cpu")


def test_infoswap_runs_on_the_cpu_with_every_gpu_hidden_from_its_mtcnn(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    swapper = swappers.load("infoswap", root=tmp_path, check=False, device="cpu")
    # preprocess/mtcnn.py picks cuda:0 whenever torch sees a GPU: for device=cpu the driver sees none
    assert swapper.runner.driver_environment("cpu")["CUDA_VISIBLE_DEVICES"] == ""
    assert swapper.runner.driver_environment("cuda:1")["CUDA_VISIBLE_DEVICES"] == "1"


@pytest.mark.parametrize(("name", "options", "needed", "not_needed"), [
    ("infoswap", {"ib_mode": "smooth"}, "checkpoints_512/w_kernel_smooth/ckpt_ks_G.pth", "wo_kernel_smooth"),
    ("infoswap", {"ib_mode": "no_smooth"}, "checkpoints_512/wo_kernel_smooth/ckpt_I.pth", "ckpt_ks_"),
    ("uniface", {"checkpoint": "session/mine/120000.pt"}, "session/mine/120000.pt", "500000.pt"),
    ("simswap", {"crop_size": 512}, "checkpoints/512/550000_net_G.pth", "checkpoints/people"),
    ("simswap", {"crop_size": 224}, "checkpoints/people/latest_net_G.pth", "checkpoints/512"),
])
def test_the_readiness_check_asks_for_the_files_the_options_make_the_driver_load(
    name: str, options: dict, needed: str, not_needed: str, tmp_path: Path
):
    swapper = swappers.load(name, root=tmp_path, check=False, **options)
    _, missing = swapper.runner.problems(None, swapper.options)
    assert any(needed in line for line in missing)
    checked = [w.path for w in swapper.spec.weights_for(None, swapper.options)]
    assert needed in checked and not any(not_needed in path for path in checked)


def test_simswap_needs_only_the_detector_of_the_antelope_pack(tmp_path: Path):
    paths = [w.path for w in swappers.REGISTRY.get("simswap").spec.weights]
    assert "insightface_func/models/antelope/scrfd_10g_bnkps.onnx" in paths
    assert not any(p.endswith("glintr100.onnx") for p in paths)  # loaded when present, never used


def test_simswap_refuses_a_crop_size_it_has_no_generator_for(tmp_path: Path):
    with pytest.raises(ValueError, match=r"crop_size must be one of \(224, 512\)"):
        swappers.load("simswap", root=tmp_path, check=False, crop_size=256)
    with pytest.raises(TypeError, match="unknown option"):  # the generator's name follows crop_size
        swappers.REGISTRY.get("simswap")(root=tmp_path, check=False, name="people")


def test_simswaps_512_driver_loads_the_512_generator(tmp_path: Path, env_python: Path):
    checkout = tmp_path / "checkout"
    head = make_checkout(checkout, {"README.md": "checkout without weights\n"})
    swapper = swappers.load("simswap", checkout=checkout, python=env_python, check=False, timeout=120, crop_size=512)
    swapper.runner = ExternalRunner(dataclasses.replace(swapper.spec, commit=head, weights=()), tmp_path,
                                    checkout=checkout, python=env_python)
    faces = torch.rand(1, 3, 256, 256)
    with pytest.raises(MissingUpstreamWeights) as caught:
        swapper.swap(faces, faces)
    assert "missing weight file checkpoints/512/550000_net_G.pth" in str(caught.value)
    assert "checkpoints/people" not in str(caught.value)


def test_e4s_finds_torchvisions_resnet18_under_its_checkout_through_torch_home(tmp_path: Path):
    swapper = swappers.load("e4s", root=tmp_path, check=False)
    resnet = [w for w in swapper.spec.weights if w.path.endswith("resnet18-5c106cde.pth")]
    assert len(resnet) == 1 and resnet[0].url == "https://download.pytorch.org/models/resnet18-5c106cde.pth"
    torch_home = Path(swapper.runner.driver_environment()["TORCH_HOME"])
    assert torch_home / "hub" / "checkpoints" / "resnet18-5c106cde.pth" == swapper.runner.checkout / resnet[0].path


@pytest.mark.parametrize("name", ["uniface", "e4s"])
def test_upstreams_that_compile_cuda_ops_get_their_environments_build_tools(name: str, tmp_path: Path):
    spec = swappers.REGISTRY.get(name).spec
    assert spec.builds_cuda_ops
    env_text = spec.env_spec_path.read_text()
    for tool in ("ninja", "cudatoolkit-dev", "gxx_linux-64"):
        assert f"- {tool}" in env_text
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").write_text("")
    (env / "bin" / "nvcc").write_text("")
    runner = ExternalRunner(spec, tmp_path, python=env / "bin" / "python")
    variables = runner.driver_environment()
    assert variables["PATH"].split(os.pathsep)[0] == str(env / "bin") and variables["CUDA_HOME"] == str(env)


def test_diffswaps_environment_has_what_its_chain_imports():
    text = swappers.REGISTRY.get("diffswap").spec.env_spec_path.read_text()
    assert "- ipython" in text and "- setuptools<70" in text and "- dlib=" in text


def test_diffswaps_call_timeout_covers_its_chunk_of_pairs(tmp_path: Path):
    swapper = swappers.load("diffswap", root=tmp_path, check=False)
    assert swapper.timeout >= swapper.chunk * swapper.options["pair_timeout"]
    longer = swappers.load("diffswap", root=tmp_path, check=False, chunk=10, pair_timeout=600)
    assert longer.timeout >= 10 * 600
    assert swappers.load("diffswap", root=tmp_path, check=False, timeout=50).timeout == 50
    assert swapper.describe()["seeded"] is True  # the driver seeds the chain's processes: the provenance says how


# --------------------------------------------------------------------------------------------------
# DiffSwap's driver against a stand-in of its chain (the real one needs a GPU and its weights)
# --------------------------------------------------------------------------------------------------
STANDIN_CHAIN = {
    "pipeline.py": '''
"""A stand-in of DiffSwap's pipeline.py: like the upstream's chain, it starts children by name (os.system)."""
import os
import sys
import time

import numpy as np
from PIL import Image


def get_detect(image, iter):
    return [0] if image.mean() > 8 else []


if __name__ == "__main__":
    os.system("python which.py")
    source = np.asarray(Image.open("data/portrait_jpg/source/pair.png"))
    if source[0, 0, 0] == 1:
        sys.exit(1)
    if source[0, 0, 0] == 2:
        os.system("python linger.py &")
        time.sleep(120)
    os.makedirs("data/portrait/swap_res_ori/target/pair")
    target = np.asarray(Image.open("data/portrait_jpg/target/pair.png"))
    Image.fromarray(255 - target).save("data/portrait/swap_res_ori/target/pair/pair.png")
''',
    "which.py": 'import os, sys\nopen(os.environ["STANDIN_REPORT"], "a").write(sys.executable + "\\n")\n',
    "linger.py": 'import os, time\nopen(os.environ["STANDIN_REPORT"] + ".pid", "w").write(str(os.getpid()))\n'
                 'time.sleep(120)\n',
    "data/portrait_jpg/target/0.jpg": "tracked upstream example\n",
    **{f"checkpoints/{name}": "x\n" for name in ("diffswap.pth", "glint360k_r100.pth",
                                                  "shape_predictor_68_face_landmarks.dat")},
}


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.is_file() and "State:\tZ" not in status.read_text()


def test_diffswaps_chain_uses_the_environments_python_is_killed_as_a_group_and_leaves_the_checkout_clean(
    tmp_path: Path, env_python: Path, monkeypatch: pytest.MonkeyPatch
):
    checkout = tmp_path / "checkout"
    head = make_checkout(checkout, STANDIN_CHAIN)
    report = tmp_path / "report.txt"
    monkeypatch.setenv("STANDIN_REPORT", str(report))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    swapper = swappers.load("diffswap", checkout=checkout, python=env_python, check=False, pair_timeout=5)
    swapper.runner = ExternalRunner(dataclasses.replace(swapper.spec, commit=head, weights=()), tmp_path,
                                    checkout=checkout, python=env_python)
    sources = torch.rand(5, 3, 256, 256) * 0.6 + 0.2
    sources[1] = 0.0  # no face for the upstream's detection
    sources[2, 0, 0, 0] = 1 / 255  # the chain exits 1
    sources[3, 0, 0, 0] = 2 / 255  # the chain hangs, with a grandchild of its own
    targets = torch.rand(5, 3, 256, 256) * 0.6 + 0.2
    result = swapper.swap(sources, targets)
    assert result.status == ["ok", "no_face", "failed", "failed", "ok"], result.messages
    assert "exit 1" in result.messages[2] and "timeout after 5.0 s" in result.messages[3]
    assert torch.allclose(result.images[0], 1 - targets[0], atol=1.5 / 255)  # the chain's own output
    # every `python` the chain started by name was the environment's, not whatever came first on PATH
    assert set(report.read_text().split()) == {str(env_python)}
    assert not _alive(int(Path(f"{report}.pid").read_text()))  # the hung chain's grandchild died with it
    assert _git_status(checkout) == ""  # tracked data/portrait_jpg put back, data/portrait removed


#: a stand-in chain whose swap, like DiffSwap's DDIM step, is drawn from unseeded noise in a process it starts
NOISY_CHAIN = {
    "pipeline.py": '''
"""Stand-in: the 'swap' is unseeded numpy and torch noise drawn by a child the chain starts by name."""
import os
import sys

import numpy as np
from PIL import Image


def get_detect(image, iter):
    return [0]


if __name__ == "__main__":
    os.makedirs("data/portrait/swap_res_ori/target/pair")
    sys.exit(os.system("python sample.py"))
''',
    "sample.py": '''
import random

import numpy as np
import torch
from PIL import Image

noise = torch.rand(64, 64, 3).numpy() * 0.5 + np.random.rand(64, 64, 3) * 0.25 + random.random() * 0.25
Image.fromarray((noise * 255).astype(np.uint8)).save("data/portrait/swap_res_ori/target/pair/pair.png")
''',
    **{f"checkpoints/{name}": "x\n" for name in ("diffswap.pth", "glint360k_r100.pth",
                                                  "shape_predictor_68_face_landmarks.dat")},
}


def test_diffswaps_seed_reaches_the_noise_its_chain_draws_in_processes_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The same seed gives the same swap, another seed another one, and two pairs of one call differ; the
    upstream's files are left untouched (the seed travels through the chain's PYTHONPATH)."""
    checkout = tmp_path / "checkout"
    head = make_checkout(checkout, NOISY_CHAIN)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    python = Path(sys.executable)  # the chain's child imports torch: the project's interpreter has it

    def swap(seed: int) -> torch.Tensor:
        swapper = swappers.load("diffswap", checkout=checkout, python=python, check=False, seed=seed)
        swapper.runner = ExternalRunner(dataclasses.replace(swapper.spec, commit=head, weights=()), tmp_path,
                                        checkout=checkout, python=python)
        faces = torch.full((2, 3, 64, 64), 0.5)
        result = swapper.swap(faces, faces)
        assert result.status == ["ok", "ok"], result.messages
        return result.images

    first, again, other = swap(7), swap(7), swap(8)
    assert torch.equal(first, again)
    assert not torch.equal(first, other) and not torch.equal(first[0], first[1])
    assert _git_status(checkout) == ""


def _git_status(checkout: Path) -> str:
    import subprocess

    return subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=all"],
                          capture_output=True, text=True, check=True).stdout.strip()


# --------------------------------------------------------------------------------------------------
# Environments: which GPUs the pinned ones run on, the modern variant, and its label
# --------------------------------------------------------------------------------------------------
def test_setup_says_which_gpus_each_pinned_environment_runs_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    upstream_setup.main(["uniface", "e4s", "infoswap", "--root", str(tmp_path), "--check"])
    out = capsys.readouterr().out
    assert "GPUs, pinned environment (torch 1.4.0, CUDA 10.1 (nvcc 10.1 for its ops)): A100 sm_80 NO; H100/H200 sm_90 NO" in out
    assert "GPUs, pinned environment (torch 1.12.1+cu113 (nvcc 11.3 for its ops)): A100 sm_80 yes; H100/H200 sm_90 NO" in out
    assert "session/swap/checkpoints/500000.pt (checkout missing)" in out  # UniFace's checkpoint option, resolved
    assert "optional (only with ib_mode=no_smooth): checkpoints_512/wo_kernel_smooth/ckpt_G.pth" in out
    assert upstream_setup.main(["--gpus"]) == 0
    table = capsys.readouterr().out
    assert "| upstream | pinned environment | A100 (sm_80) | H100/H200 (sm_90) | modern variant |" in table
    assert all(f"| {name} |" in table for name in ("initiative", "antiforgery", "dfrap", "cmua", *ADAPTERS))


def test_the_environments_doc_holds_the_table_setup_prints():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "upstream-environments.md").read_text()
    assert environments.markdown() in doc


def test_setup_builds_a_modern_variant_only_where_one_is_shipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert upstream_setup.main(["infoswap", "--root", str(tmp_path), "--check", "--env", "modern"]) == 1
    out = capsys.readouterr().out
    assert "[modern environment, NOT the pinned one]" in out
    assert f"environment missing: {tmp_path}/infoswap/env-modern/bin/python" in out
    assert "infoswap.modern.requirements.txt" in out and "python3.11 -m venv" in out
    upstream_setup.main(["simswap", "--root", str(tmp_path), "--check", "--env", "modern"])
    assert "no 'modern' environment is provided for simswap" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no 'modern' environment variant"):
        swappers.load("simswap", root=tmp_path, check=False, environment="modern")


def test_a_result_made_in_the_modern_environment_is_labelled_as_not_the_pinned_one(tmp_path: Path):
    spec = swappers.REGISTRY.get("infoswap").spec
    for variant in upstream_env.VARIANTS:
        env = upstream_env.env_dir(tmp_path / "infoswap", variant)
        (env / "bin").mkdir(parents=True)
        (env / "bin" / "python").write_text("")
        upstream_env.write_marker(env, variant, spec, upstream_env.spec_file(spec, variant))
    modern = swappers.load("infoswap", root=tmp_path, check=False, environment="modern").describe()
    assert modern["environment"]["variant"] == "modern" and modern["environment"]["pinned"] is False
    assert modern["kind"].endswith("[modern environment, not the pinned one]")
    pinned = swappers.load("infoswap", root=tmp_path, check=False).describe()
    assert pinned["environment"]["pinned"] is True and "not the pinned" not in pinned["kind"]


def test_an_environment_that_compiles_cuda_ops_gets_its_own_compilers_under_their_plain_names(tmp_path: Path):
    bin_dir = tmp_path / "env" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("gcc", "g++"):
        (bin_dir / f"x86_64-conda_cos6-linux-gnu-{tool}").write_text("")
    made = upstream_setup.link_compilers(tmp_path / "env")
    assert made == ["gcc -> x86_64-conda_cos6-linux-gnu-gcc", "g++ -> x86_64-conda_cos6-linux-gnu-g++"]
    assert (bin_dir / "gcc").resolve() == (bin_dir / "x86_64-conda_cos6-linux-gnu-gcc").resolve()
    assert upstream_setup.link_compilers(tmp_path / "env") == []  # never twice


def test_diffswap_refuses_a_gpu_its_pipeline_would_not_use(tmp_path: Path, env_python: Path, monkeypatch):
    checkout = tmp_path / "checkout"
    head = make_checkout(checkout, STANDIN_CHAIN)
    monkeypatch.setenv("STANDIN_REPORT", str(tmp_path / "report.txt"))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")  # e.g. a cluster job given the machine's fourth GPU
    swapper = swappers.load("diffswap", checkout=checkout, python=env_python, check=False, pair_timeout=5)
    swapper.runner = ExternalRunner(dataclasses.replace(swapper.spec, commit=head, weights=()), tmp_path,
                                    checkout=checkout, python=env_python)
    faces = torch.rand(1, 3, 256, 256) * 0.6 + 0.2
    with pytest.raises(ExternalRunError, match=r"CUDA_VISIBLE_DEVICES=0 \(line 419\)"):
        swapper.swap(faces, faces)
    assert not (tmp_path / "report.txt").exists()  # the chain never started
    assert _git_status(checkout) == ""
