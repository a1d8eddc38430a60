"""The five upstream swapper adapters, up to the weights boundary (no upstream checkout is available here).

Like the external baselines: without a checkout each adapter tells the user how to get every piece; with
a checkout (a local stand-in repository) and an environment, its real driver runs in that environment
and stops at the weights boundary, naming the first missing file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from test_external_runner import make_checkout, make_env

import swappers
from benchmarks import setup as upstream_setup
from nullswap.upstream import ExternalRunner, MissingUpstreamWeights, UpstreamNotReady

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
