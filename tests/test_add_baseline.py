"""Adding a baseline is one module plus one config: the example in docs/adding-a-baseline.md, as written.

The guide's module is placed in a folder appended to the ``baselines`` package path (so the registry
discovers it exactly as it discovers a file in ``baselines/``), its config in a folder laid out like
``nullswap/conf/protector``; the protector is then listed, configured, built by the table runner's own
builder and run on real faces.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import torch

import baselines
from baselines._config import config_overrides, config_path, protector_options
from nullswap.images import to_uint8

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "adding-a-baseline.md"
NAME = "blur_guide_example"  # renamed from the guide's "blur" so that a real baselines/blur.py cannot clash


def guide_block(marker: str, language: str) -> str:
    text = GUIDE.read_text()
    match = re.search(rf"<!-- example: {marker} -->\s*```{language}\n(.*?)```", text, re.S)
    assert match, f"docs/adding-a-baseline.md lost its '{marker}' example"
    return match.group(1).replace('"blur"', f'"{NAME}"').replace("name: blur", f"name: {NAME}")


@pytest.fixture
def added_baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The guide's module as one more file of the ``baselines`` package, and its config; returns the
    config folder.  The registry and the package path are restored afterwards."""
    package_dir = tmp_path / "extra_baselines"
    package_dir.mkdir()
    (package_dir / f"{NAME}.py").write_text(guide_block("module", "python"))
    conf = tmp_path / "conf" / "protector"
    conf.mkdir(parents=True)
    (conf / f"{NAME}.yaml").write_text(guide_block("config", "yaml"))
    baselines.available()  # register every shipped adapter first, so the restored registry is complete
    monkeypatch.setattr(baselines, "__path__", [*baselines.__path__, str(package_dir)])
    monkeypatch.setattr(baselines.REGISTRY, "factories", dict(baselines.REGISTRY.factories))
    yield conf
    sys.modules.pop(f"baselines.{NAME}", None)


def test_a_new_module_is_listed_by_the_registry(added_baseline: Path):
    assert NAME in baselines.available()
    assert {"clean", "noise", "pgd", "cmua"} <= set(baselines.available())


def test_a_new_baseline_runs_from_its_config_through_the_table_runner(added_baseline: Path, canonical_faces):
    workspace = pytest.importorskip("benchmarks.workspace", reason="the table runner's protector builder")
    specs = pytest.importorskip("benchmarks.specs", reason="the table runner's protector columns")
    assert config_overrides(NAME, added_baseline) == {"sigma": 2.0}
    options = protector_options(NAME, {"sigma": 1.5}, added_baseline)  # a run's protector_options override
    protector = workspace.default_build_protector(specs.ProtectorSpec(NAME, options, seed=0), device="cpu")
    assert protector.name == NAME and protector.describe()["sigma"] == 1.5
    faces = torch.stack([canonical_faces["obama"], canonical_faces["biden"]])
    protected = protector.protect(faces)
    assert protected.shape == faces.shape and protected.min() >= 0 and protected.max() <= 1
    assert (to_uint8(protected) != to_uint8(faces)).any()
    assert len(protector.last_stats) == 2 and all(20 < row["psnr"] < 60 for row in protector.last_stats)


def test_a_new_baseline_passes_the_table_runners_registry_check(added_baseline: Path):
    planner = pytest.importorskip("benchmarks.plan", reason="the table runner's planner")
    cfg = {"protectors": ["clean", NAME], "protector_options": {NAME: {"sigma": 2.0}}, "seed": 3}
    specs = planner.protector_specs(cfg)
    assert [spec.name for spec in specs] == ["clean", NAME] and specs[1].options == {"sigma": 2.0}
    assert NAME in baselines.available()


@pytest.mark.parametrize("name", ["clean", "noise", "cmua", "pgd", "initiative", "antiforgery", "dfrap"])
def test_every_shipped_protector_has_a_config_file_that_names_it(name: str):
    assert config_path(name).is_file() and name in baselines.available()
    options = config_overrides(name)  # raises unless the file says name: <name>
    assert "name" not in options
    assert "seed" not in options and "device" not in options  # run-level settings come from the runner


def test_an_unknown_protector_name_lists_the_known_ones():
    with pytest.raises(KeyError, match=r"available: .*clean"):
        baselines.load("no_such_defence")
